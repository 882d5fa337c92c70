import crypto from 'node:crypto';
import type { Queryable } from '../db';
import { enqueueDeliveries } from '../deliveries/outbox';

/**
 * Records the session's end as the service's own SessionEnd event (source 'service'), in the caller's transaction,
 * and queues it for the Hook Triggers that want it ("Session finished"): they receive it with the session's
 * status as that transaction leaves it. The same payload twice is one event.
 */
export async function recordServiceSessionEnd(tx: Queryable, sessionId: string, fields: Record<string, unknown>): Promise<void> {
	const payload = { session_id: sessionId, hook_event_name: 'SessionEnd', source: 'service', ...fields };
	const hash = crypto.createHash('sha256').update(JSON.stringify(payload)).digest('base64url');
	const { rows } = await tx.query<{ id: number }>(
		`INSERT INTO hook_events (session_id, event_name, payload, payload_hash)
		VALUES ($1, 'SessionEnd', $2::jsonb, $3)
		ON CONFLICT (session_id, payload_hash) DO NOTHING
		RETURNING id`,
		[sessionId, JSON.stringify(payload), hash],
	);
	await enqueueDeliveries(tx, rows.map((r) => ({ id: r.id, sessionId, eventName: 'SessionEnd', toolName: null })));
}
