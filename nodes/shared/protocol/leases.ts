// A run's claim on its session on the wire: POST /sessions/:id/lease (claim and renew), and the lease a new
// session may be created with (POST /sessions, `lease`). What a claim may bring back beside the lease saves the
// run a round of requests after it: the replies queued for it, whether the session runs under an approval policy,
// and what claude needs before it starts (the run's hook token, its budget reservation, the stored conversation's
// metadata).
import { z } from 'zod';
import { COMBINED_PROMPT_BUDGET_BYTES } from './queued-messages';

const owner = z.string().min(1, 'owner is empty').max(200, 'owner is at most 200 characters');
const ttlSeconds = z
	.number()
	.int('ttlSeconds is a whole number')
	.min(5, 'ttlSeconds is at least 5')
	.max(3600, 'ttlSeconds is at most 3600');

/**
 * What claude needs before it starts, asked for with the lease: once it is granted, the service answers each as its
 * own request would (one beside the other, each in its own transaction, as the run made them), so the run starts
 * claude one round of requests sooner. One the service could not answer is left out of the grant, and the run asks
 * for it on its own.
 */
const runStart = {
	/** A token for the run, as POST …/hook-token issues it: the answer's `hookToken`. */
	hookToken: z
		.object({
			ttlSeconds: z
				.number()
				.int('hookToken.ttlSeconds is a whole number')
				.min(60, 'hookToken.ttlSeconds is at least 60')
				.max(7 * 24 * 3600, 'hookToken.ttlSeconds is at most 604800')
				.optional(),
		})
		.strict()
		.optional(),
	/**
	 * The run's budget reservation, as POST /budgets/reservations makes it for this session (the service checks
	 * the fields as that route does): the answer's `budgetReservation`.
	 */
	budgetReservation: z.object({ runId: z.string() }).passthrough().optional(),
};

/** A new session created with its first run's lease taken, in the same transaction. */
export const SessionLeaseClaim = z
	.object({ owner, ttlSeconds: ttlSeconds.optional(), ...runStart })
	.strict();
export type SessionLeaseClaim = z.input<typeof SessionLeaseClaim>;

export const LeaseBody = z
	.object({
		owner,
		ttlSeconds: ttlSeconds.optional(),
		/**
		 * Once the lease is granted, take the queued replies for this run in the same transaction (as
		 * POST …/queued-messages/take would): the answer's `taken`. Nothing is taken when the lease is refused.
		 */
		takeQueued: z
			.object({
				runId: z.string().uuid('takeQueued.runId is not a uuid'),
				maxBytes: z
					.number()
					.int('takeQueued.maxBytes is a whole number')
					.min(0, 'takeQueued.maxBytes is at least 0')
					.max(
						COMBINED_PROMPT_BUDGET_BYTES,
						`takeQueued.maxBytes is at most ${COMBINED_PROMPT_BUDGET_BYTES}`,
					)
					.optional(),
			})
			.strict()
			.optional(),
		/** Say in the answer (`approvalPolicy`) whether the session has a stored approval policy. */
		withApprovalPolicy: z.boolean().optional(),
		...runStart,
		/** The stored conversation's metadata, as GET …/transcript/meta: the answer's `transcriptMeta` (null: none stored). */
		withTranscriptMeta: z.boolean().optional(),
	})
	.strict();
export type LeaseRequest = z.input<typeof LeaseBody>;

/** A queued reply as a turn takes it. */
export interface TakenReply {
	id: number;
	content: string;
	author: string;
	channel: string;
	externalId?: string | null;
	queuedAt: string;
	takenAt?: string | null;
}

/** A granted claim or renewal (409 while another run holds the session). */
export interface LeaseGrant {
	owner: string;
	expiresAt: string;
	ttlSeconds: number;
	/** A stop asked of this holder, if any (renewals carry it too). */
	stop?: {
		requestedBy: string;
		channel: string;
		reason: string | null;
		requestedAt: string;
	} | null;
	/** With `takeQueued`: the replies this run took, oldest first (none waiting: empty). */
	taken?: { items: TakenReply[] };
	/** With `withApprovalPolicy`: whether the session has a stored approval policy. */
	approvalPolicy?: boolean;
	/** With `hookToken`: the run's token. */
	hookToken?: { hookToken: string; hookTokenExpiresAt: string };
	/** With `budgetReservation`: the reservation's answer (granted or not, and why). */
	budgetReservation?: { granted: boolean; capUsd?: number | null; message?: string };
	/** With `withTranscriptMeta`: the stored conversation's metadata, null when none is stored. */
	transcriptMeta?: StoredTranscriptMeta | null;
}

/** What the service keeps about a session's stored conversation (GET …/transcript/meta). */
export interface StoredTranscriptMeta {
	version: number;
	sizeBytes: number;
	sha256: string;
	sourceSizeBytes: number;
	sourceSha256: string;
	updatedAt: string;
}
