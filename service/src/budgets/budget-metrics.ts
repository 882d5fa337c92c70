import type { Queryable } from '../db';
import { budgetStatus } from './budget-status';
import { listBudgets } from './budgets.repository';

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * /metrics lines for where the money went: reported cost by model and repository (from each run's per-model
 * usage; a run without one counts under its session's model), and each budget's limit, spent and remaining.
 */
export async function budgetMetricsText(db: Queryable, now: Date): Promise<string> {
	const { rows } = await db.query<{ repository: string; model: string; cost: number }>(
		`SELECT repository, model, sum(cost)::float8 AS cost FROM (
			SELECT COALESCE(s.repository, '') AS repository, m.key AS model,
				CASE WHEN jsonb_typeof(m.value->'costUSD') = 'number' THEN (m.value->>'costUSD')::float8 ELSE 0 END AS cost
			FROM session_runs r JOIN sessions s ON s.id = r.session_id
			CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(r.model_usage) = 'object' THEN r.model_usage ELSE '{}'::jsonb END) m
			UNION ALL
			SELECT COALESCE(s.repository, ''), COALESCE(s.model, 'unknown'), r.cost_usd
			FROM session_runs r JOIN sessions s ON s.id = r.session_id
			WHERE r.cost_usd > 0 AND (jsonb_typeof(r.model_usage) IS DISTINCT FROM 'object' OR r.model_usage = '{}'::jsonb)
		) c GROUP BY repository, model ORDER BY repository, model`,
	);
	const lines = [
		'# HELP orchestrator_cost_usd_total Reported cost of Claude runs in US dollars, by model and repository.',
		'# TYPE orchestrator_cost_usd_total counter',
	];
	for (const r of rows)
		lines.push(
			`orchestrator_cost_usd_total{model="${label(r.model)}",repository="${label(r.repository)}"} ${Number(r.cost)}`,
		);
	const gauges: Record<string, string[]> = { limit: [], spent: [], remaining: [] };
	for (const b of await listBudgets(db)) {
		const s = await budgetStatus(db, b, now);
		if (s.each) continue;
		const labels = `budget="${b.id}",name="${label(b.name ?? '')}",scope="${b.scope}",scope_value="${label(b.scopeValue ?? '')}",period="${b.period}"`;
		gauges.limit.push(`orchestrator_budget_limit_usd{${labels}} ${b.limitUsd}`);
		gauges.spent.push(`orchestrator_budget_spent_usd{${labels}} ${s.spentUsd}`);
		gauges.remaining.push(`orchestrator_budget_remaining_usd{${labels}} ${s.remainingUsd}`);
	}
	for (const [what, values] of Object.entries(gauges)) {
		lines.push(
			`# HELP orchestrator_budget_${what}_usd Each budget's ${what} amount in its current period (per-each budgets are left out).`,
		);
		lines.push(`# TYPE orchestrator_budget_${what}_usd gauge`, ...values);
	}
	return lines.join('\n') + '\n';
}
