import type { z } from 'zod';
import type { Database, Queryable } from '../db';
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
import type { ReserveBody } from './budgets.schema';
import { periodWindow } from './periods';
import {
	extendReservation,
	findReservation,
	holdReservation,
	refuseReservation,
	releaseReservation,
	renewReservation,
	settleReservation,
} from './reservations.repository';
import { runStartedAt } from '../sessions/sessions.repository';

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

/** What the reservations route needs beside the request: the amount a run gets when it asks for none, and the clock. */
export interface ReserveDeps {
	defaultReserveUsd: number;
	now: () => Date;
	outbox?: KnownSubscriptions;
}

/** A run's reservation request, in its own transaction (POST /budgets/reservations, or with the run's lease). */
export function reserveForRun(
	db: Database,
	body: z.output<typeof ReserveBody>,
	deps: ReserveDeps,
): Promise<Reservation | undefined> {
	return db.transaction((tx) =>
		reserve(tx, {
			...body,
			requestUsd: body.requestUsd ?? deps.defaultReserveUsd,
			now: deps.now(),
			outbox: deps.outbox,
		}),
	);
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
	const existing = await findReservation(tx, runId, sessionId);
	const applicable = await budgetsFor(tx, scope, true);
	const expiresAt = new Date(now.getTime() + input.ttlSeconds * 1000);
	if (existing?.status === 'held') {
		// A retried request: the run keeps what it was granted.
		await extendReservation(tx, runId, expiresAt);
		return {
			granted: true,
			runId,
			capUsd: existing.cap_usd,
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
			await refuseReservation(tx, { runId, sessionId, message, budgetId: budget.id, now });
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
	await holdReservation(
		tx,
		{ runId, sessionId, capUsd, now, expiresAt },
		grants.map((g) => ({ budgetId: g.budget.id, target: g.target, periodStart: g.start })),
	);
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
	return renewReservation(db, runId, new Date(now.getTime() + ttlSeconds * 1000), now);
}

/** Gives the held amount back without a cost (the run never started claude). */
export async function release(db: Queryable, runId: string, now: Date): Promise<boolean> {
	return releaseReservation(db, runId, now);
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
	await settleReservation(tx, runId, costUsd);
	if (!(costUsd > 0)) return;
	const scope = await sessionScope(tx, sessionId);
	if (!scope) return;
	const at = (await runStartedAt(tx, runId)) ?? new Date();
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
