import type { Router } from 'express';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { logger } from '../logger';
import { approvalsRouter } from './approvals.router';
import { createHookAnswerer } from './hook-answer';
import { approvalPolicyRouter } from './policy.router';
import { expireOverdue } from './service-settlements';

export type { HookAnswerContext, HookAnswerer } from './hook-answer';

// The hook timeout the nodes set is 5 s; past it the CLI lets the call run. Answer well before that.
const ANSWER_TIMEOUT_MS = 3000;

/** Approvals as the service wires them in: the PreToolUse answerer for the hooks route, the routes, the expiry sweep. */
export function createApprovals(db: Database, auth: Auth, opts: { ttlMs: number; sweepMs: number; readPageMaxBytes?: number }) {
	const routers: Record<string, Router> = {
		approvals: approvalsRouter({ db, auth, readPageMaxBytes: opts.readPageMaxBytes }),
		// Mounted beside the sessions router: /api/v1/sessions/:id/approval-policy.
		sessions: approvalPolicyRouter({ db, auth }),
	};
	let timer: NodeJS.Timeout | undefined;
	let sweeping: Promise<unknown> | undefined;
	const sweep = () => {
		sweeping ??= expireOverdue(db)
			.catch((err) => logger.warn('approval expiry sweep failed; will try again', { error: err instanceof Error ? err.message : String(err) }))
			.finally(() => (sweeping = undefined));
	};
	return {
		answer: createHookAnswerer(db, { ttlMs: opts.ttlMs, timeoutMs: ANSWER_TIMEOUT_MS }),
		routers,
		start() {
			if (opts.sweepMs > 0) timer = setInterval(sweep, opts.sweepMs).unref();
		},
		async stop() {
			clearInterval(timer);
			await sweeping;
		},
	};
}
