import { z } from 'zod';
import { scrubValue } from '../scrub';

// These values end up in the headers of a mail the service's events ask a workflow to send: a line break would let
// whoever wrote them add headers (Bcc) to that mail, so one header line each, checked here rather than by every sender.
const ONE_LINE = /^[^\r\n\0]*$/;
const headerLine = (max: number) => z.string().max(max).regex(ONE_LINE, 'must be one line (no CR, LF or NUL)');
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
			.regex(/^[^\s<>()@,;:"\\[\]]+@[^\s<>()@,;:"\\[\]]+$/, 'replyTo must be one email address such as alice@example.com'),
		subject: headerLine(998).optional(),
		inReplyTo: MessageId.optional(),
		references: z.array(MessageId).max(100, 'references keeps at most the last 100 Message-IDs').optional(),
	})
	.strict();
export type EmailThreadReply = z.infer<typeof EmailThreadReply>;

/**
 * What a workflow keeps about a thread (PUT /threads/:key, or threadMetadata with a new session). Free-form, but
 * `email` (how to answer the thread by mail) is checked, because Budget Warning / Budget Reached carry it to mail
 * templates. Shown to Hook Trigger workflows and on the dashboard: secrets masked like every other stored payload.
 */
export const ThreadMetadata = z
	.object({ email: EmailThreadReply.optional() })
	.catchall(z.unknown())
	.refine((m) => JSON.stringify(m).length <= 64 * 1024, 'thread metadata is limited to 64 KB')
	.transform((m) => scrubValue(m, 64 * 1024).value);
export type ThreadMetadata = z.infer<typeof ThreadMetadata>;
