import type { Queryable } from '../db';
import type { BudgetScope } from './budgets.schema';
import { deleteEnvironmentBudget, putBudget } from './budgets.repository';
import type { BudgetPeriod } from './periods';

export interface EnvironmentBudgets {
	sessionUsd?: number;
	threadUsd?: number;
	dayUsd?: number;
	monthUsd?: number;
}

const RULES: Array<{
	key: keyof EnvironmentBudgets;
	variable: string;
	scope: BudgetScope;
	period: BudgetPeriod;
}> = [
	{ key: 'sessionUsd', variable: 'BUDGET_SESSION_USD', scope: 'session', period: 'lifetime' },
	{ key: 'threadUsd', variable: 'BUDGET_THREAD_USD', scope: 'thread', period: 'lifetime' },
	{ key: 'dayUsd', variable: 'BUDGET_DAY_USD', scope: 'all', period: 'day' },
	{ key: 'monthUsd', variable: 'BUDGET_MONTH_USD', scope: 'all', period: 'month' },
];

/**
 * The common budgets come from the environment and are written at every start: a variable that is set makes
 * (or changes) its budget, one that is no longer set removes the budget it made. Budgets made through the API
 * are left alone unless a variable names the same rule, which then wins.
 */
export async function applyEnvironmentBudgets(
	db: Queryable,
	env: EnvironmentBudgets,
): Promise<void> {
	for (const rule of RULES) {
		const limit = env[rule.key];
		if (limit === undefined) {
			await deleteEnvironmentBudget(db, rule.scope, rule.period);
		} else {
			await putBudget(
				db,
				{
					name: rule.variable,
					scope: rule.scope,
					period: rule.period,
					limitUsd: limit,
					warningPercent: 80,
				},
				'environment',
			);
		}
	}
}
