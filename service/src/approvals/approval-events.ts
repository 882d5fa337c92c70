import crypto from 'node:crypto';
import type { Queryable } from '../db';
import { enqueueDeliveries } from '../deliveries/outbox';
import type { Approval } from './approvals.repository';

import { APPROVAL_DECIDED, APPROVAL_REQUESTED } from '../../../nodes/shared/protocol';

export { APPROVAL_DECIDED, APPROVAL_REQUESTED };

/**
 * Approval requests and decisions are stored as the session's events with `source: "service"`, in the
 * transaction that records them: they show in the session's event list (its decision history) and reach Hook
 * Trigger subscriptions through the same outbox as Claude Code's own events ("Approval requested").
 */
export async function recordApprovalEvent(tx: Queryable, eventName: typeof APPROVAL_REQUESTED | typeof APPROVAL_DECIDED, a: Approval): Promise<void> {
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
			? { decided_at: a.decidedAt && new Date(a.decidedAt).toISOString(), decided_by: a.decidedBy, channel: a.channel, note: a.note }
			: {}),
	};
	const hash = crypto.createHash('sha256').update(JSON.stringify(payload)).digest('base64url');
	const { rows } = await tx.query<{ id: number }>(
		`INSERT INTO hook_events (session_id, event_name, tool_name, tool_use_id, payload, payload_hash)
		VALUES ($1, $2, $3, $4, $5::jsonb, $6)
		ON CONFLICT (session_id, payload_hash) DO NOTHING
		RETURNING id`,
		[a.sessionId, eventName, a.toolName, a.toolUseId, JSON.stringify(payload), hash],
	);
	await enqueueDeliveries(tx, rows.map((r) => ({ id: r.id, sessionId: a.sessionId, eventName, toolName: a.toolName })));
}
