import crypto from 'node:crypto';
import type { z } from 'zod';
import { settleDroppedCalls } from '../approvals/service-settlements';
import { settleRun } from '../budgets/reservations';
import type { Database, Queryable } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import type { Auth } from '../http/auth';
import { conflict, notFound } from '../http/errors';
import { putThread } from '../threads/threads.repository';
import { carryStopToGeneration } from './stops.repository';
import { recordRunDenials } from './run-denials';
import { endsRun, recordRunFinished } from './run-finished-event';
import { recordServiceEvent } from './service-event';
import { latestStop } from './stops.repository';
import {
	acquireLease,
	createSession,
	endHookTokens,
	getSession,
	nextHookTokenGeneration,
	runStatusForUpdate,
	upsertRun,
} from './sessions.repository';
import type { CreateSessionBody, RunBody } from './sessions.schema';

export interface SessionServiceDeps {
	db: Database;
	auth: Auth;
	/** Hook tokens: life when the caller does not say, and how long after its run's end a token still takes hooks. */
	hookTokens: { ttlMs: number; graceMs: number };
	/** Signals the deliveries a run's events queue. */
	outbox?: KnownSubscriptions;
	/** LEASE_TTL: how long a lease lasts when its claim does not say. */
	leaseTtlSeconds?: number;
}

/** A token for the session's next run: earlier ones stop working. Undefined when there is no such session. */
export async function issueHookToken(
	deps: SessionServiceDeps,
	tx: Queryable,
	id: string,
	ttlSeconds?: number,
) {
	const next = await nextHookTokenGeneration(tx, id);
	if (!next) return undefined;
	const { generation } = next;
	if (next.leaseOwner) await carryStopToGeneration(tx, id, next.leaseOwner, generation);
	deps.auth.forgetHookTokens(id);
	const expiresAt = new Date(
		Date.now() + (ttlSeconds ? ttlSeconds * 1000 : deps.hookTokens.ttlMs) + deps.hookTokens.graceMs,
	);
	return {
		hookToken: deps.auth.signHookToken(id, generation, expiresAt),
		hookTokenExpiresAt: expiresAt.toISOString(),
	};
}

/** Every hook token of the session stops working (within a second on every replica); false when there is no such session. */
export async function revokeHookTokens(deps: SessionServiceDeps, id: string): Promise<boolean> {
	if ((await nextHookTokenGeneration(deps.db, id)) === undefined) return false;
	deps.auth.forgetHookTokens(id);
	return true;
}

/**
 * A new session, bound to its thread if it names one, with the token for its first run, and with that run's lease
 * when the body asks for it (what POST :id/lease would grant; the run's first request after the creation).
 */
export async function startSession(
	deps: SessionServiceDeps,
	body: z.output<typeof CreateSessionBody>,
) {
	const id = body.id ?? crypto.randomUUID();
	return deps.db.transaction(async (tx) => {
		const created = await createSession(tx, id, body);
		if (!created) throw conflict(`session ${id} already exists`);
		if (body.threadKey) await putThread(tx, body.threadKey, id, body.threadMetadata);
		// For the first run's time when its lease asks for the token (the run then needs no other).
		const token = await issueHookToken(deps, tx, id, body.lease?.hookToken?.ttlSeconds);
		if (!body.lease) return { ...created, ...token };
		const ttlSeconds = body.lease.ttlSeconds ?? deps.leaseTtlSeconds ?? 30;
		const lease = await acquireLease(tx, id, body.lease.owner, ttlSeconds);
		// A row created in this transaction has no holder: anything else is a fault, and nothing is kept.
		if (!lease.ok)
			throw new Error(`the new session ${id} could not take its lease (${lease.reason})`);
		return {
			...created,
			...token,
			lease: { owner: lease.owner, expiresAt: lease.expiresAt.toISOString(), ttlSeconds },
		};
	});
}

/**
 * A run's report (sent as it progresses, and at its end), in one transaction with what follows from it: the
 * denials it reports become events, a finished run ends its hook token and settles its budget reservation, and a
 * clean end settles the approvals Claude Code dropped. Answers the session as it is now.
 */
export async function recordRun(
	deps: SessionServiceDeps,
	id: string,
	runId: string,
	body: z.output<typeof RunBody>,
) {
	return deps.db.transaction(async (tx) => {
		if (!(await getSession(tx, id))) throw notFound(`no session ${id}`);
		const previous = await runStatusForUpdate(tx, id, runId);
		const s = await upsertRun(tx, id, runId, body);
		if (s === 'run-belongs-to-another-session')
			throw conflict(`run ${runId} belongs to another session`);
		// The first record of the run's end: RunFinished, after the run's tool-call events in every subscriber's queue.
		if (endsRun(previous, body.status)) await recordRunFinished(tx, id, runId, deps.outbox);
		await recordRunDenials(tx, id, runId, body.permissionDenials, deps.outbox);
		// The run is over: its hook token takes late hooks for the grace period, then none.
		if (body.status !== 'running' && body.status !== 'created')
			await endHookTokens(tx, id, deps.hookTokens.graceMs);
		if (body.status !== 'running') await settleRun(tx, id, runId, body.costUsd, deps.outbox);
		// A clean end says which deferred call, if any, the next run carries; no other can still be approved.
		if (
			body.status === 'completed' ||
			(body.status === 'waiting_approval' && body.deferredToolUseId)
		) {
			await settleDroppedCalls(tx, id, body.deferredToolUseId, deps.outbox);
		}
		// A stopped run's claude fired SessionEnd while the session was still running: "Session finished" gets the
		// service's own SessionEnd too, with the status `stopped` and the run's cost.
		if (body.status === 'stopped') {
			const stop = await latestStop(tx, id);
			const stoppedBy = stop
				? { requestedBy: stop.requestedBy, channel: stop.channel, requestedAt: stop.requestedAt }
				: null;
			await recordServiceEvent(
				tx,
				id,
				'SessionEnd',
				{ reason: 'stopped', run_id: runId, stopped_by: stoppedBy },
				deps.outbox,
			);
		}
		return s;
	});
}
