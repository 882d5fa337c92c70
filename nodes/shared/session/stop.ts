import { httpStatusOf, type OrchestratorClient } from './client';
import { sessionForThread } from './session-run';

export interface StopRequestInput {
	sessionId?: string;
	threadKey?: string;
	requestedBy: string;
	channel: string;
	reason?: string;
	/** Wait at most this long for the run to end, to report what it did and cost (the service allows 60; the transport 15). */
	waitSeconds: number;
}

/** One output item of Claude Resume's Stop operation (public: templates answer the thread from it). */
export interface StopOutput {
	sessionId: string;
	/** `stopped` (the run ended so), `stopping` (asked; not ended within the wait), `not_running` (nothing to stop), or the run's own end if it finished first. */
	status: string;
	requestedBy?: string;
	channel?: string;
	requestedAt?: string;
	alreadyRequested?: boolean;
	costUsd: number | null;
	numTurns: number | null;
	toolCalls: number | null;
	durationMs: number | null;
	threadKey: string | null;
	message: string;
}

interface StopAnswer {
	status: string;
	requestedBy: string;
	channel: string;
	requestedAt: string;
	alreadyRequested: boolean;
	run?: {
		status: string;
		costUsd: number;
		numTurns: number;
		toolCalls: number;
		durationMs: number;
	} | null;
}

const money = (usd: number) => `$${usd.toFixed(4)}`;

/** Asks the service to stop the session's running turn, and reports how it ended (or that nothing ran). */
export async function stopSession(
	client: OrchestratorClient,
	req: StopRequestInput,
): Promise<StopOutput> {
	if (!req.requestedBy?.trim())
		throw new Error(
			'Requested By is empty: say who asks for the stop (a name, a Slack user, an email address).',
		);
	const sessionId = req.sessionId?.trim() || (await sessionForThread(client, req.threadKey));
	const base = {
		sessionId,
		threadKey: req.threadKey?.trim() || null,
		costUsd: null,
		numTurns: null,
		toolCalls: null,
		durationMs: null,
	};
	let answer: StopAnswer;
	try {
		answer = await client.request<StopAnswer>(
			'POST',
			`/api/v1/sessions/${encodeURIComponent(sessionId)}/stop`,
			{
				requestedBy: req.requestedBy.trim(),
				channel: req.channel.trim() || 'n8n',
				...(req.reason?.trim() ? { reason: req.reason.trim() } : {}),
				waitSeconds: Math.max(0, Math.min(10, Math.floor(req.waitSeconds))),
			},
		);
	} catch (error) {
		const status = httpStatusOf(error);
		if (status === 409)
			return {
				...base,
				status: 'not_running',
				message: 'Nothing was running: there was no turn to stop.',
			};
		if (status === 404)
			throw new Error(`Unknown session ${sessionId}: the service has no session with this id.`);
		throw error;
	}
	const who = {
		requestedBy: answer.requestedBy,
		channel: answer.channel,
		requestedAt: answer.requestedAt,
		alreadyRequested: answer.alreadyRequested,
	};
	const run = answer.run;
	if (!run) {
		return {
			...base,
			...who,
			status: 'stopping',
			message: 'Stopping: the turn was asked to stop and is ending now.',
		};
	}
	const did = `${run.toolCalls} tool call${run.toolCalls === 1 ? '' : 's'}, ${run.numTurns} model turn${run.numTurns === 1 ? '' : 's'}, ${money(run.costUsd)}`;
	const message =
		run.status === 'stopped'
			? `Stopped. The turn had made ${did}.`
			: `The turn had already ended (${run.status}) before it could be stopped: ${did}.`;
	return {
		...base,
		...who,
		status: run.status,
		costUsd: run.costUsd,
		numTurns: run.numTurns,
		toolCalls: run.toolCalls,
		durationMs: run.durationMs,
		message,
	};
}
