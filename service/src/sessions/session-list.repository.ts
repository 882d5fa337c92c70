import { keysetPage, readBoundedPage } from '../db/byte-bounded-page';
import type { Queryable } from '../db';
import { SESSION_COLUMNS, toSession } from './sessions.repository';

// Reading many sessions at once: the list's filters and pages, and the counts /metrics reports.

/** How many sessions are in each status (for /metrics). */
export async function countSessionsByStatus(
	db: Queryable,
): Promise<Array<{ status: string; n: number }>> {
	const { rows } = await db.query<{ status: string; n: number }>(
		'SELECT status, count(*)::int AS n FROM sessions GROUP BY status',
	);
	return rows;
}

export interface ListFilter {
	status?: string[];
	workspaceType?: string;
	q?: string;
	limit: number;
	after?: { t: string; id: string };
	/** About the most a page carries in prompts, results and other free text (at least one row). */
	maxBytes?: number;
}

// What makes a session row large: the free text a client wrote, and the JSON beside it.
const SESSION_TEXT_BYTES = `COALESCE(octet_length(prompt), 0) + COALESCE(octet_length(result), 0) + COALESCE(octet_length(error_message), 0)
	+ COALESCE(octet_length(permission_denials::text), 0) + COALESCE(octet_length(metadata::text), 0)`;

/** The list's filters as SQL conditions on `s` (sessions), their values appended to `params`. */
export function sessionFilters(
	f: Pick<ListFilter, 'status' | 'workspaceType' | 'q'>,
	params: unknown[],
): string[] {
	const where: string[] = [];
	const add = (sql: (p: string) => string, value: unknown) => {
		params.push(value);
		where.push(sql(`$${params.length}`));
	};
	if (f.status?.length) {
		// 'external' as a status filter means sessions that came from someone's own Claude Code.
		const statuses = f.status.filter((s) => s !== 'external');
		const external = f.status.includes('external');
		params.push(statuses);
		where.push(
			`(s.status = ANY($${params.length}::text[])${external ? " OR s.origin = 'external'" : ''})`,
		);
	}
	if (f.workspaceType) add((p) => `s.workspace_type = ${p}`, f.workspaceType);
	if (f.q)
		add(
			(p) =>
				`(s.prompt ILIKE ${p} OR s.repository ILIKE ${p} OR s.thread_key ILIKE ${p} OR s.id::text ILIKE ${p})`,
			likePattern(f.q),
		);
	return where;
}

export const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export async function listSessions(db: Queryable, f: ListFilter) {
	const params: unknown[] = [];
	const where = sessionFilters(f, params);
	if (f.after) {
		params.push(f.after.t, f.after.id);
		where.push(
			`(s.created_at, s.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`,
		);
	}
	params.push(f.limit + 1);
	const { rows, more } = await readBoundedPage(db, {
		sql: `SELECT ${SESSION_COLUMNS} FROM sessions s ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
			ORDER BY s.created_at DESC, s.id DESC LIMIT $${params.length}`,
		params,
		sizeExpr: SESSION_TEXT_BYTES,
		order: 'created_at DESC, id DESC',
		limit: f.limit + 1,
		maxBytes: f.maxBytes,
	});
	return keysetPage(rows, f.limit, more, toSession);
}
