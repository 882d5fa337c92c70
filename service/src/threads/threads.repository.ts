import type { Queryable } from '../db';
import { insertImportedRow } from '../db/imported-row';
import { scrubValue } from '../scrub';
import { SESSION_COLUMNS, setThreadKey, toSession } from '../sessions/sessions.repository';

// Thread columns are aliased: the thread and its session share column names (metadata, created_at, updated_at).
const THREAD_COLUMNS = `t.key AS thread_key_, t.metadata AS thread_metadata, t.created_at AS thread_created_at,
	t.updated_at AS thread_updated_at`;

async function readThread(db: Queryable, key: string, sessionColumns: string) {
	const { rows } = await db.query<Record<string, any>>(
		`SELECT ${THREAD_COLUMNS}, ${sessionColumns}
		FROM threads t JOIN sessions s ON s.id = t.session_id WHERE t.key = $1`,
		[key],
	);
	const r = rows[0];
	if (!r) return undefined;
	const thread = {
		key: r.thread_key_,
		sessionId: r.id,
		sessionStatus: r.status,
		metadata: r.thread_metadata,
		createdAt: r.thread_created_at,
		updatedAt: r.thread_updated_at,
	};
	return { r, thread };
}

export async function getThread(db: Queryable, key: string) {
	return (await readThread(db, key, 's.id, s.status'))?.thread;
}

/** The thread with its session as GET /sessions/:id answers it (without the detail's totals), in one query. */
export async function getThreadWithSession(db: Queryable, key: string) {
	const found = await readThread(db, key, SESSION_COLUMNS);
	return found && { ...found.thread, session: toSession(found.r) };
}

/** The metadata a thread was last bound with (how it is answered), or undefined for an unknown key. */
export async function getThreadMetadata(
	db: Queryable,
	key: string,
): Promise<Record<string, unknown> | undefined> {
	const { rows } = await db.query<{ metadata: Record<string, unknown> }>(
		'SELECT metadata FROM threads WHERE key = $1',
		[key],
	);
	return rows[0]?.metadata;
}

/** Binds a thread to a session (re-binding moves it) and records the key on the session. */
export async function putThread(
	db: Queryable,
	key: string,
	sessionId: string,
	metadata: Record<string, unknown> | undefined,
) {
	await db.query(
		`INSERT INTO threads (key, session_id, metadata) VALUES ($1, $2, COALESCE($3::jsonb, '{}'::jsonb))
		ON CONFLICT (key) DO UPDATE SET session_id = EXCLUDED.session_id,
			metadata = threads.metadata || COALESCE($3::jsonb, '{}'::jsonb), updated_at = now()`,
		// Shown to Hook Trigger workflows and on the dashboard: secrets masked like every other stored payload.
		[key, sessionId, metadata ? JSON.stringify(scrubValue(metadata, 64 * 1024).value) : null],
	);
	await setThreadKey(db, sessionId, key);
	return getThread(db, key);
}

/** A thread of an imported session, as exported. */
export function importThread(tx: Queryable, values: Record<string, unknown>): Promise<void> {
	return insertImportedRow(tx, 'threads', values);
}
