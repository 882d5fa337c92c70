import type { Queryable } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import { insertServiceEvents } from '../hooks/hooks.repository';

/**
 * Records an event of the service's own (source 'service') for the session, in the caller's transaction, with
 * its outbox rows: Hook Triggers receive it with the session as that transaction leaves it.
 */
export async function recordServiceEvent(
	tx: Queryable,
	sessionId: string,
	eventName: string,
	fields: Record<string, unknown>,
	outbox?: KnownSubscriptions,
): Promise<void> {
	const payload = {
		session_id: sessionId,
		hook_event_name: eventName,
		source: 'service',
		...fields,
	};
	await insertServiceEvents(tx, [{ sessionId, eventName, payload }], outbox);
}
