// Runs with the e2e suite, not npm test: it needs dovecot (apt dovecot-imapd), like the email scenario.
import * as net from 'node:net';
import {
	imapAppend,
	imapSearch,
	startDovecot,
	startSmtpSink,
	type Dovecot,
	type SmtpSink,
} from '../fakes/mail';

const USER = { user: 'claude@example.test', password: 'imap-pass' };

const MESSAGE = [
	'From: Alice <alice@example.test>',
	'To: claude@example.test',
	'Subject: Hello',
	'Message-ID: <m1.alice@example.test>',
	'Date: Tue, 24 Nov 2026 10:00:00 +0000',
	'',
	'Hi there',
	'',
].join('\n');

// Speaks SMTP by hand so the sink is checked against the protocol, not against one client library.
async function sendRawSmtp(port: number, from: string, to: string, data: string): Promise<void> {
	const socket = net.connect(port, '127.0.0.1');
	socket.setEncoding('utf8');
	let buffer = '';
	const reply = () =>
		new Promise<string>((resolve, reject) => {
			const check = () => {
				const m = /(^|\r\n)(\d{3}) [^\r\n]*\r\n$/.exec(buffer);
				if (!m) return;
				socket.off('data', onData);
				const text = buffer;
				buffer = '';
				if (Number(m[2]) >= 400) reject(new Error(text));
				else resolve(text);
			};
			const onData = (d: string) => {
				buffer += d;
				check();
			};
			socket.on('data', onData);
			check();
		});
	try {
		await reply();
		for (const line of ['EHLO test.local', `MAIL FROM:<${from}>`, `RCPT TO:<${to}>`, 'DATA']) {
			socket.write(`${line}\r\n`);
			await reply();
		}
		socket.write(`${data.replace(/\r?\n/g, '\r\n')}\r\n.\r\n`);
		await reply();
		socket.write('QUIT\r\n');
	} finally {
		socket.destroy();
	}
}

describe('mail fakes', () => {
	let dovecot: Dovecot;
	let sink: SmtpSink;
	beforeAll(async () => {
		dovecot = await startDovecot([USER]);
		sink = await startSmtpSink();
	}, 30_000);
	afterAll(async () => {
		await dovecot?.stop();
		await sink?.close();
	});

	it('APPENDs a message that stays UNSEEN in a private dovecot', async () => {
		const target = { host: dovecot.host, port: dovecot.port, ...USER };
		const uid = await imapAppend(target, MESSAGE);
		expect(uid).toBeGreaterThan(0);
		expect(await imapSearch(target, 'UNSEEN')).toEqual([uid]);
		expect(await imapSearch(target, 'HEADER Message-ID m1.alice')).toEqual([uid]);
	});

	it('refuses a wrong IMAP password', async () => {
		await expect(
			imapAppend(
				{ host: dovecot.host, port: dovecot.port, user: USER.user, password: 'nope' },
				MESSAGE,
			),
		).rejects.toThrow(/LOGIN failed/);
	});

	it('keeps what the SMTP sink receives, with the thread headers parsed', async () => {
		await sendRawSmtp(
			sink.port,
			'claude@example.test',
			'alice@example.test',
			[
				'From: claude@example.test',
				'To: alice@example.test',
				'Subject: Re: Hello',
				'Message-ID: <r1@example.test>',
				'In-Reply-To: <m1.alice@example.test>',
				'References: <m0@example.test> <m1.alice@example.test>',
				'',
				'Answer',
			].join('\n'),
		);
		const mail = await sink.waitForMail((m) => m.subject === 'Re: Hello', 5_000);
		expect(mail).toMatchObject({
			envelope: { from: 'claude@example.test', to: ['alice@example.test'] },
			inReplyTo: '<m1.alice@example.test>',
			references: ['<m0@example.test>', '<m1.alice@example.test>'],
		});
		expect(mail.text.trim()).toBe('Answer');
	});
});
