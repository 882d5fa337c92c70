import type { Queryable } from '../db';
import { periodicTask } from '../periodic-task';

export interface EventKey {
	key: string;
	sessionId: string;
	action: 'start' | 'resume';
	createdAt: Date;
}

/**
 * Claims an external event's key for one session start or resume. The primary key decides between concurrent
 * claims on any replica: the first wins (`first: true`), every later claim gets the first one back.
 */
export async function claimEventKey(
	db: Queryable,
	k: Omit<EventKey, 'createdAt'>,
): Promise<EventKey & { first: boolean }> {
	const { rows } = await db.query<{
		key: string;
		session_id: string;
		action: 'start' | 'resume';
		created_at: Date;
		first: boolean;
	}>(
		`WITH ins AS (
			INSERT INTO event_keys (key, session_id, action) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO NOTHING
			RETURNING key, session_id, action, created_at, true AS first
		)
		SELECT * FROM ins
		UNION ALL
		SELECT key, session_id, action, created_at, false FROM event_keys WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM ins)`,
		[k.key, k.sessionId, k.action],
	);
	const r = rows[0];
	if (!r) {
		// The row that conflicted was inserted by a transaction this statement's snapshot does not see yet: read it now.
		const again = await db.query<{
			key: string;
			session_id: string;
			action: 'start' | 'resume';
			created_at: Date;
		}>('SELECT key, session_id, action, created_at FROM event_keys WHERE key = $1', [k.key]);
		const a = again.rows[0];
		if (!a) throw new Error(`event key ${k.key} conflicted but cannot be read`);
		return {
			key: a.key,
			sessionId: a.session_id,
			action: a.action,
			createdAt: a.created_at,
			first: false,
		};
	}
	return {
		key: r.key,
		sessionId: r.session_id,
		action: r.action,
		createdAt: r.created_at,
		first: r.first,
	};
}

export async function getEventKey(db: Queryable, key: string): Promise<EventKey | undefined> {
	const { rows } = await db.query<{
		key: string;
		session_id: string;
		action: 'start' | 'resume';
		created_at: Date;
	}>('SELECT key, session_id, action, created_at FROM event_keys WHERE key = $1', [key]);
	const r = rows[0];
	return r
		? { key: r.key, sessionId: r.session_id, action: r.action, createdAt: r.created_at }
		: undefined;
}

/** Forgets keys older than the retention, a bounded batch at a time (chat platforms retry within minutes). */
export async function pruneEventKeys(
	db: Queryable,
	olderThanMs: number,
	batch = 5000,
): Promise<number> {
	const { rowCount } = await db.query(
		`DELETE FROM event_keys WHERE key IN (
			SELECT key FROM event_keys WHERE created_at < now() - make_interval(secs => $1::double precision / 1000)
			ORDER BY created_at LIMIT $2)`,
		[olderThanMs, batch],
	);
	return rowCount;
}

/** Chat platforms resend within minutes; a week of keys is plenty. Forgotten hourly, a batch at a time. */
export function createEventKeyPruner(
	db: Queryable,
	opts = { retentionMs: 7 * 24 * 3_600_000, everyMs: 3_600_000 },
) {
	return periodicTask('event key pruning', opts.everyMs, () =>
		pruneEventKeys(db, opts.retentionMs),
	);
}
