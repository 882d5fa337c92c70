import type { Queryable } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import { recordBudgetAlert } from './budget-events';
import {
	budgetsFor,
	describeBudget,
	sessionScope,
	spentIn,
	spentSentence,
	standing,
	usdText,
	type Budget,
} from './budgets.repository';
import { periodWindow } from './periods';

export type Reservation =
	| {
			granted: true;
			runId: string;
			capUsd: number | null;
			expiresAt: string;
			budgets: Array<{ id: string; target: string; availableUsd: number }>;
	  }
	| {
			granted: false;
			runId: string;
			status: 'budget_exhausted';
			message: string;
			budgetId: string;
			spentUsd: number;
			limitUsd: number;
			resetsAt: string | null;
	  };

export interface ReserveInput {
	sessionId: string;
	runId: string;
	requestUsd: number;
	ttlSeconds: number;
	now: Date;
	/** Where a budget alert's deliveries are signalled. */
	outbox?: KnownSubscriptions;
}

/**
 * Sets aside what a run may spend from every budget that applies, in the caller's transaction, with the budget
 * rows locked so concurrent runs reserve one after another: together they cannot hold more than a budget has
 * left. The run's cap is the smallest amount granted; each budget holds that cap until the run is settled.
 */
export async function reserve(
	tx: Queryable,
	input: ReserveInput,
): Promise<Reservation | undefined> {
	const { sessionId, runId, now } = input;
	const scope = await sessionScope(tx, sessionId);
	if (!scope) return undefined;
	const existing = await tx.query<{ status: string; cap_usd: number | null; expires_at: Date }>(
		'SELECT status, cap_usd, expires_at FROM budget_reservations WHERE run_id = $1 AND session_id = $2',
		[runId, sessionId],
	);
	const applicable = await budgetsFor(tx, scope, true);
	const expiresAt = new Date(now.getTime() + input.ttlSeconds * 1000);
	if (existing.rows[0]?.status === 'held') {
		// A retried request: the run keeps what it was granted.
		await tx.query('UPDATE budget_reservations SET expires_at = $2 WHERE run_id = $1', [
			runId,
			expiresAt,
		]);
		return {
			granted: true,
			runId,
			capUsd: existing.rows[0].cap_usd,
			expiresAt: expiresAt.toISOString(),
			budgets: [],
		};
	}

	let cap = input.requestUsd;
	const grants: Array<{ budget: Budget; target: string; start: Date; available: number }> = [];
	for (const { budget, target } of applicable) {
		const { start, resetsAt } = periodWindow(budget.period, now);
		const { spent, held, runs } = await standing(tx, budget, target, start, now, runId);
		const available = microDollarsDown(budget.limitUsd - spent - held);
		if (available <= 0) {
			const message =
				spent >= budget.limitUsd
					? `Not started: ${spentSentence(budget, target, spent, now)}`
					: `Not started: ${describeBudget(budget, target)} has nothing left to reserve: ${usdText(spent)} spent and ${usdText(held)} held by ${runs} running run(s) of ${usdText(budget.limitUsd)}; try again when they finish${resetsAt ? ` or after ${resetsAt.toISOString()}` : ''}.`;
			await tx.query(
				`INSERT INTO budget_reservations (run_id, session_id, status, message, refused_budget_id, created_at, expires_at, ended_at)
				VALUES ($1, $2, 'refused', $3, $4, $5, $5, $5)
				ON CONFLICT (run_id) DO UPDATE SET status = 'refused', message = EXCLUDED.message, refused_budget_id = EXCLUDED.refused_budget_id, ended_at = EXCLUDED.ended_at`,
				[runId, sessionId, message, budget.id, now],
			);
			if (spent >= budget.limitUsd) {
				await recordBudgetAlert(
					tx,
					{
						level: 'reached',
						budget,
						target,
						spentUsd: spent,
						sessionId,
						threadKey: scope.threadKey,
						at: now,
					},
					input.outbox,
				);
			}
			return {
				granted: false,
				runId,
				status: 'budget_exhausted',
				message,
				budgetId: budget.id,
				spentUsd: spent,
				limitUsd: budget.limitUsd,
				resetsAt: resetsAt?.toISOString() ?? null,
			};
		}
		cap = Math.min(cap, available);
		grants.push({ budget, target, start, available });
	}
	const capUsd = grants.length ? cap : null;
	await tx.query(
		`INSERT INTO budget_reservations (run_id, session_id, status, cap_usd, created_at, expires_at) VALUES ($1, $2, 'held', $3, $4, $5)
		ON CONFLICT (run_id) DO UPDATE SET status = 'held', cap_usd = EXCLUDED.cap_usd, message = NULL, refused_budget_id = NULL,
			created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, ended_at = NULL`,
		[runId, sessionId, capUsd, now, expiresAt],
	);
	await tx.query('DELETE FROM budget_holds WHERE run_id = $1', [runId]);
	for (const g of grants) {
		await tx.query(
			'INSERT INTO budget_holds (run_id, budget_id, target, period_start, amount_usd) VALUES ($1, $2, $3, $4, $5)',
			[runId, g.budget.id, g.target, g.start, cap],
		);
	}
	return {
		granted: true,
		runId,
		capUsd,
		expiresAt: expiresAt.toISOString(),
		budgets: grants.map((g) => ({ id: g.budget.id, target: g.target, availableUsd: g.available })),
	};
}

