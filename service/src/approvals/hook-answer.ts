import crypto from 'node:crypto';
import type { Database } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import type { HookEvent } from '../hooks/hook-event';
import { logger } from '../logger';
import { gatingRule } from './approval-policy';
import { APPROVAL_DECIDED, APPROVAL_REQUESTED, recordApprovalEvent } from './approval-events';
import {
	insertPending,
	lookupForHook,
	settle,
	type Approval,
	type HookLookup,
} from './approvals.repository';
import { callDigest, canonicalJson } from './call-digest';
import { expiredReason, recordRefusedCall } from './service-settlements';

export type HookAnswer = Record<string, unknown>;

export interface HookAnswerContext {
	/** tool_input as posted, before scrubbing: rules match what the tool will really run. */
	toolInput: unknown;
	/** The node marked this session's PreToolUse hook as gated: when the policy cannot be read, refuse the call. */
	required: boolean;
}

/** Answers one hook event with a body for Claude Code, or undefined for the plain `{}` (no decision). */
export type HookAnswerer = (
	event: HookEvent,
	ctx: HookAnswerContext,
) => Promise<HookAnswer | undefined>;

export const preToolUseDecision = (
	permissionDecision: 'allow' | 'deny' | 'defer',
	reason: string,
): HookAnswer => ({
	hookSpecificOutput: {
		hookEventName: 'PreToolUse',
		permissionDecision,
		permissionDecisionReason: reason,
	},
});

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : '?');

function fromDecision(a: Approval): HookAnswer {
	if (a.status === 'approved')
		return preToolUseDecision(
			'allow',
			`Approved by ${a.decidedBy} via ${a.channel} at ${iso(a.decidedAt)}.`,
		);
	if (a.status === 'denied') {
		return preToolUseDecision(
			'deny',
			`Denied by ${a.decidedBy} via ${a.channel} at ${iso(a.decidedAt)}${a.note ? `: ${a.note}` : '.'} Do not retry this call.`,
		);
	}
	if (a.status === 'expired') return preToolUseDecision('deny', expiredReason(a));
	return preToolUseDecision(
		'defer',
		`Waiting for a person to approve ${a.toolName} (${a.rule}); requested at ${iso(a.requestedAt)}.`,
	);
}

/**
 * Whether this PreToolUse is the call the approval was asked about: same tool, same input. A request recorded
 * before digests were kept is compared on its stored (scrubbed) input.
 */
function isSameCall(
	found: HookLookup,
	a: Approval,
	event: HookEvent,
	ctx: HookAnswerContext,
): boolean {
	if (found.callDigest) return found.callDigest === callDigest(event.toolName!, ctx.toolInput);
	return (
		a.toolName === event.toolName &&
		canonicalJson(a.toolInput ?? null) === canonicalJson(event.payload.tool_input ?? null)
	);
}

const otherCallReason = (a: Approval, toolName: string) =>
	`This is not the call approval ${a.id} was asked for (${a.toolName}${a.toolName === toolName ? '' : `, not ${toolName}`}, with the input shown in that request); ` +
	'a changed call needs its own approval, so it was not run.';

/**
 * PreToolUse under an approval policy: a gated call is recorded as a pending approval and deferred (claude -p
 * ends; nothing waits). When the resumed run asks about the same tool_use_id again, the recorded decision
 * answers it: allow, deny, or defer again while nobody has decided. Every other event gets no decision.
 * The answer is bounded by `timeoutMs`, well inside the hook's own timeout (past which the CLI would let the
 * call run): a gated session's call is then refused, an ungated one goes ahead.
 */
