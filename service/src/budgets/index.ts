import type { Router } from 'express';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { budgetsRouter } from './budgets.router';
import { applyEnvironmentBudgets, type EnvironmentBudgets } from './environment-budgets';

export { settleRun } from './reservations';

export interface BudgetOptions {
	environment: EnvironmentBudgets;
	defaultReserveUsd: number;
	/** The clock budget periods are read from (tests move it across a UTC midnight). */
	now?: () => Date;
}

/** Budgets as the service wires them in: the routes, and the budgets the environment asks for. */
export function createBudgets(db: Database, auth: Auth, opts: BudgetOptions) {
	const now = opts.now ?? (() => new Date());
	const routers: Record<string, Router> = { budgets: budgetsRouter({ db, auth, now, defaultReserveUsd: opts.defaultReserveUsd }) };
	return {
		routers,
		start: () => applyEnvironmentBudgets(db, opts.environment),
	};
}
