import type { Database } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import { forbidden, notFound } from '../http/errors';
import { mayDecide } from './approval-policy';
import { APPROVAL_DECIDED, recordApprovalEvent } from './approval-events';
import { getApproval, recordRefusal, settle, type Approval } from './approvals.repository';

export interface Decision {
	decision: 'approve' | 'deny';
	decidedBy: string;
	channel: string;
	note?: string;
}

export interface DecisionResult {
	/** True when this request settled the approval (the workflow then resumes the session); false when it was settled before. */
	changed: boolean;
	/** One line a workflow can post in the thread as it is. */
	message: string;
	approval: Approval;
}

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : '?');

function describe(a: Approval, changed: boolean): string {
	const call = `${a.toolName}${a.rule && a.rule !== a.toolName ? ` (${a.rule})` : ''}`;
	if (a.status === 'expired') {
		return `The approval request for ${call} expired at ${iso(a.expiresAt)} without a decision, so the call is denied.`;
	}
	const verb = a.status === 'approved' ? 'Approved' : 'Denied';
	if (changed) return `${verb} by ${a.decidedBy} via ${a.channel}: ${call}.`;
	return `Already ${a.status} by ${a.decidedBy} via ${a.channel} at ${iso(a.decidedAt)}; this decision changed nothing.`;
}

/**
 * Records a person's decision, once. A second decision (a double click, a second reply) changes nothing and
 * says who decided first; someone the policy does not name is refused (403, message fit for the thread) and
 * the attempt is kept; a request past its expiry is settled as expired, which counts as a deny.
 */
export async function decideApproval(
	db: Database,
	id: string,
	d: Decision,
	outbox?: KnownSubscriptions,
): Promise<DecisionResult> {
	const outcome = await db.transaction(async (tx) => {
		const current = await getApproval(tx, id, { forUpdate: true });
		if (!current) return { kind: 'missing' as const };
		if (!mayDecide(current.deciders, d.decidedBy)) {
			await recordRefusal(tx, id, d.decidedBy, d.channel);
			return { kind: 'refused' as const };
		}
		// Settled before (decided, or expired and written down): the first outcome stands.
		if (current.decidedAt)
			return { kind: 'done' as const, result: { changed: false, approval: current } };
		// Still pending in the table; past its expiry, settling writes it down as expired instead.
		const settled = await settle(tx, id, {
			status: d.decision === 'approve' ? 'approved' : 'denied',
			by: d.decidedBy,
			channel: d.channel,
			note: d.note,
		});
		if (!settled) return { kind: 'done' as const, result: { changed: false, approval: current } };
		await recordApprovalEvent(tx, APPROVAL_DECIDED, settled, outbox);
		return { kind: 'done' as const, result: { changed: true, approval: settled } };
	});
	if (outcome.kind === 'missing') throw notFound(`no approval ${id}`);
	if (outcome.kind === 'refused') {
		throw forbidden(
			`${d.decidedBy} is not allowed to decide this approval; only the people named in the session's approval policy can.`,
		);
	}
	const { changed, approval } = outcome.result;
	return { changed, message: describe(approval, changed), approval };
}
