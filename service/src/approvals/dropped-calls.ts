import type { Queryable } from '../db';
import { upsertToolCalls } from '../tool-calls/tool-calls.repository';
import { APPROVAL_DECIDED, recordApprovalEvent } from './approval-events';
import { settle } from './approvals.repository';

export const DROPPED_NOTE =
	'Claude Code carries one deferred call into the next run; this call was deferred beside it and dropped from the conversation, so it was not run.';

/**
 * Claude Code resumes only one deferred call. When the model asks for several gated calls at once, each
 * PreToolUse defers and records an approval, but the run ends on the last one and the others vanish from the
 * conversation (the resumed request no longer holds them; measured with 2.1.331). Their approvals would wait for
 * a decision nothing ever reads, and their tool calls would stay "running". So a run that ends cleanly settles
 * every other pending approval of the session as refused by the service, with the reason, and the call as denied:
 * the Approval Decided event tells the workflow that asked a person to stop waiting.
 */
export async function settleDroppedCalls(tx: Queryable, sessionId: string, deferredToolUseId: string | undefined): Promise<number> {
	const { rows } = await tx.query<{ id: string }>(
		`SELECT id FROM approvals WHERE session_id = $1 AND status = 'pending' AND tool_use_id IS DISTINCT FROM $2
		ORDER BY requested_at FOR UPDATE`,
		[sessionId, deferredToolUseId ?? null],
	);
	let settled = 0;
	for (const { id } of rows) {
		const a = await settle(tx, id, { status: 'denied', by: 'service', channel: 'service', note: DROPPED_NOTE });
		if (!a) continue;
		settled++;
		await recordApprovalEvent(tx, APPROVAL_DECIDED, a);
		await upsertToolCalls(tx, [
			{
				sessionId,
				toolUseId: a.toolUseId,
				toolName: a.toolName,
				status: 'denied',
				error: DROPPED_NOTE,
				finishedAt: new Date().toISOString(),
				seenInHooks: false,
				seenInStream: false,
				truncated: false,
			},
		]);
	}
	return settled;
}
