import { insertImportedRow } from '../db/imported-row';
import { readBoundedPage } from '../db/byte-bounded-page';
import type { Queryable } from '../db';
import { mergeAll, type ToolCallUpsert } from './tool-call';

const RANK_SQL = (col: string) =>
	`CASE ${col} WHEN 'denied' THEN 3 WHEN 'failed' THEN 2 WHEN 'succeeded' THEN 1 ELSE 0 END`;

/**
 * The upsert of merged tool-call pieces read from the jsonb array parameter `param`; also used as a CTE inside
 * the hook-ingestion statement, so it is SQL text rather than a query.
 */
export function toolCallUpsertSql(param: string): string {
	return `INSERT INTO tool_calls AS t (session_id, tool_use_id, tool_name, input, response, error, status, duration_ms,
			started_at, finished_at, seen_in_hooks, seen_in_stream, truncated)
		SELECT (r->>'sessionId')::uuid, r->>'toolUseId', r->>'toolName', r->'input', r->'response', r->>'error', r->>'status',
			(r->>'durationMs')::integer, (r->>'startedAt')::timestamptz, (r->>'finishedAt')::timestamptz,
			(r->>'seenInHooks')::boolean, (r->>'seenInStream')::boolean, (r->>'truncated')::boolean
		FROM jsonb_array_elements(${param}::jsonb) r
		ON CONFLICT (session_id, tool_use_id) DO UPDATE SET
			tool_name = COALESCE(t.tool_name, EXCLUDED.tool_name),
			input = COALESCE(t.input, EXCLUDED.input),
			response = COALESCE(EXCLUDED.response, t.response),
			error = COALESCE(EXCLUDED.error, t.error),
			status = CASE WHEN ${RANK_SQL('EXCLUDED.status')} >= ${RANK_SQL('t.status')} THEN EXCLUDED.status ELSE t.status END,
			duration_ms = CASE WHEN EXCLUDED.seen_in_hooks AND EXCLUDED.duration_ms IS NOT NULL THEN EXCLUDED.duration_ms
				ELSE COALESCE(t.duration_ms, EXCLUDED.duration_ms) END,
			started_at = LEAST(t.started_at, EXCLUDED.started_at),
			finished_at = GREATEST(t.finished_at, EXCLUDED.finished_at),
			seen_in_hooks = t.seen_in_hooks OR EXCLUDED.seen_in_hooks,
			seen_in_stream = t.seen_in_stream OR EXCLUDED.seen_in_stream,
			truncated = t.truncated OR EXCLUDED.truncated`;
}

/** Pieces merged per call and sorted, so concurrent writers lock rows in the same order. */
export function toolCallRows(pieces: ToolCallUpsert[]): ToolCallUpsert[] {
	return mergeAll(pieces).sort((a, b) =>
		a.sessionId + a.toolUseId < b.sessionId + b.toolUseId ? -1 : 1,
	);
}

/** Upserts pieces of tool calls in one statement; pieces for the same call are merged first. */
export async function upsertToolCalls(db: Queryable, pieces: ToolCallUpsert[]): Promise<void> {
	if (!pieces.length) return;
	await db.query(toolCallUpsertSql('$1'), [JSON.stringify(toolCallRows(pieces))]);
}

/**
 * Fails the calls a run ended without, those still running: a result a hook reported (the hook can arrive before
 * the runner reads the same result from claude's output, and claude may be killed in between) stays as it was.
 */
export async function failUnfinished(
	db: Queryable,
	sessionId: string,
	calls: Array<{ toolUseId: string; response: unknown; finishedAt?: string; durationMs?: number }>,
): Promise<void> {
	if (!calls.length) return;
	await db.query(
		`UPDATE tool_calls AS t SET status = 'failed', response = COALESCE(t.response, r.response),
			finished_at = COALESCE(t.finished_at, (r.r->>'finishedAt')::timestamptz),
			duration_ms = COALESCE(t.duration_ms, (r.r->>'durationMs')::integer)
		FROM (SELECT e AS r, e->'response' AS response, e->>'toolUseId' AS tool_use_id FROM jsonb_array_elements($2::jsonb) e) r
		WHERE t.session_id = $1 AND t.tool_use_id = r.tool_use_id AND t.status = 'running'`,
		[sessionId, JSON.stringify(calls)],
	);
}

export interface ToolCallRow {
	id: number;
	tool_use_id: string;
	tool_name: string | null;
	input: unknown;
	response: unknown;
	error: string | null;
	status: string;
	duration_ms: number | null;
	started_at: Date | null;
	finished_at: Date | null;
	seen_in_hooks: boolean;
	seen_in_stream: boolean;
	truncated: boolean;
}

/**
 * A session's tool calls in the order they started (pieces can be written out of order), keyset-paged: up to
 * `limit` rows and about `maxBytes` of input, result and error (at least one row).
 */
export async function listToolCalls(
	db: Queryable,
	sessionId: string,
	limit: number,
	after?: { t: string; id: number },
	maxBytes = Number.MAX_SAFE_INTEGER,
) {
	const { rows, more } = await readBoundedPage<ToolCallRow & { sort_t: string }>(db, {
		sql: `SELECT id, tool_use_id, tool_name, input, response, error, status, duration_ms, started_at, finished_at,
				seen_in_hooks, seen_in_stream, truncated, COALESCE(started_at, finished_at, 'epoch') AS sort_at,
				COALESCE(started_at, finished_at, 'epoch')::text AS sort_t
			FROM tool_calls WHERE session_id = $1
				AND ($2::timestamptz IS NULL OR (COALESCE(started_at, finished_at, 'epoch'), id) > ($2::timestamptz, $3::bigint))
			ORDER BY COALESCE(started_at, finished_at, 'epoch'), id LIMIT $4`,
		params: [sessionId, after?.t ?? null, after?.id ?? 0, limit],
		sizeExpr: `COALESCE(octet_length(input::text), 0) + COALESCE(octet_length(response::text), 0) + COALESCE(octet_length(error), 0)`,
		order: 'sort_at, id',
		limit,
		maxBytes,
	});
	return {
		items: rows.map((r) => ({
			id: r.id,
			cursor: { t: r.sort_t, id: r.id },
			toolUseId: r.tool_use_id,
			tool: r.tool_name,
			input: r.input,
			result: r.response,
			error: r.error,
			status: r.status,
			durationMs: r.duration_ms,
			startedAt: r.started_at,
			finishedAt: r.finished_at,
			sources: [...(r.seen_in_hooks ? ['hooks'] : []), ...(r.seen_in_stream ? ['stream'] : [])],
			truncated: r.truncated,
		})),
		more,
	};
}

/** A tool call of an imported session, as exported (its id is assigned here). */
export function importToolCall(tx: Queryable, values: Record<string, unknown>): Promise<void> {
	return insertImportedRow(tx, 'tool_calls', values);
}
