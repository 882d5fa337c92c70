import type { Queryable } from '../db';

// One turn at a time per session, across every n8n process: a run holds a lease on its session and renews it
// while claude runs. A crashed holder's lease simply expires.

export type LeaseResult =
	| { ok: true; owner: string; expiresAt: Date }
	| { ok: false; reason: 'not-found' }
	| { ok: false; reason: 'busy'; owner: string; expiresAt: Date };

export async function acquireLease(
	db: Queryable,
	sessionId: string,
	owner: string,
	ttlSeconds: number,
): Promise<LeaseResult> {
	const { rows } = await db.query<{ lease_owner: string; lease_expires_at: Date }>(
		`UPDATE sessions SET lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3)
		WHERE id = $1 AND (lease_owner IS NULL OR lease_expires_at < now() OR lease_owner = $2)
		RETURNING lease_owner, lease_expires_at`,
		[sessionId, owner, ttlSeconds],
	);
	if (rows[0]) return { ok: true, owner: rows[0].lease_owner, expiresAt: rows[0].lease_expires_at };
	const current = await db.query<{ lease_owner: string; lease_expires_at: Date }>(
		'SELECT lease_owner, lease_expires_at FROM sessions WHERE id = $1',
		[sessionId],
	);
	if (!current.rows[0]) return { ok: false, reason: 'not-found' };
	return {
		ok: false,
		reason: 'busy',
		owner: current.rows[0].lease_owner,
		expiresAt: current.rows[0].lease_expires_at,
	};
}

export async function releaseLease(
	db: Queryable,
	sessionId: string,
	owner: string,
): Promise<boolean> {
	const res = await db.query(
		'UPDATE sessions SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2',
		[sessionId, owner],
	);
	return res.rowCount > 0;
}

export interface ExpiredLease {
	id: string;
	status: string;
	lease_owner: string;
	lease_expires_at: Date;
}

/**
 * Up to `limit` sessions whose lease ran out, locked for the caller's transaction. Several replicas may sweep at
 * once: SKIP LOCKED gives each row to one of them, and a lease renewed meanwhile is no longer expired.
 */
export async function takeExpiredLeases(tx: Queryable, limit: number): Promise<ExpiredLease[]> {
	const { rows } = await tx.query<ExpiredLease>(
		`SELECT id, status, lease_owner, lease_expires_at FROM sessions
		WHERE lease_owner IS NOT NULL AND lease_expires_at < now()
		ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
		[limit],
	);
	return rows;
}

/** Drops the session's lease whoever holds it (a claim that lapsed before its run started). */
export async function dropLease(tx: Queryable, sessionId: string): Promise<void> {
	await tx.query('UPDATE sessions SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1', [
		sessionId,
	]);
}
