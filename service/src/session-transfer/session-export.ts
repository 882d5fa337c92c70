import type { Queryable } from '../db';
import { getTranscript } from '../transcripts/transcripts.repository';
import { EXPORT_FORMAT, EXPORT_VERSION } from './transfer.schema';

type Row = Record<string, unknown>;

const rows = async (db: Queryable, sql: string, id: string) => (await db.query<{ r: Row }>(sql, [id])).rows.map((x) => x.r);

/** Everything the service holds about one session, in one document another service can import; undefined if unknown. */
export async function exportSession(db: Queryable, id: string) {
	// The lease belongs to a run on this service, not to the session wherever it goes next.
	const [session] = await rows(db, `SELECT to_jsonb(s) - 'lease_owner' - 'lease_expires_at' AS r FROM sessions s WHERE id = $1`, id);
	if (!session) return undefined;
	const transcript = await getTranscript(db, id);
	return {
		format: EXPORT_FORMAT,
		version: EXPORT_VERSION,
		exportedAt: new Date().toISOString(),
		session,
		runs: await rows(db, 'SELECT to_jsonb(t) AS r FROM session_runs t WHERE session_id = $1 ORDER BY started_at, id', id),
		messages: await rows(db, `SELECT to_jsonb(t) - 'id' AS r FROM session_messages t WHERE session_id = $1 ORDER BY id`, id),
		toolCalls: await rows(db, `SELECT to_jsonb(t) - 'id' AS r FROM tool_calls t WHERE session_id = $1 ORDER BY id`, id),
		hookEvents: await rows(db, `SELECT to_jsonb(t) - 'id' AS r FROM hook_events t WHERE session_id = $1 ORDER BY id`, id),
		approvals: await rows(db, 'SELECT to_jsonb(t) AS r FROM approvals t WHERE session_id = $1 ORDER BY requested_at, id', id),
		threads: await rows(db, 'SELECT to_jsonb(t) AS r FROM threads t WHERE session_id = $1 ORDER BY created_at, key', id),
		transcript: transcript
			? (({ content, ...meta }) => ({ ...meta, contentGzipBase64: content.toString('base64') }))(transcript)
			: null,
	};
}
