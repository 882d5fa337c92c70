import { Router } from 'express';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { getOne } from '../http/get-one';
import { conflict, notFound } from '../http/errors';
import {
	cursorId,
	cursorTime,
	decodeCursor,
	encodeCursor,
	pageBody,
	PageQuery,
	parse,
	SessionParams,
} from '../http/validate';
import { z } from 'zod';
import { listHookEvents } from '../hooks/hooks.repository';
import { insertMessages, listMessages } from '../messages/messages.repository';
import {
	LeaseBody,
	PostMessagesBody,
	PostToolCallsBody,
	type LeaseGrant,
} from '../../../nodes/shared/protocol';
import { listToolCalls } from '../tool-calls/tool-calls.repository';
import { recordStreamToolCalls } from '../tool-calls/tool-calls.service';
import type { KnownSubscriptions } from '../deliveries/outbox';
import {
	acquireLease,
	getSession,
	getSessionDetail,
	listRuns,
	releaseLease,
	updateSession,
} from './sessions.repository';
import { listSessions } from './session-list.repository';
import { issueHookToken, recordRun, revokeHookTokens, startSession } from './sessions.service';
import { notifyRunSignal } from './run-signals';
import { prepareRunStart, runStartReservation } from './run-start';
import { announceWaiting, takeMessages } from '../queued-messages/queued-messages.repository';
import { getPolicy } from '../approvals/approvals.repository';
import { stopFor } from './stops.repository';
import { searchSessions } from './session-search';
import {
	CreateSessionBody,
	ListSessionsQuery,
	RunBody,
	RunParams,
	SearchCursor,
	SessionCursor,
	UpdateSessionBody,
} from './sessions.schema';

const IdCursor = z.object({ after: cursorId });
const ToolCallCursor = z.object({ t: cursorTime, id: cursorId });
const LeaseQuery = z.object({ owner: z.string().min(1).max(200) });

const HookTokenBody = z
	.object({
		// The node asks for its run's timeout; the grace period for late hooks comes on top.
		ttlSeconds: z
			.number()
			.int()
			.min(60)
			.max(7 * 24 * 3600)
			.optional(),
	})
	.strict();

export interface SessionsDeps {
	db: Database;
	auth: Auth;
	toolOutputMaxBytes: number;
	hookTokens: { ttlMs: number; graceMs: number };
	readPageMaxBytes: number;
	leaseTtlSeconds?: number;
	/** Signals the deliveries a run's events queue. */
	outbox: KnownSubscriptions;
	/** For a budget reservation asked for with a lease: the clock, and what a run gets when it asks for no amount. */
	now: () => Date;
	defaultReserveUsd: number;
}

