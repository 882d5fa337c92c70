import type { z } from 'zod';
import { settleDroppedCalls } from '../approvals/service-settlements';
import { settleRun } from '../budgets/reservations';
import type { Database } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import { conflict, notFound } from '../http/errors';
import { endHookTokens } from './hook-tokens.repository';
import { recordRunDenials } from './run-denials';
import { getSession, upsertRun } from './sessions.repository';
import type { RunBody } from './sessions.schema';

export interface RunDeps {
	db: Database;
	/** How long after its run's end a hook token still takes late hooks. */
	hookTokenGraceMs: number;
	outbox?: KnownSubscriptions;
}

/**
 * A run's report (sent as it progresses, and at its end), in one transaction with what follows from it: the
 * denials it reports become events, a finished run ends its hook token and settles its budget reservation, and a
 * clean end settles the approvals Claude Code dropped. Answers the session as it is now.
 */
export async function recordRun(deps: RunDeps, id: string, runId: string, body: z.output<typeof RunBody>) {
	return deps.db.transaction(async (tx) => {
		if (!(await getSession(tx, id))) throw notFound(`no session ${id}`);
		const s = await upsertRun(tx, id, runId, body);
		if (s === 'run-belongs-to-another-session') throw conflict(`run ${runId} belongs to another session`);
		await recordRunDenials(tx, id, runId, body.permissionDenials, deps.outbox);
		// The run is over: its hook token takes late hooks for the grace period, then none.
		if (body.status !== 'running' && body.status !== 'created') await endHookTokens(tx, id, deps.hookTokenGraceMs);
		if (body.status !== 'running') await settleRun(tx, id, runId, body.costUsd, deps.outbox);
		// A clean end says which deferred call, if any, the next run carries; no other can still be approved.
		if (body.status === 'completed' || (body.status === 'waiting_approval' && body.deferredToolUseId)) {
			await settleDroppedCalls(tx, id, body.deferredToolUseId, deps.outbox);
		}
		return s;
	});
}
