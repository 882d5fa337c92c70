// Approvals on the wire: the policy a node sends, the decision a workflow posts, the approval both read.
import { z } from 'zod';
import { storableText, type WireDate } from './fields';

export const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'expired'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

export const APPROVAL_DECISIONS = ['approve', 'deny'] as const;

/** Longest wait an approval policy may set. */
export const MAX_APPROVAL_TTL_SECONDS = 30 * 24 * 3600;

/** PUT /sessions/:id/approval-policy: the calls that wait for a person, and who may decide. */
export interface ApprovalPolicy {
	rules: string[];
	outsideAllowedTools: boolean;
	allowedTools: string[];
	deciders: string[];
	expiresInSeconds?: number;
}

/** POST /approvals/:id/decision. */
export const DecisionBody = z
	.object({
		// Buttons and replies say it in many ways; the word is what counts.
		decision: z.preprocess(
			(v) => (typeof v === 'string' ? v.trim().toLowerCase() : v),
			z.enum(APPROVAL_DECISIONS, { message: 'decision must be "approve" or "deny"' }),
		),
		decidedBy: z
			.string()
			.trim()
			.min(1, 'decidedBy names who decided: a Slack user id or an email address')
			.max(320),
		channel: z.string().trim().min(1).max(64).default('api'),
		note: storableText(2000).optional(),
	})
	.strict();

/** One approval as GET /approvals and the decision answer it. */
export interface Approval<D = WireDate> {
	id: string;
	sessionId: string;
	toolUseId: string;
	toolName: string;
	toolInput: unknown;
	rule: string;
	threadKey: string | null;
	deciders: string[];
	status: ApprovalStatus;
	requestedAt: D;
	expiresAt: D;
	decidedAt: D | null;
	decidedBy: string | null;
	channel: string | null;
	note: string | null;
	refusals: Array<{ by: string; channel: string | null; at: string }>;
}
