import crypto from 'node:crypto';
import type { Queryable } from '../db';
import { enqueueDeliveries } from '../deliveries/outbox';

/**
 * Records an event of the service's own (source 'service') for the session, in the caller's transaction, and
 * queues it for the Hook Triggers that want it: they receive it with the session as that transaction leaves it.
 * The same payload twice is one event.
 */
export async function recordServiceEvent(tx: Queryable, sessionId: string, eventName: string, fields: Record<string, unknown>): Promise<void> {
	const payload = { session_id: sessionId, hook_event_name: eventName, source: 'service', ...fields };
	const hash = crypto.createHash('sha256').update(JSON.stringify(payload)).digest('base64url');
	const { rows } = await tx.query<{ id: number }>(
		`INSERT INTO hook_events (session_id, event_name, payload, payload_hash)
		VALUES ($1, $2, $3::jsonb, $4)
		ON CONFLICT (session_id, payload_hash) DO NOTHING
		RETURNING id`,
		[sessionId, eventName, JSON.stringify(payload), hash],
	);
	await enqueueDeliveries(tx, rows.map((r) => ({ id: r.id, sessionId, eventName, toolName: null })));
}

/** The session's end as the service saw it ("Session finished" subscriptions get it with the session's status). */
export const recordServiceSessionEnd = (tx: Queryable, sessionId: string, fields: Record<string, unknown>) =>
	recordServiceEvent(tx, sessionId, 'SessionEnd', fields);
