import crypto from 'node:crypto';
import type { Queryable } from '../db';
import type { BudgetScope, PutBudget } from './budgets.schema';
import { PERIOD_WORDS, periodWindow, type BudgetPeriod } from './periods';

export interface Budget {
	id: string;
	name: string | null;
	scope: BudgetScope;
	scopeValue: string | null;
	period: BudgetPeriod;
	limitUsd: number;
	warningPercent: number;
	source: 'api' | 'environment';
	createdAt: string;
	updatedAt: string;
}

const COLUMNS =
	'id, name, scope, scope_value, period, limit_usd, warning_percent, source, created_at, updated_at';

const toBudget = (r: Record<string, any>): Budget => ({
	id: r.id,
	name: r.name,
	scope: r.scope,
	scopeValue: r.scope_value,
	period: r.period,
	limitUsd: Number(r.limit_usd),
	warningPercent: Number(r.warning_percent),
	source: r.source,
	createdAt: new Date(r.created_at).toISOString(),
	updatedAt: new Date(r.updated_at).toISOString(),
});

/** Creates the budget, or changes the one with the same scope, value and period. */
export async function putBudget(
	db: Queryable,
	b: PutBudget,
	source: Budget['source'] = 'api',
	id: string = crypto.randomUUID(),
) {
	const { rows } = await db.query(
		`INSERT INTO budgets (id, name, scope, scope_value, period, limit_usd, warning_percent, source)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (scope, COALESCE(scope_value, ''), period) DO UPDATE SET name = EXCLUDED.name, limit_usd = EXCLUDED.limit_usd,
			warning_percent = EXCLUDED.warning_percent, source = EXCLUDED.source, updated_at = now()
		RETURNING ${COLUMNS}, (xmax = 0) AS inserted`,
		[
			id,
			b.name ?? null,
			b.scope,
			b.scopeValue ?? null,
			b.period,
			b.limitUsd,
			b.warningPercent,
			source,
		],
	);
	return { budget: toBudget(rows[0]), created: Boolean(rows[0].inserted) };
}

export async function listBudgets(db: Queryable): Promise<Budget[]> {
	const { rows } = await db.query(
		`SELECT ${COLUMNS} FROM budgets ORDER BY scope, scope_value NULLS FIRST, period, id`,
	);
	return rows.map(toBudget);
}

export async function getBudget(db: Queryable, id: string): Promise<Budget | undefined> {
	const { rows } = await db.query(`SELECT ${COLUMNS} FROM budgets WHERE id = $1`, [id]);
	return rows[0] ? toBudget(rows[0]) : undefined;
}

export async function deleteBudget(db: Queryable, id: string): Promise<boolean> {
	return (await db.query('DELETE FROM budgets WHERE id = $1', [id])).rowCount > 0;
}

/**
 * Records that the budget's alert at `level` went out for this target, period and session; false when it had
 * already (an alert fires once however often a run is re-recorded).
 */
export async function markBudgetAlert(
	tx: Queryable,
	budgetId: string,
	target: string,
	periodStart: Date,
	level: 'warning' | 'reached',
	sessionId: string,
): Promise<boolean> {
	const fresh = await tx.query(
		`INSERT INTO budget_alerts (budget_id, target, period_start, level, session_id) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`,
		[budgetId, target, periodStart, level, sessionId],
	);
	return fresh.rowCount > 0;
}

export interface SessionScope {
	id: string;
	repository: string | null;
	threadKey: string | null;
}

/** Which repository / thread / session of the budget a session falls under; undefined when it does not. */
export function targetOf(
	b: Pick<Budget, 'scope' | 'scopeValue'>,
	s: SessionScope,
): string | undefined {
	const own =
		b.scope === 'all'
			? ''
			: b.scope === 'repository'
				? s.repository
				: b.scope === 'thread'
					? s.threadKey
					: s.id;
	if (own === null) return undefined;
	if (b.scopeValue !== null && b.scopeValue !== own) return undefined;
	return own;
}

export async function sessionScope(
	db: Queryable,
	sessionId: string,
): Promise<SessionScope | undefined> {
	const { rows } = await db.query<{
		id: string;
		repository: string | null;
		thread_key: string | null;
	}>('SELECT id, repository, thread_key FROM sessions WHERE id = $1', [sessionId]);
	return (
		rows[0] && { id: rows[0].id, repository: rows[0].repository, threadKey: rows[0].thread_key }
	);
}

