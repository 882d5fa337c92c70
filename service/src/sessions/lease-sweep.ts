import type { Database, Queryable } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import { insertServiceEvents } from '../hooks/hooks.repository';
import { logger } from '../logger';
import { periodicTask } from '../periodic-task';
import { announceWaiting, returnUnstarted } from '../queued-messages/queued-messages.repository';
import { notifyRunSignal } from './run-signals';
import {
	dropLease,
	endAbandonedRun,
	takeExpiredLeases,
	type ExpiredLease as Expired,
} from './sessions.repository';

// A run renews its lease while claude runs. A lease that ran out means the worker holding it died (or lost the
// service for longer than the lease): its run will never report an end. The sweep ends it as `interrupted`, so
// the session does not stay "running" forever, and tells Hook Triggers ("Session finished"). A Resume continues
// the conversation from its transcript.

export const INTERRUPTED = 'interrupted';

export const interruptedReason = (owner: string, expiredAt: Date) =>
	`The worker running this session (${owner}) stopped renewing its lease, which expired at ${expiredAt.toISOString()}: ` +
	'it stopped or lost contact with the service mid-run. Resume the session to continue the conversation.';

/**
 * Ends the runs whose lease expired; how many sessions it interrupted. Several replicas may sweep at once:
 * each session row is taken by one of them (SKIP LOCKED), and a lease renewed meanwhile is no longer expired.
 */
export async function interruptExpiredLeases(
	db: Database,
	limit = 100,
	outbox?: KnownSubscriptions,
): Promise<number> {
	return db.transaction(async (tx) => {
		const rows = await takeExpiredLeases(tx, limit);
		let interrupted = 0;
		for (const s of rows) {
			// Replies taken by a run that never got as far as starting claude were never answered: they wait again.
			await returnUnstarted(tx, s.id);
			// A claim that lapsed before its run started (the worker died preparing the workspace) left nothing running.
			// Its end is still the end of a turn: replies that waited for it (or came back above) are announced, as
			// the holder's own release would have (Reply Queued), or they would wait until some other turn ends.
			if (s.status !== 'running') {
				await dropLease(tx, s.id);
				await notifyRunSignal(tx, { kind: 'released', sessionId: s.id, owner: s.lease_owner });
				await announceWaiting(tx, s.id, s.lease_owner, outbox);
				continue;
			}
			await interrupt(tx, s, outbox);
			interrupted++;
		}
		return interrupted;
	});
}

async function interrupt(
	tx: Queryable,
	s: Expired,
	outbox: KnownSubscriptions | undefined,
): Promise<void> {
	const reason = interruptedReason(s.lease_owner, new Date(s.lease_expires_at));
	const runIds = await endAbandonedRun(tx, s.id, INTERRUPTED, reason);
	// Recorded as the session's end, from the service: "Session finished" subscriptions (Stop, SessionEnd,
	// StopFailure) receive it through the outbox, with the session's status `interrupted`.
	const payload = {
		session_id: s.id,
		hook_event_name: 'SessionEnd',
		source: 'service',
		reason: INTERRUPTED,
		error: reason,
		lease_owner: s.lease_owner,
		lease_expired_at: new Date(s.lease_expires_at).toISOString(),
		run_ids: runIds,
	};
	await insertServiceEvents(tx, [{ sessionId: s.id, eventName: 'SessionEnd', payload }], outbox);
	// Whoever waits on this run hears it ended; replies queued during it are announced (Reply Queued).
	await notifyRunSignal(tx, { kind: 'released', sessionId: s.id, owner: s.lease_owner });
	await announceWaiting(tx, s.id, s.lease_owner, outbox);
	logger.warn('session interrupted: its lease expired', { sessionId: s.id, owner: s.lease_owner });
}

/** The sweep as the service runs it: every `sweepMs`, one pass at a time per process. */
export function createLeaseSweep(
	db: Database,
	opts: { sweepMs: number; outbox?: KnownSubscriptions },
) {
	return periodicTask('lease sweep', opts.sweepMs, () =>
		interruptExpiredLeases(db, 100, opts.outbox),
	);
}
