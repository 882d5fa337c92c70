import type { Queryable } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import { insertServiceEvents } from '../hooks/hooks.repository';
import type { Approval } from './approvals.repository';

import { APPROVAL_DECIDED, APPROVAL_REQUESTED } from '../../../nodes/shared/protocol';

export { APPROVAL_DECIDED, APPROVAL_REQUESTED };

/**
 * Approval requests and decisions are stored as the session's events with `source: "service"`, in the
 * transaction that records them: they show in the session's event list (its decision history) and reach Hook
 * Trigger subscriptions through the same outbox as Claude Code's own events ("Approval requested").
 */
export async function recordApprovalEvent(
	tx: Queryable,
	eventName: typeof APPROVAL_REQUESTED | typeof APPROVAL_DECIDED,
	a: Approval,
	outbox?: KnownSubscriptions,
): Promise<void> {
	const payload: Record<string, unknown> = {
		session_id: a.sessionId,
		hook_event_name: eventName,
		source: 'service',
		approval_id: a.id,
		tool_name: a.toolName,
		tool_use_id: a.toolUseId,
		tool_input: a.toolInput,
		rule: a.rule,
		thread_key: a.threadKey,
		deciders: a.deciders,
		status: a.status,
		requested_at: new Date(a.requestedAt).toISOString(),
		expires_at: new Date(a.expiresAt).toISOString(),
		decision_path: `/api/v1/approvals/${a.id}/decision`,
		...(eventName === APPROVAL_DECIDED
			? {
					decided_at: a.decidedAt && new Date(a.decidedAt).toISOString(),
					decided_by: a.decidedBy,
					channel: a.channel,
					note: a.note,
				}
			: {}),
	};
	await insertServiceEvents(
		tx,
		[{ sessionId: a.sessionId, eventName, toolName: a.toolName, toolUseId: a.toolUseId, payload }],
		outbox,
	);
}
