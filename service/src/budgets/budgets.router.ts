import { Router } from 'express';
import type { Database } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import type { Auth } from '../http/auth';
import { notFound } from '../http/errors';
import { parse } from '../http/validate';
import { budgetStatus } from './budget-status';
import { costReport } from './cost-report';
import { deleteBudget, getBudget, listBudgets, putBudget } from './budgets.repository';
import {
	BudgetParams,
	CostsQuery,
	PutBudgetBody,
	RenewBody,
	ReservationParams,
	ReserveBody,
} from './budgets.schema';
import { release, renew, reserveForRun } from './reservations';

export interface BudgetRouterDeps {
	db: Database;
	auth: Auth;
	outbox: KnownSubscriptions;
	now: () => Date;
	/** What a run reserves when it asks for no particular amount (the node has no Max Budget set). */
	defaultReserveUsd: number;
}

export function budgetsRouter(deps: BudgetRouterDeps): Router {
	const { db, auth, now } = deps;
	const r = Router();

	r.get('/', auth.requireReader, async (_req, res) => {
		const at = now();
		const items = [];
		for (const b of await listBudgets(db)) items.push(await budgetStatus(db, b, at));
		res.json({ items, now: at.toISOString() });
	});

	// Overlapping budgets are allowed and all apply; the same scope, value and period is one budget (changed here).
	r.put('/', auth.requireAdmin, async (req, res) => {
		const body = parse(PutBudgetBody, req.body, 'budget');
		const { budget, created } = await putBudget(db, body);
		res.status(created ? 201 : 200).json(await budgetStatus(db, budget, now()));
	});

	// Reservations: the runner's side of a budget (nodes/shared/session/budget.ts).
	r.post('/reservations', auth.requireAdmin, async (req, res) => {
		const body = parse(ReserveBody, req.body, 'reservation');
		const result = await reserveForRun(db, body, deps);
		if (!result) throw notFound(`no session ${body.sessionId}`);
		res.status(result.granted ? 201 : 200).json(result);
	});

	r.post('/reservations/:runId/renew', auth.requireAdmin, async (req, res) => {
		const { runId } = parse(ReservationParams, req.params, 'path');
		const { ttlSeconds } = parse(RenewBody, req.body ?? {}, 'renewal');
		if (!(await renew(db, runId, ttlSeconds, now())))
			throw notFound(`no held reservation for run ${runId} (settled, released or expired)`);
		res.status(204).end();
	});

	r.delete('/reservations/:runId', auth.requireAdmin, async (req, res) => {
		const { runId } = parse(ReservationParams, req.params, 'path');
		await release(db, runId, now());
		res.status(204).end();
	});

	// Where the money went (the dashboard's budgets page): cost per UTC day by repository and by model, top sessions.
	r.get('/costs', auth.requireReader, async (req, res) => {
		const q = parse(CostsQuery, req.query, 'query');
		res.json(await costReport(db, now(), q.days, q.top));
	});

	r.get('/:id', auth.requireReader, async (req, res) => {
		const { id } = parse(BudgetParams, req.params, 'path');
		const b = await getBudget(db, id);
		if (!b) throw notFound(`no budget ${id}`);
		res.json(await budgetStatus(db, b, now()));
	});

	r.delete('/:id', auth.requireAdmin, async (req, res) => {
		const { id } = parse(BudgetParams, req.params, 'path');
		if (!(await deleteBudget(db, id))) throw notFound(`no budget ${id}`);
		res.status(204).end();
	});

	return r;
}
