import type { Queryable } from '../db';
import type { HookTokenState } from '../http/auth';

/**
 * Moves the session's token generation on (earlier tokens stop working) and reopens it for a new run; the
 * generation to sign into the new token and the session's lease holder (while its lease lasts), or undefined when there is no such session.
 */
export async function nextHookTokenGeneration(
	db: Queryable,
	sessionId: string,
): Promise<{ generation: number; leaseOwner: string | null } | undefined> {
	const { rows } = await db.query<{ generation: number; lease_owner: string | null }>(
		`UPDATE sessions SET hook_token_generation = hook_token_generation + 1, hook_tokens_end_at = NULL
		WHERE id = $1
		RETURNING hook_token_generation AS generation,
			CASE WHEN lease_expires_at > now() THEN lease_owner END AS lease_owner`,
		[sessionId],
	);
	const r = rows[0];
	return r ? { generation: r.generation, leaseOwner: r.lease_owner } : undefined;
}

/** The run ended: its token takes hooks for the grace period more, then none (set once: a repeated end does not extend it). */
export async function endHookTokens(
	db: Queryable,
	sessionId: string,
	graceMs: number,
): Promise<void> {
	await db.query(
		`UPDATE sessions SET hook_tokens_end_at = now() + make_interval(secs => $2::double precision / 1000)
		WHERE id = $1 AND hook_tokens_end_at IS NULL`,
		[sessionId, graceMs],
	);
}

export async function readHookTokenState(
	db: Queryable,
	sessionId: string,
): Promise<HookTokenState | undefined> {
	const { rows } = await db.query<{
		hook_token_generation: number;
		hook_tokens_end_at: Date | null;
	}>(
		'SELECT hook_token_generation, hook_tokens_end_at FROM sessions WHERE id = $1',
		[sessionId],
		'hook-token-state',
	);
	const r = rows[0];
	return r
		? {
				generation: r.hook_token_generation,
				endsAt: r.hook_tokens_end_at ? new Date(r.hook_tokens_end_at) : null,
			}
		: undefined;
}
