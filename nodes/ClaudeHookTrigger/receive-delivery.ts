import type { IDataObject, IWebhookFunctions } from 'n8n-workflow';
import { SIGNATURE_HEADER, verifyDelivery } from '../shared/protocol/delivery';
import type { TriggerStaticData } from './subscription-lifecycle';

/**
 * How many delivery ids the node remembers to drop redeliveries. A delivery whose answer was lost (a replica
 * killed after sending it, a dropped connection) is sent again only once its claim expires, DELIVERY_TIMEOUT_MS
 * plus 30 s later, so the node must remember every delivery of that window: 5,000 covers over 100 events a second
 * at the default timeout (measured: 1,348 deliveries in one such window behind the load balancer, where 500 let
 * three through twice). It bounds the workflow's static data to about 200 KB.
 */
export const REMEMBERED_DELIVERIES = 5000;

export type Received =
	| { kind: 'rejected'; status: 400 | 401; error: string; message: string }
	| { kind: 'duplicate'; deliveryId: string }
	| { kind: 'accepted'; deliveryId: string; item: IDataObject };

/**
 * Checks one delivery: signed with this node's secret over the exact bytes received, recently, and not seen
 * before. Records its id when accepted. No I/O, so it is the whole of webhook() worth testing.
 */
export function receiveDelivery(input: {
	headers: ReturnType<IWebhookFunctions['getHeaderData']>;
	/** The bytes n8n read (req.rawBody); the parsed body re-serialised stands in if n8n kept none. */
	rawBody: Buffer | string | undefined;
	body: IDataObject;
	staticData: TriggerStaticData;
	toleranceSeconds: number;
	nowMs: number;
}): Received {
	const { staticData } = input;
	if (!staticData.secret) {
		return {
			kind: 'rejected',
			status: 401,
			error: 'not_registered',
			message:
				'This trigger has no signing secret: deactivate and activate the workflow to register it again',
		};
	}
	const raw = input.rawBody ?? JSON.stringify(input.body);
	const check = verifyDelivery({
		secret: staticData.secret,
		body: raw,
		header: input.headers[SIGNATURE_HEADER],
		toleranceSeconds: input.toleranceSeconds,
		nowMs: input.nowMs,
	});
	if (!check.ok)
		return {
			kind: 'rejected',
			status: 401,
			error: `signature_${check.reason}`,
			message: check.message,
		};

	// The id is taken from the signed body, not from a header anyone could change.
	const body = input.body;
	const deliveryId = typeof body.deliveryId === 'string' ? body.deliveryId : '';
	if (!deliveryId)
		return {
			kind: 'rejected',
			status: 400,
			error: 'bad_request',
			message: 'the delivery has no deliveryId',
		};

	const seen = Array.isArray(staticData.recentDeliveries) ? staticData.recentDeliveries : [];
	if (seen.includes(deliveryId)) return { kind: 'duplicate', deliveryId };
	// Assigned, not pushed: n8n saves static data when a property of it is set.
	staticData.recentDeliveries = [...seen.slice(-(REMEMBERED_DELIVERIES - 1)), deliveryId];

	return {
		kind: 'accepted',
		deliveryId,
		item: {
			event: body.event,
			sessionId: body.sessionId,
			toolName: body.toolName ?? null,
			toolUseId: body.toolUseId ?? null,
			toolInput: body.toolInput ?? null,
			toolResponse: body.toolResponse ?? null,
			error: body.error ?? null,
			source: body.source ?? 'hook',
			session: body.session ?? null,
			// The run the event happened in: its status message (where a workflow shows progress) and tool calls so far.
			run: body.run ?? null,
			// How many earlier events of the session this delivery stands for (a trigger with a minimum interval).
			coalesced: typeof body.coalesced === 'number' ? body.coalesced : 0,
			payload: body.payload ?? null,
			deliveryId,
			occurredAt: body.occurredAt ?? null,
		},
	};
}