/** The budgets that apply to a session, locked (FOR UPDATE) when `lock`: reservations against them queue here. */
export async function budgetsFor(
	db: Queryable,
	s: SessionScope,
	lock: boolean,
): Promise<Array<{ budget: Budget; target: string }>> {
	const { rows } = await db.query(
		`SELECT ${COLUMNS} FROM budgets
		WHERE scope = 'all'
			OR (scope = 'repository' AND $2::text IS NOT NULL AND COALESCE(scope_value, $2) = $2)
			OR (scope = 'thread' AND $3::text IS NOT NULL AND COALESCE(scope_value, $3) = $3)
			OR (scope = 'session' AND COALESCE(scope_value, $1) = $1)
		ORDER BY id ${lock ? 'FOR UPDATE' : ''}`,
		[s.id, s.repository, s.threadKey],
	);
	return rows.map(toBudget).flatMap((budget) => {
		const target = targetOf(budget, s);
		return target === undefined ? [] : [{ budget, target }];
	});
}

/** The sum of the reported costs of the runs under this budget and target that started in the period. */
export async function spentIn(
	db: Queryable,
	scope: BudgetScope,
	target: string,
	since: Date,
	until?: Date,
): Promise<number> {
	const { rows } = await db.query<{ spent: number }>(
		`SELECT COALESCE(sum(r.cost_usd), 0)::float8 AS spent FROM session_runs r JOIN sessions s ON s.id = r.session_id
		WHERE r.started_at >= $3 AND ($4::timestamptz IS NULL OR r.started_at < $4) AND CASE $1::text
			WHEN 'all' THEN true
			WHEN 'repository' THEN s.repository = $2
			WHEN 'thread' THEN s.thread_key = $2
			ELSE s.id::text = $2 END`,
		[scope, target, since, until ?? null],
	);
	return Number(rows[0].spent);
}

/**
 * Spent and held together, read in one statement: one snapshot, so a run settling in between (its hold gone,
 * its cost recorded, in one transaction) is seen either before or after, never as neither.
 */
export async function standing(
	db: Queryable,
	b: Pick<Budget, 'id' | 'scope'>,
	target: string,
	since: Date,
	now: Date,
	exceptRun?: string,
) {
	const { rows } = await db.query<{ spent: number; held: number; runs: number }>(
		`SELECT
			(SELECT COALESCE(sum(r.cost_usd), 0)::float8 FROM session_runs r JOIN sessions s ON s.id = r.session_id
				WHERE r.started_at >= $4 AND CASE $2::text
					WHEN 'all' THEN true
					WHEN 'repository' THEN s.repository = $3
					WHEN 'thread' THEN s.thread_key = $3
					ELSE s.id::text = $3 END) AS spent,
			h.held, h.runs
		FROM (SELECT COALESCE(sum(h.amount_usd), 0)::float8 AS held, count(*)::int AS runs FROM budget_holds h
			JOIN budget_reservations v ON v.run_id = h.run_id
			WHERE h.budget_id = $1 AND h.target = $3 AND h.period_start = $4 AND v.status = 'held' AND v.expires_at > $5
				AND ($6::uuid IS NULL OR v.run_id <> $6)) h`,
		[b.id, b.scope, target, since, now, exceptRun ?? null],
	);
	return { spent: Number(rows[0].spent), held: Number(rows[0].held), runs: rows[0].runs };
}

export function describeBudget(
	b: Pick<Budget, 'name' | 'scope' | 'scopeValue' | 'period'>,
	target: string,
): string {
	if (b.name) return `"${b.name}"`;
	const period =
		b.period === 'lifetime' ? '' : b.period === 'day' ? ' per UTC day' : ' per UTC month';
	const whose =
		b.scope === 'all'
			? 'all sessions'
			: b.scope === 'repository'
				? `repository ${target}`
				: b.scope === 'thread'
					? `thread ${target}`
					: `session ${target}`;
	const each = b.scopeValue === null && b.scope !== 'all' ? ` (each ${b.scope})` : '';
	return `the budget for ${whose}${each}${period}`;
}

export const usdText = (n: number) => `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;

/** "…: $0.0838 of $0.07 spent today (UTC); it resets at 2026-12-07T00:00:00.000Z." */
export function spentSentence(b: Budget, target: string, spent: number, now: Date): string {
	const { resetsAt } = periodWindow(b.period, now);
	const resets = resetsAt
		? `it resets at ${resetsAt.toISOString()}`
		: 'it does not reset (lifetime budget); raise its limit to continue';
	return `${describeBudget(b, target)}: ${usdText(spent)} of ${usdText(b.limitUsd)} spent ${PERIOD_WORDS[b.period]}; ${resets}.`;
}

/** Removes the budget an environment variable made for this rule (one made through the API stays). */
export async function deleteEnvironmentBudget(
	db: Queryable,
	scope: BudgetScope,
	period: BudgetPeriod,
): Promise<void> {
	await db.query(
		`DELETE FROM budgets WHERE source = 'environment' AND scope = $1 AND scope_value IS NULL AND period = $2`,
		[scope, period],
	);
}
