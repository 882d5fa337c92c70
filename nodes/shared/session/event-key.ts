import crypto from 'node:crypto';
import type { EventKeyClaim } from '../protocol';
import type { PreparedWorkspace } from '../runner';
import { httpStatusOf, withRetry, type OrchestratorClient } from './client';
import type { SessionOutput } from './session-run';

type Claim = EventKeyClaim;

/**
 * An event key this run holds. Once the claude process exists the key is kept whatever happens next: claude may
 * already have acted (edited files, called tools, answered in the thread), and a resend of the event must not do it
 * again. Before that, a failure (workspace, session record, lease, queue, a claude that cannot be launched) means
 * nothing ran: the key is given back, so the event's resend (Slack's, or a person's retry) runs it instead of being
 * answered "duplicate" and lost. A run refused for its budget is an answer, not a failure: its key stays.
 */
export interface HeldEventKey {
	/** Called once the claude process exists: from here on the key is never given back. */
	launched(): void;
	/** Gives the key back unless claude was launched; a failure to do so leaves it claimed (as before), silently. */
	releaseUnlessLaunched(): Promise<void>;
}

/**
 * Claims the key of the external event a Start or Resume acts on (a Slack message, an email). The service decides
 * with a unique key, so the same event arriving twice (Slack resends one it got no quick answer for) runs once,
 * whichever n8n worker gets it. Returns the earlier claim when there was one, else the key as held by this run.
 * The claim id is made once, before the first try: a retry whose first try did reach the service is recognised as
 * this same claim, not taken for a second arrival of the event.
 */
export async function claimEventKey(
	client: OrchestratorClient,
	key: string,
	sessionId: string,
	action: 'start' | 'resume',
): Promise<{ earlier: Claim } | { held: HeldEventKey }> {
	const claimId = crypto.randomUUID();
	const post = (body: Record<string, string>) =>
		withRetry(() => client.request<Claim>('POST', '/api/v1/event-keys', body));
	let releasable = true;
	const claim = await post({ key, sessionId, action, claimId }).catch((error: unknown) => {
		// A service older than claim ids refuses the field (its body is strict; the node checked the rest): claim as it
		// knows how. As before claim ids, a retried claim then reads as a duplicate, and the key cannot be given back.
		if (httpStatusOf(error) !== 400) throw error;
		releasable = false;
		return post({ key, sessionId, action });
	});
	if (!claim.first) return { earlier: claim };
	let launched = !releasable;
	return {
		held: {
			launched: () => {
				launched = true;
			},
			async releaseUnlessLaunched() {
				if (launched) return;
				// The run's own error is what the workflow needs to see; a release that fails leaves the key as it was.
				await withRetry(
					() =>
						client.request('DELETE', `/api/v1/event-keys/${encodeURIComponent(key)}`, undefined, {
							claimId,
						}),
					3,
				).catch(() => undefined);
			},
		},
	};
}

/**
 * A Start or Resume under the key of the event it acts on (without a key, just the turn): an event claimed before
 * is answered by `duplicate` and nothing runs; a turn that fails before claude was launched gives the key back, so
 * the event sent again runs.
 */
export async function withEventKey<T>(
	client: OrchestratorClient,
	event: { key: string | undefined; sessionId: string; action: 'start' | 'resume' },
	duplicate: (earlier: Claim) => SessionOutput,
	turn: (held: HeldEventKey | undefined) => Promise<T>,
): Promise<T | SessionOutput> {
	let held: HeldEventKey | undefined;
	if (event.key) {
		const claim = await claimEventKey(client, event.key, event.sessionId, event.action);
		if ('earlier' in claim) return duplicate(claim.earlier);
		held = claim.held;
	}
	try {
		return await turn(held);
	} catch (error) {
		await held?.releaseUnlessLaunched();
		throw error;
	}
}

/** The output for an event that was already acted on: nothing ran, `duplicateOf` says what did. */
export function duplicateOutput(
	earlier: Claim,
	threadKey: string | null,
	workspace: Pick<PreparedWorkspace, 'type' | 'path' | 'branch'> | SessionOutput['workspace'],
): SessionOutput {
	return {
		sessionId: earlier.sessionId,
		status: 'duplicate',
		result: null,
		isError: false,
		costUsd: 0,
		usage: null,
		numTurns: 0,
		durationMs: 0,
		permissionDenials: [],
		workspace: { type: workspace.type, path: workspace.path, branch: workspace.branch ?? null },
		threadKey,
		hooksReceived: false,
		duplicateOf: {
			eventKey: earlier.key,
			sessionId: earlier.sessionId,
			action: earlier.action,
			at: earlier.createdAt,
		},
	};
}