export function createHookAnswerer(
	db: Database,
	opts: { ttlMs: number; timeoutMs: number; outbox?: KnownSubscriptions },
): HookAnswerer {
	async function decide(
		event: HookEvent,
		ctx: HookAnswerContext,
		lateCall: { abandoned: boolean },
	): Promise<HookAnswer | undefined> {
		const toolUseId = event.toolUseId!;
		const found = await lookupForHook(db, event.sessionId, toolUseId);
		if (!found) return undefined;
		let approval = found.approval;
		// The approval stays as it is: the call it was asked for may still come.
		if (approval && !isSameCall(found, approval, event, ctx))
			return preToolUseDecision('deny', otherCallReason(approval, event.toolName!));
		if (!approval) {
			if (!found.policy) return undefined;
			const cwd = typeof event.payload.cwd === 'string' ? event.payload.cwd : undefined;
			const rule = gatingRule(found.policy, {
				toolName: event.toolName!,
				toolInput: ctx.toolInput,
				cwd,
			});
			if (!rule) return undefined;
			const policy = found.policy;
			approval = await db.transaction(async (tx) => {
				const created = await insertPending(tx, {
					id: crypto.randomUUID(),
					sessionId: event.sessionId,
					toolUseId,
					toolName: event.toolName!,
					// Stored scrubbed, like the event itself.
					toolInput: event.payload.tool_input,
					callDigest: callDigest(event.toolName!, ctx.toolInput),
					rule,
					threadKey: found.threadKey,
					deciders: policy.deciders,
					ttlMs: (policy.expiresInSeconds ?? 0) * 1000 || opts.ttlMs,
				});
				if (created) await recordApprovalEvent(tx, APPROVAL_REQUESTED, created, opts.outbox);
				return created;
			});
			if (!approval) return decide(event, ctx, lateCall); // a concurrent copy of this event recorded it first
			if (lateCall.abandoned) {
				// The hook was already answered with a refusal: settle the request the same way so nobody approves a dead call.
				await voidRequest(approval);
				return undefined;
			}
			return fromDecision(approval);
		}
		if (approval.status === 'expired') {
			// Expiry is applied here, lazily: the first resume after the deadline writes it down.
			await db.transaction(async (tx) => {
				const settled = await settle(tx, approval!.id, { status: 'expired' });
				if (settled) await recordApprovalEvent(tx, APPROVAL_DECIDED, settled, opts.outbox);
			});
		}
		if (approval.status === 'denied' || approval.status === 'expired') {
			const answer = fromDecision(approval);
			// The stream will report a failed tool result; the call's record says what really happened.
			await recordRefusedCall(
				db,
				approval,
				(answer.hookSpecificOutput as { permissionDecisionReason: string })
					.permissionDecisionReason,
				true,
			);
			return answer;
		}
		return fromDecision(approval);
	}

	async function voidRequest(a: Approval) {
		await db.transaction(async (tx) => {
			const settled = await settle(tx, a.id, {
				status: 'denied',
				by: 'service',
				channel: 'service',
				note: 'the service answered the hook too late',
			});
			if (settled) await recordApprovalEvent(tx, APPROVAL_DECIDED, settled, opts.outbox);
		});
	}

	return async (event, ctx) => {
		if (event.eventName !== 'PreToolUse' || !event.toolUseId || !event.toolName) return undefined;
		const lateCall = { abandoned: false };
		const unavailable = () => {
			lateCall.abandoned = true;
			return ctx.required
				? preToolUseDecision(
						'deny',
						'The approval service could not check whether this call needs a person, so it was not run. Try again shortly.',
					)
				: undefined;
		};
		let timer: NodeJS.Timeout | undefined;
		const work = decide(event, ctx, lateCall);
		try {
			return await Promise.race([
				work,
				new Promise<HookAnswer | undefined>((resolve) => {
					timer = setTimeout(() => resolve(unavailable()), opts.timeoutMs);
				}),
			]);
		} catch (err) {
			logger.warn('approval check failed', {
				session: event.sessionId,
				tool: event.toolName,
				error: err instanceof Error ? err.message : String(err),
			});
			return unavailable();
		} finally {
			clearTimeout(timer);
			work.catch(() => undefined);
		}
	};
}
