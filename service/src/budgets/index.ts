import type { Database } from '../db';
import { applyEnvironmentBudgets, type EnvironmentBudgets } from './environment-budgets';

/** Budgets as the service starts them: the budgets the environment asks for. */
export function createBudgets(db: Database, opts: { environment: EnvironmentBudgets }) {
	return { start: () => applyEnvironmentBudgets(db, opts.environment) };
}
