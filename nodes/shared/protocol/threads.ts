// What a workflow keeps about a conversation thread, on the wire: PUT /threads/:key, and threadMetadata with a new
// session (the nodes' Thread Metadata option). Budget Warning / Budget Reached carry it to the mail template.
import { z } from 'zod';
import type { WireDate } from './fields';
import type { Session } from './sessions';

// These values end up in the headers of a mail the service's events ask a workflow to send: a line break would let
// whoever wrote them add headers (Bcc) to that mail, so one header line each, checked here rather than by every sender.
const ONE_LINE = /^[^\r\n\0]*$/;
const headerLine = (max: number) =>
	z.string().max(max).regex(ONE_LINE, 'must be one line (no CR, LF or NUL)');
const MessageId = z
	.string()
	.max(998)
	.regex(/^<[^<>\s]+>$/, 'a Message-ID looks like <local@domain>: angle brackets, no spaces');

/**
 * Where an email thread is answered: the address, the subject, and the message a reply threads on
 * (In-Reply-To) with the chain before it (References, oldest first, ending with that message).
 */
export const EmailThreadReply = z
	.object({
		// One bare address; lenient on the rest (user@localhost, non-ASCII) so an unusual sender still gets answers.
		replyTo: z
			.string()
			.max(254)
			.regex(
				/^[^\s<>()@,;:"\\[\]]+@[^\s<>()@,;:"\\[\]]+$/,
				'replyTo must be one email address such as alice@example.com',
			),
		subject: headerLine(998).optional(),
		inReplyTo: MessageId.optional(),
		references: z
			.array(MessageId)
			.max(100, 'references keeps at most the last 100 Message-IDs')
			.optional(),
	})
	.strict();
export type EmailThreadReply = z.infer<typeof EmailThreadReply>;

/** Free-form, but `email` (how to answer the thread by mail) is checked: it goes into mail headers. */
export const ThreadMetadata = z
	.object({ email: EmailThreadReply.optional() })
	.catchall(z.unknown())
	.refine((m) => JSON.stringify(m).length <= 64 * 1024, 'thread metadata is limited to 64 KB');
export type ThreadMetadata = z.infer<typeof ThreadMetadata>;

/** GET /threads/:key: the binding; with `?include=session` also the session (as GET /sessions/:id, without totals). */
export interface Thread<D = WireDate> {
	key: string;
	sessionId: string;
	sessionStatus: string;
	metadata: Record<string, unknown>;
	createdAt: D;
	updatedAt: D;
	session?: Session<D>;
}
