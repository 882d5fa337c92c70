// Mail from Alice to the stack's mailbox, appended over IMAP as if it had arrived from her mail client.
import { imapAppend } from '../fakes/mail';
import { MAIL, type E2eStack } from './stack';

/** The IMAP login of the mailbox the Email Trigger watches. */
export const mailbox = (stack: E2eStack) => ({
	host: stack.dovecot.host,
	port: stack.dovecot.port,
	user: MAIL.address,
	password: MAIL.password,
});

/** An email from Alice, as her mail client would send it (a reply names what it answers and the chain). */
function email(h: {
	messageId: string;
	subject: string;
	text: string;
	inReplyTo?: string;
	references?: string[];
}): string {
	return [
		'From: Alice Customer <alice@example.test>',
		`To: ${MAIL.from} <${MAIL.address}>`,
		`Subject: ${h.subject}`,
		`Message-ID: ${h.messageId}`,
		...(h.inReplyTo ? [`In-Reply-To: ${h.inReplyTo}`] : []),
		...(h.references ? [`References: ${h.references.join(' ')}`] : []),
		`Date: ${new Date().toUTCString()}`,
		'MIME-Version: 1.0',
		'Content-Type: text/plain; charset=utf-8',
		'',
		h.text,
		'',
	].join('\r\n');
}

/** Delivers an email from Alice into the stack's mailbox, where the Email Trigger finds it. */
export const mailFromAlice = (stack: E2eStack, h: Parameters<typeof email>[0]) =>
	imapAppend(mailbox(stack), email(h));
