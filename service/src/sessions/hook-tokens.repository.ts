import type { Queryable } from '../db';
import type { HookTokenState } from '../http/auth';
import { notifyRunSignal, stopReasonOf } from './run-signals';

/**
 * Moves the session's token generation on (earlier tokens stop working) and reopens it for a new run; the
 * generation to sign into the new token, or undefined when there is no such session. A stop already asked of the
 * run holding the lease (it came between the lease and this token) moves on with it, so that run's hooks are
 * answered as stopped from its first one.
 */
export async function nextHookTokenGeneration(
	db: Queryable,
	sessionId: string,
): Promise<number | undefined> {
	const { rows } = await db.query<{
		generation: number;
		lease_owner: string | null;
		requested_by: string | null;
		channel: string;
		reason: string | null;
	}>(
		`WITH bumped AS (
			UPDATE sessions SET hook_token_generation = hook_token_generation + 1, hook_tokens_end_at = NULL
			WHERE id = $1 RETURNING id, hook_token_generation AS generation, lease_owner
		), moved AS (
			UPDATE session_stops st SET hook_generation = b.generation FROM bumped b
			WHERE st.session_id = b.id AND st.lease_owner = b.lease_owner
			RETURNING st.requested_by, st.channel, st.reason
		)
		SELECT b.generation, b.lease_owner, m.requested_by, m.channel, m.reason
		FROM bumped b LEFT JOIN moved m ON true`,
		[sessionId],
	);
	const r = rows[0];
	if (!r) return undefined;
	if (r.requested_by !== null && r.lease_owner !== null)
		await notifyRunSignal(db, {
			kind: 'stop',
			sessionId,
			owner: r.lease_owner,
			generation: r.generation,
			stopReason: stopReasonOf({
				requestedBy: r.requested_by,
				channel: r.channel,
				reason: r.reason,
			}),
		});
	return r.generation;
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
