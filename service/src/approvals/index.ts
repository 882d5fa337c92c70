import type { Database } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import { periodicTask } from '../periodic-task';
import { createHookAnswerer } from './hook-answer';
import { expireOverdue } from './service-settlements';

export type { HookAnswerContext, HookAnswerer } from './hook-answer';

// The hook timeout the nodes set is 5 s; past it the CLI lets the call run. Answer well before that.
const ANSWER_TIMEOUT_MS = 3000;

/** Approvals as the service runs them: the PreToolUse answerer for the hooks route, and the expiry sweep. */
export function createApprovals(
	db: Database,
	outbox: KnownSubscriptions,
	opts: { ttlMs: number; sweepMs: number },
) {
	const sweep = periodicTask('approval expiry sweep', opts.sweepMs, () =>
		expireOverdue(db, 100, outbox),
	);
	return {
		answer: createHookAnswerer(db, { ttlMs: opts.ttlMs, timeoutMs: ANSWER_TIMEOUT_MS, outbox }),
		start: sweep.start,
		stop: sweep.stop,
	};
}
