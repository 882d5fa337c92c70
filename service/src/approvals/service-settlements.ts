// Approvals the service settles by itself, without a person: parallel calls Claude Code dropped, and requests
// past their deadline. Each settlement fires Approval Decided and marks the tool call as not run.
import type { Database, Queryable } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import { upsertToolCalls } from '../tool-calls/tool-calls.repository';
import { APPROVAL_DECIDED, recordApprovalEvent } from './approval-events';
import { settle, type Approval } from './approvals.repository';

export const DROPPED_NOTE =
	'Claude Code carries one deferred call into the next run; this call was deferred beside it and dropped from the conversation, so it was not run.';

/** The approval's call did not run and will not: its tool call record says why. */
export async function recordRefusedCall(
	tx: Queryable,
	a: Approval,
	reason: string,
	fromHook = false,
): Promise<void> {
	await upsertToolCalls(tx, [
		{
			sessionId: a.sessionId,
			toolUseId: a.toolUseId,
			toolName: a.toolName,
			status: 'denied',
			error: reason,
			finishedAt: new Date().toISOString(),
			seenInHooks: fromHook,
			seenInStream: false,
			truncated: false,
		},
	]);
}

/**
 * Claude Code resumes only one deferred call. When the model asks for several gated calls at once, each
 * PreToolUse defers and records an approval, but the run ends on the last one and the others vanish from the
 * conversation (the resumed request no longer holds them; measured with 2.1.331). Their approvals would wait for
 * a decision nothing ever reads, and their tool calls would stay "running". So a run that ends cleanly settles
 * every other pending approval of the session as refused by the service, with the reason.
 */
export async function settleDroppedCalls(
	tx: Queryable,
	sessionId: string,
	deferredToolUseId: string | undefined,
	outbox?: KnownSubscriptions,
): Promise<number> {
	const { rows } = await tx.query<{ id: string }>(
		`SELECT id FROM approvals WHERE session_id = $1 AND status = 'pending' AND tool_use_id IS DISTINCT FROM $2
		ORDER BY requested_at FOR UPDATE`,
		[sessionId, deferredToolUseId ?? null],
	);
	return settleEach(
		tx,
		rows,
		{ status: 'denied', by: 'service', channel: 'service', note: DROPPED_NOTE },
		() => DROPPED_NOTE,
		outbox,
	);
}

export const expiredReason = (a: Approval) =>
	`Nobody approved this call before the request expired at ${new Date(a.expiresAt).toISOString()}, so it was not run.`;

/**
 * Settles requests past their deadline as expired, so the workflow that asked a person learns it when it happens
 * (Approval Decided), not at the next Resume. Several replicas may sweep at once: each row is taken by one.
 */
export async function expireOverdue(
	db: Database,
	limit = 100,
	outbox?: KnownSubscriptions,
): Promise<number> {
	return db.transaction(async (tx) => {
		const { rows } = await tx.query<{ id: string }>(
			`SELECT id FROM approvals WHERE status = 'pending' AND expires_at <= now()
			ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
			[limit],
		);
		return settleEach(tx, rows, { status: 'expired' }, expiredReason, outbox);
	});
}

/** Settles each still-pending approval, records Approval Decided and marks its call as not run; how many it settled. */
async function settleEach(
	tx: Queryable,
	rows: Array<{ id: string }>,
	decision: Parameters<typeof settle>[2],
	reason: (a: Approval) => string,
	outbox: KnownSubscriptions | undefined,
): Promise<number> {
	let settled = 0;
	for (const { id } of rows) {
		const a = await settle(tx, id, decision);
		if (!a) continue;
		settled++;
		await recordApprovalEvent(tx, APPROVAL_DECIDED, a, outbox);
		await recordRefusedCall(tx, a, reason(a));
	}
	return settled;
}
