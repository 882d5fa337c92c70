import crypto from 'node:crypto';
import {
	COMBINED_PROMPT_BUDGET_BYTES,
	COMBINED_PROMPT_PREAMBLE_BYTES,
	queuedMessageCost,
	type ReleaseQueuedResponse,
	type TakeQueuedRequest,
	type TakenReply,
} from '../protocol';
import { httpStatusOf, withRetry, type OrchestratorClient } from './client';
import { claimSession, SessionBusyError, type ClaimExtras, type SessionLease } from './lease';

/** What Claude Resume does when the session's turn is still running (option When Busy). */
export type WhenBusy = 'queue' | 'wait' | 'fail';

export interface Reply {
	prompt?: string;
	/** Who wrote it (a Slack user, an email address); the next turn's prompt names them. */
	author?: string;
	channel?: string;
	/** The sender's own id for the reply (a Slack ts, a Message-ID): the same reply queued twice is queued once. */
	replyId?: string;
}

/** A queued reply as the service answers it (the contract's shape). */
export type QueuedMessage = TakenReply;

/** Claude Resume's output for a reply that waits for the running turn (public: templates answer with it). */
export interface QueuedOutput {
	sessionId: string;
	status: 'queued';
	/** Its place in line: 1 is taken first. */
	position: number;
	queuedMessageId: number;
	queuedAt: string;
	threadKey: string | null;
	isError: false;
	costUsd: 0;
	message: string;
}

/** Take Queued found nothing to do: another turn runs (`busy`) or no reply waits (`nothing_queued`). */
export interface IdleOutput {
	sessionId: string;
	status: 'busy' | 'nothing_queued';
	threadKey: string | null;
	isError: false;
	costUsd: 0;
	message: string;
}

const QUEUE_ATTEMPTS = 5;

/**
 * The lease for a Resume, as When Busy says: wait for it (bounded), fail at once, or queue the reply in the
 * service and answer at once (no n8n execution waits for another turn). Queueing is only accepted while a turn
 * runs; if that turn ended meanwhile the lease is tried again (a bounded number of times).
 */
export async function leaseOrQueue(
	client: OrchestratorClient,
	s: { sessionId: string; threadKey: string | null },
	whenBusy: WhenBusy,
	reply: Reply,
	queueTimeoutMs: number,
	signal?: AbortSignal,
	claim: {
		/** Done with the claim once it is granted (the queued replies taken for the run, …); nothing if it is not. */
		extras?: ClaimExtras;
		/** Awaited before the reply is queued: what must have succeeded first (a failure queues nothing). */
		beforeQueueing?: Promise<unknown>;
	} = {},
): Promise<SessionLease | QueuedOutput> {
	const { extras } = claim;
	if (whenBusy === 'wait') return claimSession(client, s.sessionId, queueTimeoutMs, signal, extras);
	const prompt = reply.prompt?.trim();
	for (let attempt = 1; ; attempt++) {
		try {
			return await claimSession(client, s.sessionId, 0, signal, extras);
		} catch (error) {
			if (!(error instanceof SessionBusyError)) throw error;
			if (whenBusy === 'fail' || !prompt) {
				throw new SessionBusyError(
					`Session ${s.sessionId} is busy with another turn` +
						(whenBusy === 'fail'
							? ' and When Busy is Fail.'
							: ', and an empty prompt cannot be queued.') +
						' Set When Busy to Queue to have the reply taken by the next turn.',
				);
			}
		}
		await claim.beforeQueueing;
		try {
			const q = await client.request<QueuedMessage & { position: number }>(
				'POST',
				`/api/v1/sessions/${s.sessionId}/queued-messages`,
				{
					content: prompt,
					author: reply.author?.trim() || 'someone',
					channel: reply.channel?.trim() || 'n8n',
					...(reply.replyId?.trim() ? { externalId: reply.replyId.trim() } : {}),
				},
			);
			return {
				sessionId: s.sessionId,
				status: 'queued',
				position: q.position,
				queuedMessageId: q.id,
				queuedAt: q.queuedAt,
				threadKey: s.threadKey,
				isError: false,
				costUsd: 0,
				message: 'Still working, I will take this next.',
			};
		} catch (error) {
			// The running turn ended between the two asks: the lease is free now.
			if (httpStatusOf(error) !== 409 || attempt >= QUEUE_ATTEMPTS) throw error;
		}
	}
}

/**
 * What is left of the combined prompt's budget for queued replies beside the Resume's own prompt (which goes in
 * whole): claude gets the prompt as one argument, and Linux refuses one over 128 KiB.
 */
export function queuedBudget(own?: { content: string; author: string; channel: string }): number {
	const left =
		COMBINED_PROMPT_BUDGET_BYTES -
		COMBINED_PROMPT_PREAMBLE_BYTES -
		(own ? queuedMessageCost(own) : 0);
	return Math.max(0, left);
}

/**
 * The waiting replies that fit `maxBytes`, oldest first, taken for this run (the lease makes them this run's
 * alone); the rest wait for the next turn. Asked again with the same run id (an answer lost on the way), the
 * service answers the same replies, so a retry never drops them.
 */
export async function takeQueued(
	client: OrchestratorClient,
	sessionId: string,
	lease: SessionLease,
	runId: string,
	maxBytes = queuedBudget(),
): Promise<QueuedMessage[]> {
	const { items } = await withRetry(() =>
		client.request<{ items: QueuedMessage[] }>(
			'POST',
			`/api/v1/sessions/${sessionId}/queued-messages/take`,
			{ owner: lease.owner, runId, maxBytes } satisfies TakeQueuedRequest,
		),
	);
	return items;
}

/** Gives back what this run took: its turn failed before claude started, so nobody answered them. */
export async function releaseQueued(
	client: OrchestratorClient,
	sessionId: string,
	lease: SessionLease,
	runId: string,
): Promise<ReleaseQueuedResponse> {
	return withRetry(() =>
		client.request<ReleaseQueuedResponse>(
			'POST',
			`/api/v1/sessions/${sessionId}/queued-messages/release`,
			{ owner: lease.owner, runId },
		),
	);
}

/** One prompt for the next turn: the replies that waited, in arrival order, each marked with who wrote it. */
export function combinedPrompt(
	queued: QueuedMessage[],
	current?: { content: string; author: string; channel: string },
): string {
	const all = [
		...queued.map((m) => ({ ...m, at: m.queuedAt })),
		...(current ? [{ ...current, at: new Date().toISOString() }] : []),
	];
	if (all.length === 1 && !queued.length) return all[0].content;
	const parts = all.map(
		(m, i) =>
			`--- Message ${i + 1} of ${all.length}, from ${m.author} via ${m.channel} at ${m.at} ---\n${m.content}`,
	);
	return `${all.length} messages arrived for you while you were working. Here they are in the order they arrived; answer them together.\n\n${parts.join('\n\n')}`;
}

export const newRunId = () => crypto.randomUUID();
