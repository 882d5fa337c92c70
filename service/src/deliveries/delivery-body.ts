import type { ClaimedDelivery } from './deliveries.repository';

/** Events after which the session's result is what a workflow wants ("Session finished"). */
const FINISH_EVENTS = new Set(['Stop', 'SessionEnd', 'StopFailure']);

const str = (v: unknown) => (typeof v === 'string' ? v : null);

/**
 * What the Hook Trigger receives (and what it signs over). Tool fields are lifted out of the raw payload; the
 * session summary is read when the delivery is sent, so cost and status are current even after retries.
 */
export function deliveryBody(d: ClaimedDelivery) {
	const p = d.payload ?? {};
	const finished = FINISH_EVENTS.has(d.eventName);
	return {
		deliveryId: d.id,
		event: d.eventName,
		sessionId: d.sessionId,
		toolName: d.toolName,
		toolUseId: d.toolUseId,
		toolInput: p.tool_input ?? null,
		toolResponse: p.tool_response ?? null,
		// PostToolUseFailure carries `error`, PermissionDenied a `reason`.
		error: str(p.error) ?? str(p.reason),
		// 'run': a permission denial from a run's result rather than from a hook; 'service': an approval event.
		source: p.source === 'run' || p.source === 'service' ? p.source : 'hook',
		payload: p,
		// A coalescing subscription: how many earlier events of the session this delivery stands for.
		coalesced: d.coalesced,
		// The run the event happened in: the workflow's status message for it, its tool calls and cost so far.
		run: d.run
			? {
					id: d.run.id,
					status: d.run.status,
					startedAt: new Date(d.run.startedAt).toISOString(),
					endedAt: d.run.endedAt ? new Date(d.run.endedAt).toISOString() : null,
					statusMessage: d.run.statusMessage,
					toolCalls: d.run.toolCalls,
					// Once the run has ended, its cost from claude's result; until then, the sum of the API requests claude
					// has reported (null when it reported none, e.g. telemetry of the user's own is configured).
					// A run that ended without claude's result (interrupted, failed) recorded 0: what was reported stands.
					costUsd: d.run.endedAt
						? Math.max(d.run.costUsd, d.run.costSoFarUsd ?? 0)
						: d.run.costSoFarUsd,
					costFinal: d.run.endedAt !== null,
				}
			: null,
		session: {
			status: d.session.status,
			origin: d.session.origin,
			workspace: d.session.workspace,
			threadKey: d.session.threadKey,
			costUsd: d.session.costUsd,
			...(finished
				? {
						// The run's result is written when the stream ends, which may be after Stop; the hook's last message stands in until then.
						result: d.session.result ?? str(p.last_assistant_message),
						isError: d.session.isError ?? (d.eventName === 'StopFailure' ? true : null),
						subtype: d.session.subtype,
					}
				: {}),
		},
		occurredAt: new Date(d.receivedAt).toISOString(),
	};
}

export type DeliveryBody = ReturnType<typeof deliveryBody>;
