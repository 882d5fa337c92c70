import crypto from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { HookAnswerContext, HookAnswerer } from '../approvals';
import { EVENT_SOURCES, SERVICE_EVENTS } from '../../../nodes/shared/protocol';
import type { Auth, Principal } from '../http/auth';
import { badRequest, forbidden, HttpError } from '../http/errors';
import type { Metrics } from '../metrics/metrics';
import { parseHookEvent, type HookEvent } from './hook-event';
import { QueueFullError, type HookIngestor } from './hook-ingestor';

export interface HookDeps {
	auth: Auth;
	ingestor: HookIngestor;
	metrics: Metrics;
	toolOutputMaxBytes: number;
	ackTimeoutMs: number;
	/** Decides what the answer body says (PreToolUse under an approval policy); absent or undefined: `{}`. */
	answer?: HookAnswerer;
	/** The answer for a hook of a run being stopped (`continue: false`); it comes before any other decision. */
	stopAnswer?: (
		sessionId: string,
		generation: number | undefined,
		eventName: string,
	) => Record<string, unknown> | undefined;
}

/**
 * POST /api/v1/hooks takes Claude Code's native hook JSON for any event. It answers as soon as the event is
 * committed, or after ackTimeoutMs with 202 while the event stays queued: a slow database never stalls the agent.
 */
export function hooksRouter(deps: HookDeps): Router {
	const r = Router();
	// The plain JSON case is served by hookFastPath before Express; this route answers the rest (other content
	// types, compressed bodies) the same way.
	r.post('/', deps.auth.requireHookWriter, async (req, res) => {
		reply(
			res,
			await receiveNativeHook(
				deps,
				res.locals.principal as Principal,
				req.body,
				req.query.approvals === 'required',
			),
		);
	});
	return r;
}

/** One posted native hook payload, from whichever HTTP layer carried it. */
export function receiveNativeHook(
	deps: HookDeps,
	principal: Principal,
	body: unknown,
	approvalsRequired: boolean,
): Promise<HookReply> {
	// Optional chaining: a body that is not a JSON object (or none at all) is refused by parseHookEvent, not a TypeError.
	const answerContext = {
		toolInput: (body as Record<string, unknown> | null | undefined)?.tool_input,
		required: approvalsRequired,
	};
	return receiveEvent(
		deps,
		principal,
		parseHookEvent(body, deps.toolOutputMaxBytes),
		answerContext,
	);
}

/** The seed's hook routes: a simplified body, turned into the native event it stands for. */
export function legacyHooksRouter(deps: HookDeps): Router {
	const r = Router();
	const legacy =
		(eventName: 'PostToolUse' | 'Notification') => async (req: Request, res: Response) => {
			const body = req.body as Record<string, unknown> | undefined;
			const principal = res.locals.principal as Principal;
			if (body && typeof body === 'object' && 'hook_event_name' in body) {
				return reply(
					res,
					await receiveEvent(deps, principal, parseHookEvent(body, deps.toolOutputMaxBytes)),
				);
			}
			if (!body || typeof body !== 'object' || Array.isArray(body))
				throw badRequest('expected a JSON object body');
			const sessionId = body.session ?? body.session_id ?? body.sessionId;
			const native: Record<string, unknown> =
				eventName === 'PostToolUse'
					? {
							session_id: sessionId,
							hook_event_name: 'PostToolUse',
							tool_name: body.tool ?? body.tool_name,
							tool_input: body.input ?? body.tool_input,
							tool_response: body.result ?? body.tool_response,
							duration_ms: body.duration ?? body.duration_ms,
							tool_use_id:
								body.tool_use_id ??
								`legacy_${crypto.createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 24)}`,
						}
					: {
							session_id: sessionId,
							hook_event_name: 'Notification',
							message: body.message,
							title: body.title,
							notification_type: body.type,
						};
			return reply(
				res,
				await receiveEvent(deps, principal, parseHookEvent(native, deps.toolOutputMaxBytes)),
			);
		};
	r.post('/tool-complete', deps.auth.requireHookWriter, legacy('PostToolUse'));
	r.post('/notification', deps.auth.requireHookWriter, legacy('Notification'));
	return r;
}

export interface HookReply {
	status: 200 | 202;
	/** Read by Claude Code as hook output: `{}` means "no decision, carry on". */
	body: unknown;
}

const reply = (res: Response, r: HookReply) => res.status(r.status).json(r.body);

/**
 * What only the service writes: its own events (approval requests and decisions, budget alerts) and the `source` values that
 * mark an event as the service's or a run's rather than a hook's. Hook Trigger workflows act on these (the Slack
 * approval template posts into the thread key one names), and a hook token lives in the environment of every
 * command Claude runs, so a token must not be able to forge them.
 */
const SERVICE_EVENT_NAMES: ReadonlySet<string> = new Set(SERVICE_EVENTS);
const SERVICE_SOURCES: ReadonlySet<unknown> = new Set(Object.values(EVENT_SOURCES));

async function receiveEvent(
	deps: HookDeps,
	principal: Principal,
	event: HookEvent,
	answerContext?: HookAnswerContext,
): Promise<HookReply> {
	if (principal.kind === 'hook') {
		if (principal.sessionId !== event.sessionId) {
			throw forbidden(
				`this hook token belongs to session ${principal.sessionId}, not ${event.sessionId}`,
			);
		}
		if (SERVICE_EVENT_NAMES.has(event.eventName)) {
			throw forbidden(
				`${event.eventName} is an event the service records itself; a hook token cannot post it`,
			);
		}
		if (SERVICE_SOURCES.has(event.payload.source)) {
			throw forbidden(
				`source "${String(event.payload.source)}" marks events the service records itself; a hook token cannot post it`,
			);
		}
	}
	const started = process.hrtime.bigint();
	// A run being stopped: no other decision matters (and none is recorded, e.g. a new approval request).
	const stopping =
		principal.kind === 'hook'
			? deps.stopAnswer?.(event.sessionId, principal.generation, event.eventName)
			: undefined;
	// Computed beside the write, not after it: the answer must not wait for the group commit.
	const answer = stopping
		? Promise.resolve(stopping)
		: answerContext && deps.answer?.(event, answerContext);
	const stored = deps.ingestor.submit(
		event,
		principal.kind === 'hook' ? 'orchestrator' : 'external',
	);
	let timer: NodeJS.Timeout | undefined;
	const outcome = await Promise.race([
		stored.then((s) => (s ? 'stored' : 'duplicate')),
		new Promise<'queued'>((resolve) => {
			timer = setTimeout(() => resolve('queued'), deps.ackTimeoutMs);
		}),
	])
		.catch((err) => {
			if (err instanceof QueueFullError)
				throw new HttpError(
					503,
					'the service is overloaded; the event was not stored',
					'overloaded',
				);
			throw err;
		})
		.finally(() => clearTimeout(timer));
	// A queued event may still fail later; that is logged by the ingestor, not left as an unhandled rejection.
	stored.catch(() => undefined);
	const decision = await answer;
	deps.metrics.hookEvent(event.eventName, outcome, Number(process.hrtime.bigint() - started) / 1e6);
	return { status: outcome === 'queued' && !decision ? 202 : 200, body: decision ?? {} };
}
