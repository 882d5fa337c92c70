import { budgetMetricsText } from '../budgets/budget-metrics';
import type { Database } from '../db';
import { countSessionsByStatus } from '../sessions/session-list.repository';
import type { Metrics } from './metrics';

/** GET /metrics: the process's counters, sessions by status, and where the money went. */
export async function metricsReport(
	deps: { db: Database; metrics: Metrics; hookQueueDepth: number },
	now: Date,
): Promise<string> {
	const byStatus = await countSessionsByStatus(deps.db);
	const money = await budgetMetricsText(deps.db, now);
	return (
		deps.metrics.render(
			{ orchestrator_hook_queue_depth: deps.hookQueueDepth },
			{ orchestrator_sessions: byStatus.map((r) => [`status="${r.status}"`, r.n]) },
		) + money
	);
}
