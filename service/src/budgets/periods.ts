export const BUDGET_PERIODS = ['lifetime', 'day', 'month'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

export interface PeriodWindow {
	start: Date;
	/** When the period ends and spending counts from zero again; null for a lifetime budget. */
	resetsAt: Date | null;
}

/** The period containing `now`, in UTC: budgets reset at UTC midnight, whatever the server's time zone. */
export function periodWindow(period: BudgetPeriod, now: Date): PeriodWindow {
	const y = now.getUTCFullYear();
	const m = now.getUTCMonth();
	const d = now.getUTCDate();
	switch (period) {
		case 'lifetime':
			return { start: new Date(0), resetsAt: null };
		case 'day':
			return { start: new Date(Date.UTC(y, m, d)), resetsAt: new Date(Date.UTC(y, m, d + 1)) };
		case 'month':
			return { start: new Date(Date.UTC(y, m, 1)), resetsAt: new Date(Date.UTC(y, m + 1, 1)) };
	}
}

export const PERIOD_WORDS: Record<BudgetPeriod, string> = {
	lifetime: 'in all',
	day: 'today (UTC)',
	month: 'this month (UTC)',
};
