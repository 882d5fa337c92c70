// An SMTP server that accepts every message on loopback and keeps it, parsed, for assertions: the real protocol
// that n8n (nodemailer) speaks, without delivering anything anywhere.
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { sleep } from '../../support/wait';

export interface SunkMail {
	envelope: { from: string | undefined; to: string[] };
	authUser: string | undefined;
	raw: string;
	messageId: string | undefined;
	inReplyTo: string | undefined;
	/** Always a list (mailparser gives a string for a single reference). */
	references: string[];
	subject: string | undefined;
	from: string | undefined;
	text: string;
	at: number;
}

export interface SmtpSink {
	host: string;
	port: number;
	mails: SunkMail[];
	waitForMail(
		predicate: (m: SunkMail) => boolean,
		timeoutMs: number,
		what?: string,
	): Promise<SunkMail>;
	close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
	const mails: SunkMail[] = [];
	const server = new SMTPServer({
		secure: false,
		// nodemailer would upgrade to TLS when offered; a loopback sink has no certificate to offer.
		disabledCommands: ['STARTTLS'],
		authOptional: true,
		logger: false,
		// close() waits for clients to hang up; a client that does not must not hold a test's teardown for 30 s.
		closeTimeout: 2_000,
		onAuth(auth, _session, callback) {
			callback(null, { user: auth.username });
		},
		onData(stream, session, callback) {
			const chunks: Buffer[] = [];
			stream.on('data', (c: Buffer) => chunks.push(c));
			stream.on('end', () => {
				const raw = Buffer.concat(chunks).toString('utf8');
				simpleParser(raw)
					.then((parsed) => {
						const refs = parsed.references;
						mails.push({
							envelope: {
								from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
								to: session.envelope.rcptTo.map((r) => r.address),
							},
							authUser: typeof session.user === 'string' ? session.user : undefined,
							raw,
							messageId: parsed.messageId,
							inReplyTo: parsed.inReplyTo,
							references: Array.isArray(refs) ? refs : refs ? [refs] : [],
							subject: parsed.subject,
							from: parsed.from?.value[0]?.address,
							text: parsed.text ?? '',
							at: Date.now(),
						});
						callback();
					})
					.catch((error: Error) => callback(error));
			});
		},
	});
	await new Promise<void>((resolve, reject) => {
		server.server.once('error', reject);
		server.listen(0, '127.0.0.1', () => resolve());
	});
	const { port } = server.server.address() as AddressInfo;
	return {
		host: '127.0.0.1',
		port,
		mails,
		async waitForMail(predicate, timeoutMs, what = 'a matching mail') {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const found = mails.find(predicate);
				if (found) return found;
				if (Date.now() > deadline) {
					const seen =
						mails.map((m) => `${m.subject} → ${m.envelope.to.join(',')}`).join('\n') || '(none)';
					throw new Error(`SMTP sink: no ${what} within ${timeoutMs} ms; received:\n${seen}`);
				}
				await sleep(200);
			}
		},
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}
