import type { Queryable } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import { insertServiceEvents } from '../hooks/hooks.repository';
import { markBudgetAlert, spentSentence, type Budget } from './budgets.repository';
import { getThreadMetadata } from '../threads/threads.repository';
import { periodWindow } from './periods';

import { BUDGET_REACHED, BUDGET_WARNING } from '../../../nodes/shared/protocol';

export interface BudgetAlert {
	level: 'warning' | 'reached';
	budget: Budget;
	target: string;
	spentUsd: number;
	sessionId: string;
	threadKey: string | null;
	/** The time that decides the period (the run's start, or the refused attempt). */
	at: Date;
}

/**
 * Stored as the session's event with `source: "service"` and queued for Hook Trigger subscriptions in the same
 * transaction, once per budget, target, period and session (budget_alerts), however often a run is re-recorded.
 */
export async function recordBudgetAlert(
	tx: Queryable,
	a: BudgetAlert,
	outbox?: KnownSubscriptions,
): Promise<boolean> {
	const { start, resetsAt } = periodWindow(a.budget.period, a.at);
	if (!(await markBudgetAlert(tx, a.budget.id, a.target, start, a.level, a.sessionId)))
		return false;
	const eventName = a.level === 'warning' ? BUDGET_WARNING : BUDGET_REACHED;
	// How the thread is answered (for example its email reply address and Message-ID: nodes/shared/protocol/threads.ts),
	// as the workflow that continues the thread last recorded it: a mail template needs it to answer in the thread.
	const threadMetadata = a.threadKey ? await getThreadMetadata(tx, a.threadKey) : undefined;
	const sentence = spentSentence(a.budget, a.target, a.spentUsd, a.at);
	const payload = {
		session_id: a.sessionId,
		hook_event_name: eventName,
		source: 'service',
		budget_id: a.budget.id,
		budget_name: a.budget.name,
		scope: a.budget.scope,
		scope_value: a.target || null,
		period: a.budget.period,
		period_start: start.toISOString(),
		resets_at: resetsAt?.toISOString() ?? null,
		limit_usd: a.budget.limitUsd,
		warning_percent: a.budget.warningPercent,
		spent_usd: Math.round(a.spentUsd * 1e6) / 1e6,
		thread_key: a.threadKey,
		thread_metadata: threadMetadata ?? null,
		message:
			a.level === 'warning'
				? `Budget warning: ${a.budget.warningPercent}% used. ${capitalise(sentence)}`
				: `Budget reached: new runs under it will not start. ${capitalise(sentence)}`,
	};
	return (
		(await insertServiceEvents(tx, [{ sessionId: a.sessionId, eventName, payload }], outbox)) > 0
	);
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