export function sessionsRouter(deps: SessionsDeps): Router {
	const { db, auth } = deps;
	const r = Router();

	const requireSession = async (id: string) => {
		const s = await getSession(db, id);
		if (!s) throw notFound(`no session ${id}`);
		return s;
	};
	/** Pages over rows with increasing ids: the cursor is the last id seen. */
	const idPage = (query: unknown) => {
		const q = parse(PageQuery, query, 'query');
		return { limit: q.limit, after: decodeCursor(IdCursor, q.cursor)?.after ?? 0 };
	};
	const pageOf = <T extends { id: number }>({ items, more }: { items: T[]; more: boolean }) => ({
		items,
		nextCursor: more ? encodeCursor({ after: items[items.length - 1].id }) : null,
	});

	r.post('/', auth.requireAdmin, async (req, res) => {
		const body = parse(CreateSessionBody, req.body, 'session');
		const reservation = body.lease && runStartReservation(body.lease);
		const created = await startSession(deps, body);
		if (!('lease' in created) || !body.lease) return void res.status(201).json(created);
		// The token was issued with the session (for the run's time when its lease asked for it); the reservation
		// follows in its own transaction, as when the run asked for it after the creation.
		const { hookToken, hookTokenExpiresAt } = created;
		res.status(201).json({
			...created,
			lease: {
				...created.lease,
				...(body.lease.hookToken && hookToken && hookTokenExpiresAt
					? { hookToken: { hookToken, hookTokenExpiresAt } }
					: {}),
				...(await prepareRunStart(deps, created.id, {}, reservation)),
			},
		});
	});

	r.get('/', auth.requireReader, async (req, res) => {
		const q = parse(ListSessionsQuery, req.query, 'query');
		const page = q.search
			? await searchSessions(db, {
					...q,
					search: q.search,
					after: decodeCursor(SearchCursor, q.cursor),
				})
			: await listSessions(db, {
					...q,
					after: decodeCursor(SessionCursor, q.cursor),
					maxBytes: deps.readPageMaxBytes,
				});
		res.json(pageBody(page));
	});

	getOne(r, auth.requireReader, SessionParams, 'session', (id) => getSessionDetail(db, id));

	r.patch('/:id', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const body = parse(UpdateSessionBody, req.body, 'session update');
		const s = await updateSession(db, id, body);
		if (!s) throw notFound(`no session ${id}`);
		res.json(s);
	});

	// A token for one run (Start and Resume each ask): valid for ttlSeconds plus the grace period, or until the
	// run's end is recorded plus the grace period; the session's earlier tokens stop working.
	r.post('/:id/hook-token', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const { ttlSeconds } = parse(HookTokenBody, req.body ?? {}, 'hook token request');
		const issued = await issueHookToken(deps, db, id, ttlSeconds);
		if (!issued) throw notFound(`no session ${id}`);
		res.json(issued);
	});

	// Every hook token of the session stops working (within a second on every replica).
	r.delete('/:id/hook-token', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		if (!(await revokeHookTokens(deps, id))) throw notFound(`no session ${id}`);
		res.status(204).end();
	});

	// A run's claim on the session: 409 while another run holds it (the caller waits and retries, bounded).
	// The holder renews it well within ttlSeconds (LEASE_TTL unless the caller asks otherwise); past that it expires.
	r.post('/:id/lease', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const body = parse(LeaseBody, req.body, 'lease');
		const ttlSeconds = body.ttlSeconds ?? deps.leaseTtlSeconds ?? 30;
		const reservation = runStartReservation(body);
		const { takeQueued } = body;
		// With takeQueued, the replies are taken in the lease's own transaction: granted means taken, refused means
		// nothing was (the run's next request would otherwise be the take).
		const claimed = takeQueued
			? await db.transaction(async (tx) => {
					const lease = await acquireLease(tx, id, body.owner, ttlSeconds);
					if (!lease.ok) return { lease };
					const taken = await takeMessages(
						tx,
						id,
						body.owner,
						takeQueued.runId,
						takeQueued.maxBytes,
					);
					if (!taken.ok)
						throw new Error(`lease on ${id} granted but the take found ${taken.reason}`);
					return { lease, taken: { items: taken.messages } };
				})
			: { lease: await acquireLease(db, id, body.owner, ttlSeconds) };
		const { lease } = claimed;
		if (lease.ok) {
			// A renewal also tells the holder of a stop asked of it (its long poll on GET :id/stop normally did already).
			const [stop, policy, runStart] = await Promise.all([
				stopFor(db, id, body.owner),
				body.withApprovalPolicy ? getPolicy(db, id) : undefined,
				prepareRunStart(deps, id, body, reservation),
			]);
			const grant = {
				owner: lease.owner,
				expiresAt: lease.expiresAt.toISOString(),
				ttlSeconds,
				stop: stop ?? null,
				...('taken' in claimed ? { taken: claimed.taken } : {}),
				...(body.withApprovalPolicy ? { approvalPolicy: Boolean(policy?.policy) } : {}),
				...runStart,
			} satisfies LeaseGrant;
			return void res.json(grant);
		}
		if (lease.reason === 'not-found') throw notFound(`no session ${id}`);
		throw conflict(
			`session ${id} is busy: another run (${lease.owner}) holds it until ${lease.expiresAt.toISOString()}`,
		);
	});

	r.delete('/:id/lease', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const { owner } = parse(LeaseQuery, req.query, 'query');
		await db.transaction(async (tx) => {
			// Whoever waits on this run (a stop request with waitSeconds, the runner's own long poll) hears it ended.
			if (await releaseLease(tx, id, owner)) {
				await notifyRunSignal(tx, { kind: 'released', sessionId: id, owner });
				// Replies queued during the turn: Reply Queued tells a workflow to take them.
				await announceWaiting(tx, id, owner, deps.outbox);
			}
		});
		res.status(204).end();
	});

	r.get('/:id/runs', auth.requireReader, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		await requireSession(id);
		res.json({ items: await listRuns(db, id) });
	});

	r.put('/:id/runs/:runId', auth.requireAdmin, async (req, res) => {
		const { id, runId } = parse(RunParams, req.params, 'path');
		const body = parse(RunBody, req.body, 'run');
		const session = await recordRun(deps, id, runId, body);
		res.json(session);
	});

	r.get('/:id/messages', auth.requireReader, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const { limit, after } = idPage(req.query);
		await requireSession(id);
		res.json(pageOf(await listMessages(db, id, limit, after, deps.readPageMaxBytes)));
	});

	r.post('/:id/messages', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const { messages } = parse(PostMessagesBody, req.body, 'messages');
		await requireSession(id);
		const stored = await db.transaction((tx) => insertMessages(tx, id, messages));
		res.status(201).json({ stored, duplicates: messages.length - stored });
	});

	r.get('/:id/logs', auth.requireReader, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const q = parse(PageQuery, req.query, 'query');
		await requireSession(id);
		const calls = await listToolCalls(
			db,
			id,
			q.limit,
			decodeCursor(ToolCallCursor, q.cursor),
			deps.readPageMaxBytes,
		);
		const last = calls.items[calls.items.length - 1];
		res.json({
			items: calls.items.map(({ cursor: _cursor, ...call }) => call),
			nextCursor: calls.more && last ? encodeCursor(last.cursor) : null,
		});
	});

	r.post('/:id/tool-calls', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const { toolCalls } = parse(PostToolCallsBody, req.body, 'tool calls');
		await requireSession(id);
		const stored = await recordStreamToolCalls(db, id, toolCalls, deps.toolOutputMaxBytes);
		res.status(200).json({ stored });
	});

	r.get('/:id/events', auth.requireReader, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const { limit, after } = idPage(req.query);
		await requireSession(id);
		res.json(pageOf(await listHookEvents(db, id, limit, after, deps.readPageMaxBytes)));
	});

	return r;
}
