import type { Queryable } from '../db';
import { olderThanRetention, retentionDelete } from '../db/retention';
import { periodicTask } from '../periodic-task';

export interface EventKey {
	key: string;
	sessionId: string;
	action: 'start' | 'resume';
	createdAt: Date;
}

/**
 * Claims an external event's key for one session start or resume. The primary key decides between concurrent
 * claims on any replica: the first wins (`first: true`), every later claim gets the first one back. A claim that
 * comes again with the winner's claim id is the winner retrying (its answer was lost): it is `first: true` again.
 */
export async function claimEventKey(
	db: Queryable,
	k: Omit<EventKey, 'createdAt'> & { claimId?: string },
): Promise<EventKey & { first: boolean }> {
	// The key that conflicted can be given back (DELETE) between the claim and the read after it: then the claim
	// is simply made again.
	for (let attempt = 1; ; attempt++) {
		const claim = await claimOnce(db, k);
		if (claim) return claim;
		if (attempt === 3) throw new Error(`event key ${k.key} conflicted but cannot be read`);
	}
}

async function claimOnce(
	db: Queryable,
	k: Omit<EventKey, 'createdAt'> & { claimId?: string },
): Promise<(EventKey & { first: boolean }) | undefined> {
	const { rows } = await db.query<{
		key: string;
		session_id: string;
		action: 'start' | 'resume';
		created_at: Date;
		first: boolean;
	}>(
		`WITH ins AS (
			INSERT INTO event_keys (key, session_id, action, claim_id) VALUES ($1, $2, $3, $4::uuid)
			ON CONFLICT (key) DO NOTHING
			RETURNING key, session_id, action, created_at, true AS first
		)
		SELECT * FROM ins
		UNION ALL
		SELECT key, session_id, action, created_at, ${SAME_CLAIM} FROM event_keys
		WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM ins)`,
		[k.key, k.sessionId, k.action, k.claimId ?? null],
	);
	const r = rows[0];
	if (!r) {
		// The row that conflicted was inserted by a transaction this statement's snapshot does not see yet: read it now.
		const again = await db.query<{
			key: string;
			session_id: string;
			action: 'start' | 'resume';
			created_at: Date;
			first: boolean;
		}>(`SELECT key, session_id, action, created_at, ${SAME_CLAIM} FROM event_keys WHERE key = $1`, [
			k.key,
			k.sessionId,
			k.action,
			k.claimId ?? null,
		]);
		const a = again.rows[0];
		if (!a) return undefined;
		return {
			key: a.key,
			sessionId: a.session_id,
			action: a.action,
			createdAt: a.created_at,
			first: a.first,
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

// The stored claim is this one retried: same claim id (never NULL: a claim without one is never a retry), and the
// same session and action, so a claim id reused for something else is still answered with the claim that won.
const SAME_CLAIM = `(claim_id IS NOT NULL AND claim_id = $4::uuid AND session_id = $2::uuid AND action = $3::text) AS first`;

/**
 * Gives a claimed key back, so the event's next arrival is acted on: only with the claim id that claimed it.
 * 'not_yours': the key is held by another claim (or by one made without a claim id); 'unknown': nobody holds it.
 */
export async function releaseEventKey(
	db: Queryable,
	key: string,
	claimId: string,
): Promise<'released' | 'not_yours' | 'unknown'> {
	// One statement: the existence check reads the snapshot before the delete, so it sees the row either way.
	const { rows } = await db.query<{ released: boolean; present: boolean }>(
		`WITH del AS (DELETE FROM event_keys WHERE key = $1 AND claim_id = $2::uuid RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM del) AS released, EXISTS (SELECT 1 FROM event_keys WHERE key = $1) AS present`,
		[key, claimId],
	);
	const r = rows[0];
	return r?.released ? 'released' : r?.present ? 'not_yours' : 'unknown';
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
export const pruneEventKeys = retentionDelete(
	`DELETE FROM event_keys WHERE key IN (
		SELECT key FROM event_keys WHERE ${olderThanRetention('created_at')} ORDER BY created_at LIMIT $2)`,
);

/** Chat platforms resend within minutes; a week of keys is plenty. Forgotten hourly, a batch at a time. */
export function createEventKeyPruner(
	db: Queryable,
	opts = { retentionMs: 7 * 24 * 3_600_000, everyMs: 3_600_000 },
) {
	return periodicTask('event key pruning', opts.everyMs, () =>
		pruneEventKeys(db, opts.retentionMs),
	);
}
