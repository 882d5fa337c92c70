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
