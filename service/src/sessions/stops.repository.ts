import type { Queryable } from '../db';
import { notifyRunSignal, stopReasonOf } from './run-signals';

export interface StopRequest {
	requestedBy: string;
	channel: string;
	reason: string | null;
	requestedAt: string;
}

type StopRow = { requested_by: string; channel: string; reason: string | null; requested_at: Date };
const toStop = (r: StopRow): StopRequest => ({
	requestedBy: r.requested_by,
	channel: r.channel,
	reason: r.reason,
	requestedAt: new Date(r.requested_at).toISOString(),
});

export type RecordStopResult =
	| { ok: false; reason: 'not-found' }
	| { ok: false; reason: 'not-running' }
	| { ok: true; owner: string; generation: number; stop: StopRequest; alreadyRequested: boolean };

/**
 * Records a stop for the run holding the session's lease, in the caller's transaction (the session row stays
 * locked until it commits, so the run cannot slip away in between). A second stop of the same run is the first one.
 */
export async function recordStop(
	tx: Queryable,
	sessionId: string,
	req: { requestedBy: string; channel: string; reason?: string },
): Promise<RecordStopResult> {
	const { rows } = await tx.query<{
		lease_owner: string | null;
		held: boolean;
		generation: number;
	}>(
		`SELECT lease_owner, COALESCE(lease_expires_at > now(), false) AS held, hook_token_generation AS generation
		FROM sessions WHERE id = $1 FOR UPDATE`,
		[sessionId],
	);
	const s = rows[0];
	if (!s) return { ok: false, reason: 'not-found' };
	if (!s.held || !s.lease_owner) return { ok: false, reason: 'not-running' };
	const inserted = await tx.query<StopRow>(
		`INSERT INTO session_stops (session_id, lease_owner, hook_generation, requested_by, channel, reason)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (session_id, lease_owner) DO NOTHING
		RETURNING requested_by, channel, reason, requested_at`,
		[sessionId, s.lease_owner, s.generation, req.requestedBy, req.channel, req.reason ?? null],
	);
	if (inserted.rows[0])
		return {
			ok: true,
			owner: s.lease_owner,
			generation: s.generation,
			stop: toStop(inserted.rows[0]),
			alreadyRequested: false,
		};
	const existing = await stopFor(tx, sessionId, s.lease_owner);
	return {
		ok: true,
		owner: s.lease_owner,
		generation: s.generation,
		stop: existing!,
		alreadyRequested: true,
	};
}

/** The stop asked of the run holding (or that held) the lease as `owner`, if any. */
export async function stopFor(
	db: Queryable,
	sessionId: string,
	owner: string,
): Promise<StopRequest | undefined> {
	const { rows } = await db.query<StopRow>(
		'SELECT requested_by, channel, reason, requested_at FROM session_stops WHERE session_id = $1 AND lease_owner = $2',
		[sessionId, owner],
	);
	return rows[0] ? toStop(rows[0]) : undefined;
}

/** The session's most recent stop request (the one a run recorded as stopped answered). */
export async function latestStop(
	db: Queryable,
	sessionId: string,
): Promise<StopRequest | undefined> {
	const { rows } = await db.query<StopRow>(
		'SELECT requested_by, channel, reason, requested_at FROM session_stops WHERE session_id = $1 ORDER BY requested_at DESC, id DESC LIMIT 1',
		[sessionId],
	);
	return rows[0] ? toStop(rows[0]) : undefined;
}

/** Who holds the session's lease now (undefined: nobody, or it expired); null when there is no such session. */
export async function leaseHolder(
	db: Queryable,
	sessionId: string,
): Promise<string | undefined | null> {
	const { rows } = await db.query<{ owner: string | null }>(
		'SELECT CASE WHEN lease_expires_at > now() THEN lease_owner END AS owner FROM sessions WHERE id = $1',
		[sessionId],
	);
	if (!rows[0]) return null;
	return rows[0].owner ?? undefined;
}

/** The session's latest run and how many tool calls started during it: what a stopped turn had done. */
export async function latestRunSummary(db: Queryable, sessionId: string) {
	const { rows } = await db.query<{
		id: string;
		status: string;
		result: string | null;
		cost_usd: number;
		num_turns: number;
		duration_ms: string;
		started_at: Date;
		ended_at: Date | null;
		tool_calls: number;
	}>(
		`SELECT r.id, r.status, r.result, r.cost_usd, r.num_turns, r.duration_ms, r.started_at, r.ended_at,
			(SELECT count(*)::int FROM tool_calls t WHERE t.session_id = r.session_id AND t.started_at >= r.started_at
				AND (r.ended_at IS NULL OR t.started_at <= r.ended_at)) AS tool_calls
		FROM session_runs r WHERE r.session_id = $1 ORDER BY r.started_at DESC, r.id DESC LIMIT 1`,
		[sessionId],
	);
	const r = rows[0];
	if (!r) return undefined;
	return {
		id: r.id,
		status: r.status,
		result: r.result,
		costUsd: Number(r.cost_usd),
		numTurns: r.num_turns,
		durationMs: Number(r.duration_ms),
		toolCalls: r.tool_calls,
		startedAt: new Date(r.started_at).toISOString(),
		endedAt: r.ended_at ? new Date(r.ended_at).toISOString() : null,
	};
}

/**
 * A stop asked of the run holding the lease as `owner` before that run's hook token was issued applies to the new
 * token's generation: moved on with it (and announced), so the run's hooks are answered as stopped from its first.
 */
export async function carryStopToGeneration(
	db: Queryable,
	sessionId: string,
	owner: string,
	generation: number,
): Promise<void> {
	const { rows } = await db.query<StopRow>(
		`UPDATE session_stops SET hook_generation = $3 WHERE session_id = $1 AND lease_owner = $2
		RETURNING requested_by, channel, reason, requested_at`,
		[sessionId, owner, generation],
	);
	const stop = rows[0];
	if (stop)
		await notifyRunSignal(db, {
			kind: 'stop',
			sessionId,
			owner,
			generation,
			stopReason: stopReasonOf({
				requestedBy: stop.requested_by,
				channel: stop.channel,
				reason: stop.reason,
			}),
		});
}
