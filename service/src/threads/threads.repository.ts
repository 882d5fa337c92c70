import type { Queryable } from '../db';
import { insertImportedRow } from '../db/imported-row';
import { scrubValue } from '../scrub';
import { SESSION_COLUMNS, setThreadKey, toSession } from '../sessions/sessions.repository';

export async function getThread(db: Queryable, key: string) {
	const { rows } = await db.query<Record<string, any>>(
		`SELECT t.key, t.session_id, t.metadata, t.created_at, t.updated_at, s.status
		FROM threads t JOIN sessions s ON s.id = t.session_id WHERE t.key = $1`,
		[key],
	);
	const r = rows[0];
	return r
		? {
				key: r.key,
				sessionId: r.session_id,
				sessionStatus: r.status,
				metadata: r.metadata,
				createdAt: r.created_at,
				updatedAt: r.updated_at,
			}
		: undefined;
}

/** The thread with its session as GET /sessions/:id answers it (without the detail's totals), in one query. */
export async function getThreadWithSession(db: Queryable, key: string) {
	const { rows } = await db.query<Record<string, any>>(
		`SELECT t.key AS thread_key_, t.metadata AS thread_metadata, t.created_at AS thread_created_at,
			t.updated_at AS thread_updated_at, ${SESSION_COLUMNS}
		FROM threads t JOIN sessions s ON s.id = t.session_id WHERE t.key = $1`,
		[key],
	);
	const r = rows[0];
	return r
		? {
				key: r.thread_key_,
				sessionId: r.id,
				sessionStatus: r.status,
				metadata: r.thread_metadata,
				createdAt: r.thread_created_at,
				updatedAt: r.thread_updated_at,
				session: toSession(r),
			}
		: undefined;
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
