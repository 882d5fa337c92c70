import { z } from 'zod';
import { storableText, uuidParam } from '../http/validate';
import { BUDGET_PERIODS } from './periods';

export const BUDGET_SCOPES = ['all', 'repository', 'thread', 'session'] as const;
export type BudgetScope = (typeof BUDGET_SCOPES)[number];

// A million dollars is far past any plan; a limit above it is a typo (cents for dollars, an extra zero run).
export const MAX_LIMIT_USD = 1_000_000;

const usd = (what: string) =>
	z
		.number({ message: `${what} is a number of US dollars` })
		.finite(`${what} must be a finite number`)
		.positive(`${what} must be more than 0`)
		.max(
			MAX_LIMIT_USD,
			`${what} above $${MAX_LIMIT_USD.toLocaleString('en')} is not accepted; is it in dollars?`,
		);

export const PutBudgetBody = z
	.object({
		name: storableText(200).optional(),
		scope: z.enum(BUDGET_SCOPES, { message: `scope is one of ${BUDGET_SCOPES.join(', ')}` }),
		/** The repository (owner/name), thread key or session id; absent = each one separately. */
		scopeValue: storableText(512).optional(),
		period: z
			.enum(BUDGET_PERIODS, { message: `period is one of ${BUDGET_PERIODS.join(', ')}` })
			.default('lifetime'),
		limitUsd: usd('limitUsd'),
		warningPercent: z
			.number()
			.finite()
			.gt(0, 'warningPercent is between 0 and 100')
			.max(100, 'warningPercent is between 0 and 100')
			.default(80),
	})
	.strict()
	.superRefine((b, ctx) => {
		if (b.scope === 'all' && b.scopeValue !== undefined) {
			ctx.addIssue({
				code: 'custom',
				path: ['scopeValue'],
				message: 'scope "all" takes no scopeValue',
			});
		}
		if (
			b.scope === 'session' &&
			b.scopeValue !== undefined &&
			!uuidParam.safeParse(b.scopeValue).success
		) {
			ctx.addIssue({
				code: 'custom',
				path: ['scopeValue'],
				message: 'with scope "session", scopeValue is a session uuid',
			});
		}
		if (b.scopeValue !== undefined && b.scopeValue.trim() === '') {
			ctx.addIssue({
				code: 'custom',
				path: ['scopeValue'],
				message: 'scopeValue is empty: leave it out to mean each one separately',
			});
		}
	});
export type PutBudget = z.output<typeof PutBudgetBody>;

export const BudgetParams = z.object({ id: z.string().uuid('must be a budget uuid') });

export const ReserveBody = z
	.object({
		sessionId: uuidParam,
		runId: uuidParam,
		/** What the run would like to be able to spend (the node's Max Budget); absent = the service's default. */
		requestUsd: usd('requestUsd').optional(),
		ttlSeconds: z.number().int().min(5).max(3600).default(120),
	})
	.strict();

export const ReservationParams = z.object({ runId: uuidParam });
export const RenewBody = z
	.object({ ttlSeconds: z.number().int().min(5).max(3600).default(120) })
	.strict();

export const CostsQuery = z.object({
	days: z.coerce.number().int().min(1, 'days is 1 to 366').max(366, 'days is 1 to 366').default(30),
	top: z.coerce.number().int().min(1, 'top is 1 to 100').max(100, 'top is 1 to 100').default(10),
});
