import type { Queryable } from '../db';
import { getTranscript } from '../transcripts/transcripts.repository';
import { EXPORT_FORMAT, EXPORT_VERSION } from './transfer.schema';

type Row = Record<string, unknown>;

const rows = async (db: Queryable, sql: string, id: string) =>
	(await db.query<{ r: Row }>(sql, [id])).rows.map((x) => x.r);

/**
 * Columns the database computes (the full-text search vectors, generated or kept by a trigger): derived from the row itself, so a document
 * never carries them and the service that imports it computes its own.
 */
async function withoutGenerated(db: Queryable, table: string, list: Row[]): Promise<Row[]> {
	const { rows: generated } = await db.query<{ column_name: string }>(
		"SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND (is_generated = 'ALWAYS' OR data_type = 'tsvector')",
		[table],
	);
	if (!generated.length) return list;
	return list.map((row) =>
		Object.fromEntries(
			Object.entries(row).filter(([c]) => !generated.some((g) => g.column_name === c)),
		),
	);
}

/** Everything the service holds about one session, in one document another service can import; undefined if unknown. */
export async function exportSession(db: Queryable, id: string) {
	const part = async (table: string, sql: string) =>
		withoutGenerated(db, table, await rows(db, sql, id));
	// The lease belongs to a run on this service, not to the session wherever it goes next.
	const [session] = await part(
		'sessions',
		`SELECT to_jsonb(s) - 'lease_owner' - 'lease_expires_at' AS r FROM sessions s WHERE id = $1`,
	);
	if (!session) return undefined;
	const transcript = await getTranscript(db, id);
	return {
		format: EXPORT_FORMAT,
		version: EXPORT_VERSION,
		exportedAt: new Date().toISOString(),
		session,
		runs: await part(
			'session_runs',
			'SELECT to_jsonb(t) AS r FROM session_runs t WHERE session_id = $1 ORDER BY started_at, id',
		),
		messages: await part(
			'session_messages',
			`SELECT to_jsonb(t) - 'id' AS r FROM session_messages t WHERE session_id = $1 ORDER BY id`,
		),
		toolCalls: await part(
			'tool_calls',
			`SELECT to_jsonb(t) - 'id' AS r FROM tool_calls t WHERE session_id = $1 ORDER BY id`,
		),
		hookEvents: await part(
			'hook_events',
			`SELECT to_jsonb(t) - 'id' AS r FROM hook_events t WHERE session_id = $1 ORDER BY id`,
		),
		approvals: await part(
			'approvals',
			'SELECT to_jsonb(t) AS r FROM approvals t WHERE session_id = $1 ORDER BY requested_at, id',
		),
		threads: await part(
			'threads',
			'SELECT to_jsonb(t) AS r FROM threads t WHERE session_id = $1 ORDER BY created_at, key',
		),
		transcript: transcript
			? (({ content, ...meta }) => ({ ...meta, contentGzipBase64: content.toString('base64') }))(
					transcript,
				)
			: null,
	};
}