/** Keeps a running run's reservation alive; false when it is no longer held (settled, released, or expired). */
export async function renew(
	db: Queryable,
	runId: string,
	ttlSeconds: number,
	now: Date,
): Promise<boolean> {
	const res = await db.query(
		`UPDATE budget_reservations SET expires_at = $2 WHERE run_id = $1 AND status = 'held' AND expires_at > $3`,
		[runId, new Date(now.getTime() + ttlSeconds * 1000), now],
	);
	return res.rowCount > 0;
}

/** Gives the held amount back without a cost (the run never started claude). */
export async function release(db: Queryable, runId: string, now: Date): Promise<boolean> {
	const res = await db.query(
		`UPDATE budget_reservations SET status = 'released', ended_at = $2 WHERE run_id = $1 AND status = 'held'`,
		[runId, now],
	);
	return res.rowCount > 0;
}

/**
 * Called when a run's outcome is recorded (PUT …/runs/:runId, same transaction): its reservation is settled with
 * the reported cost, the rest of what it held goes back, and a budget the cost carried past its warning level or
 * its limit fires Budget Warning or Budget Reached into the session's thread.
 */
export async function settleRun(
	tx: Queryable,
	sessionId: string,
	runId: string,
	costUsd: number,
	outbox?: KnownSubscriptions,
): Promise<void> {
	await tx.query(
		`UPDATE budget_reservations SET status = 'settled', cost_usd = $2, ended_at = now() WHERE run_id = $1 AND status = 'held'`,
		[runId, costUsd],
	);
	if (!(costUsd > 0)) return;
	const scope = await sessionScope(tx, sessionId);
	if (!scope) return;
	const { rows } = await tx.query<{ started_at: Date }>(
		'SELECT started_at FROM session_runs WHERE id = $1',
		[runId],
	);
	const at = rows[0] ? new Date(rows[0].started_at) : new Date();
	// Locked like a reservation: runs of one thread settle one after another, so exactly one of them sees its cost
	// carry the budget past a level (unlocked, two settling at once each missed the other's cost and both fired).
	for (const { budget, target } of await budgetsFor(tx, scope, true)) {
		const { start, resetsAt } = periodWindow(budget.period, at);
		const after = await spentIn(tx, budget.scope, target, start, resetsAt ?? undefined);
		const before = after - costUsd;
		const warnAt = (budget.limitUsd * budget.warningPercent) / 100;
		const alert = { budget, target, spentUsd: after, sessionId, threadKey: scope.threadKey, at };
		if (before < budget.limitUsd && after >= budget.limitUsd)
			await recordBudgetAlert(tx, { ...alert, level: 'reached' }, outbox);
		else if (before < warnAt && after >= warnAt)
			await recordBudgetAlert(tx, { ...alert, level: 'warning' }, outbox);
	}
}

// Sums of float dollars leave dust (0.1 - 0.04 - 0.04 - 0.02 is 1e-17, not 0): amounts are whole micro-dollars.
const microDollarsDown = (usd: number) => Math.floor(usd * 1e6 + 1e-6) / 1e6;
