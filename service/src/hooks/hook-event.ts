import crypto from 'node:crypto';
import { z } from 'zod';
import { badRequest } from '../http/errors';
import { describeZodError } from '../http/error-handler';
import { storableText } from '../http/validate';
import { scrubValue } from '../scrub';
import type { ToolCallUpsert } from '../tool-calls/tool-call';

// Claude Code's native hook JSON. Only the fields we index are checked; everything else, including events
// this version does not know yet, is kept as it came (scrubbed) in the jsonb payload.
const HookPayloadSchema = z
	.object({
		session_id: z.string().uuid('session_id must be the session uuid'),
		hook_event_name: z
			.string()
			.regex(
				/^[A-Za-z][A-Za-z0-9_]{0,63}$/,
				'hook_event_name must be an event name such as PreToolUse',
			),
		tool_name: storableText(256).optional(),
		tool_use_id: storableText(256).optional(),
		prompt_id: storableText(256).optional(),
		// tool_calls.duration_ms is an integer column: 2^31 ms (24 days) is far beyond any tool call.
		duration_ms: z
			.number()
			.nonnegative()
			.max(2_147_483_647, 'duration_ms must be a number of milliseconds below 2^31')
			.optional(),
		cwd: z.string().optional(),
	})
	.passthrough();

export interface HookEvent {
	sessionId: string;
	eventName: string;
	toolName?: string;
	toolUseId?: string;
	promptId?: string;
	payload: Record<string, unknown>;
	/** The scrubbed payload as JSON text: hashed, and sent to the database as is (not serialised twice). */
	raw: string;
	hash: string;
	truncated: boolean;
	receivedAt: string;
}

/** Validates and scrubs one posted hook payload (its depth checked at the HTTP edge); throws a 400 that says what is wrong. */
export function parseHookEvent(body: unknown, maxStringBytes: number, now = new Date()): HookEvent {
	if (body === null || typeof body !== 'object' || Array.isArray(body)) {
		throw badRequest(
			'expected a JSON object (a Claude Code hook payload) with Content-Type: application/json',
		);
	}
	const parsed = HookPayloadSchema.safeParse(body);
	if (!parsed.success) throw badRequest(`invalid hook payload: ${describeZodError(parsed.error)}`);
	// The posted object, not zod's copy: the copy loses own keys such as `__proto__`, which are stored as data.
	const { value: payload, truncated } = scrubValue(body as Record<string, unknown>, maxStringBytes);
	const raw = JSON.stringify(payload);
	return {
		sessionId: parsed.data.session_id.toLowerCase(),
		eventName: parsed.data.hook_event_name,
		toolName: parsed.data.tool_name,
		toolUseId: parsed.data.tool_use_id,
		promptId: parsed.data.prompt_id,
		payload,
		raw,
		hash: crypto.createHash('sha256').update(raw).digest('base64url'),
		truncated,
		receivedAt: now.toISOString(),
	};
}

/** The piece of a tool call an event reports, if it reports one. */
export function toolCallFromEvent(e: HookEvent): ToolCallUpsert | undefined {
	if (!e.toolUseId) return undefined;
	const p = e.payload;
	const base = {
		sessionId: e.sessionId,
		toolUseId: e.toolUseId,
		toolName: e.toolName,
		input: p.tool_input,
		seenInHooks: true,
		seenInStream: false,
		truncated: e.truncated,
	};
	const durationMs = typeof p.duration_ms === 'number' ? Math.round(p.duration_ms) : undefined;
	switch (e.eventName) {
		case 'PreToolUse':
			return { ...base, status: 'running', startedAt: e.receivedAt };
		case 'PostToolUse':
			return {
				...base,
				status: 'succeeded',
				response: p.tool_response,
				durationMs,
				finishedAt: e.receivedAt,
			};
		case 'PostToolUseFailure':
			return {
				...base,
				status: 'failed',
				error: stringOr(p.error),
				durationMs,
				finishedAt: e.receivedAt,
			};
		case 'PermissionDenied':
			return {
				...base,
				status: 'denied',
				error: stringOr(p.reason) ?? 'permission denied',
				finishedAt: e.receivedAt,
			};
		default:
			return undefined;
	}
}

const stringOr = (v: unknown) =>
	typeof v === 'string' ? v : v === undefined ? undefined : JSON.stringify(v);

/** What an external (not orchestrated) session's status becomes after this event. */
export function externalStatusAfter(eventName: string): string {
	if (eventName === 'SessionEnd') return 'completed';
	if (eventName === 'StopFailure') return 'failed';
	if (eventName === 'Stop') return 'waiting';
	return 'running';
}
