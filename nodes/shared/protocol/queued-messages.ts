// Replies queued while a turn runs (Claude Resume, When Busy = Queue) on the wire: how big one may be, and what a
// turn takes of them (POST /sessions/:id/queued-messages, …/take, …/release).
import { z } from 'zod';

// The runner passes the prompt to claude as one argv string (`-p … -- <prompt>`), and Linux refuses an argv
// string over MAX_ARG_STRLEN (131,072 bytes with its closing NUL): spawn fails with E2BIG. The combined prompt a
// turn builds from queued replies must stay under that, with room to spare.
export const ARGV_STRING_MAX_BYTES = 131_071;
/** The most a combined prompt (queued replies, their headers and the Resume's own prompt) is given. */
export const COMBINED_PROMPT_BUDGET_BYTES = 120 * 1024;
/** The combined prompt's opening line ("N messages arrived…"), at most. */
export const COMBINED_PROMPT_PREAMBLE_BYTES = 200;
/** One message's header in the combined prompt ("--- Message i of n, from … via … at … ---") without author and channel. */
export const QUEUED_MESSAGE_HEADER_BYTES = 100;
/**
 * The largest queued reply, in UTF-8 bytes: it must fit a combined prompt alone, with its header (author and
 * channel at their longest: 200 and 100 characters, up to 4 bytes each) and the preamble, so a turn always takes
 * at least the oldest waiting reply. A longer reply is refused when it is queued (413), never stranded.
 */
export const QUEUED_MESSAGE_MAX_BYTES = 120_000;
/** How many replies wait for one session at most (QUEUED_MESSAGES_MAX on the service). */
export const DEFAULT_QUEUED_MESSAGES_MAX = 100;
/** Times a reply is given back to the queue by turns that failed before claude started; then it stays taken. */
export const QUEUED_MESSAGE_MAX_GIVE_BACKS = 3;

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

/** What a reply costs of a combined prompt's budget: its text and its header. */
export const queuedMessageCost = (m: { content: string; author: string; channel: string }) =>
	utf8Bytes(m.content) + utf8Bytes(m.author) + utf8Bytes(m.channel) + QUEUED_MESSAGE_HEADER_BYTES;

export const QueuedMessageIds = z
	.object({
		/** The lease holder, as it claimed the lease. */
		owner: z.string().trim().min(1, 'owner is empty').max(200),
		/** The run that takes (or gives back) the replies: asking again with it answers the same replies. */
		runId: z.string().uuid('runId is not a uuid'),
	})
	.strict();

export const TakeQueuedBody = QueuedMessageIds.extend({
	/**
	 * The budget the taken replies' costs (queuedMessageCost) fit in, oldest first: what is left of the combined
	 * prompt's budget after the Resume's own prompt. Defaults to the whole budget less the preamble.
	 */
	maxBytes: z
		.number()
		.int('maxBytes is a whole number')
		.min(0, 'maxBytes is at least 0')
		.max(COMBINED_PROMPT_BUDGET_BYTES, `maxBytes is at most ${COMBINED_PROMPT_BUDGET_BYTES}`)
		.optional(),
}).strict();
export type TakeQueuedRequest = z.input<typeof TakeQueuedBody>;

/** GET /sessions/:id/queued-messages: the waiting replies, oldest first, a page at a time. */
export const QueuedMessagesQuery = z
	.object({
		limit: z.coerce
			.number({ message: 'limit is a number' })
			.int('limit is a whole number')
			.min(1, 'limit is at least 1')
			.max(500, 'limit is at most 500')
			.default(100),
		/** The id of the last reply of the previous page (its `nextAfter`). */
		after: z.coerce
			.number({ message: 'after is a queued message id' })
			.int('after is a whole number')
			.min(0, 'after is at least 0')
			.max(Number.MAX_SAFE_INTEGER)
			.default(0),
	})
	.strict();

/** POST …/queued-messages/release: what went back to the queue, and what had been given back too often. */
export interface ReleaseQueuedResponse {
	released: number;
	keptTaken: number;
}
