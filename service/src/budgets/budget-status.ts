import type { Queryable } from '../db';
import { standing, type Budget } from './budgets.repository';
import { periodWindow } from './periods';
import { countRefused } from './reservations.repository';

export interface BudgetStatus extends Budget {
	/** The rule applies to each repository / thread / session separately (no single spent figure). */
	each: boolean;
	periodStart: string | null;
	resetsAt: string | null;
	spentUsd: number | null;
	heldUsd: number | null;
	remainingUsd: number | null;
	runningRuns: number;
	/** Runs this budget refused to start in the current period. */
	heldBackRuns: number;
}

/** A budget with where it stands now: spent against its limit in the current period, what running runs hold. */
export async function budgetStatus(db: Queryable, b: Budget, now: Date): Promise<BudgetStatus> {
	const { start, resetsAt } = periodWindow(b.period, now);
	const each = b.scope !== 'all' && b.scopeValue === null;
	const base = {
		...b,
		each,
		periodStart: b.period === 'lifetime' ? null : start.toISOString(),
		resetsAt: resetsAt?.toISOString() ?? null,
		heldBackRuns: await countRefused(db, b.id, start),
	};
	if (each) return { ...base, spentUsd: null, heldUsd: null, remainingUsd: null, runningRuns: 0 };
	const target = b.scopeValue ?? '';
	const { spent, held, runs } = await standing(db, b, target, start, now);
	return {
		...base,
		spentUsd: round(spent),
		heldUsd: round(held),
		remainingUsd: round(Math.max(0, b.limitUsd - spent)),
		runningRuns: runs,
	};
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;
