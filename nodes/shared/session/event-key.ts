import type { PreparedWorkspace } from '../runner';
import { withRetry, type OrchestratorClient } from './client';
import type { SessionOutput } from './session-run';

interface Claim {
	key: string;
	sessionId: string;
	action: 'start' | 'resume';
	createdAt: string;
	first: boolean;
}

/**
 * Claims the key of the external event a Start or Resume acts on (a Slack message, an email). The service decides
 * with a unique key, so the same event arriving twice (Slack resends one it got no quick answer for) runs once,
 * whichever n8n worker gets it. Returns the earlier claim when there was one.
 */
export async function claimEventKey(
	client: OrchestratorClient,
	key: string,
	sessionId: string,
	action: 'start' | 'resume',
): Promise<Claim | undefined> {
	const claim = await withRetry(() =>
		client.request<Claim>('POST', '/api/v1/event-keys', { key, sessionId, action }),
	);
	return claim.first ? undefined : claim;
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
