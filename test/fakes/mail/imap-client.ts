// A tiny IMAP client for tests. imapAppend delivers a message with APPEND and no flags, so it arrives UNSEEN as
// if an MTA had delivered it (curl's IMAP upload always sets \Seen, and n8n's trigger only picks up UNSEEN mail).
import * as net from 'node:net';

const IMAP_TIMEOUT_MS = 15_000;

export interface ImapTarget {
	host: string;
	port: number;
	user: string;
	password: string;
}

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** A minimal tagged-command IMAP conversation over plain TCP (loopback tests only). */
class ImapConversation {
	private buffer = '';
	private waiters: Array<() => void> = [];
	private tag = 0;
	private closed: Error | undefined;

	constructor(private readonly socket: net.Socket) {
		socket.setEncoding('utf8');
		socket.on('data', (d: string) => {
			this.buffer += d;
			this.wake();
		});
		const fail = (e: Error) => {
			this.closed = e;
			this.wake();
		};
		socket.on('error', fail);
		socket.on('close', () => fail(new Error('IMAP server closed the connection')));
	}

	private wake() {
		for (const w of this.waiters.splice(0)) w();
	}

	/** The next complete line from the server. */
	async line(): Promise<string> {
		const deadline = Date.now() + IMAP_TIMEOUT_MS;
		for (;;) {
			const nl = this.buffer.indexOf('\r\n');
			if (nl !== -1) {
				const line = this.buffer.slice(0, nl);
				this.buffer = this.buffer.slice(nl + 2);
				return line;
			}
			if (this.closed) throw this.closed;
			const left = deadline - Date.now();
			if (left <= 0) throw new Error('IMAP server did not answer in time');
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, left);
				this.waiters.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
	}

	/** Sends a command (with an optional literal) and returns the untagged lines it produced and its tagged OK. */
	async command(text: string, literal?: Buffer): Promise<{ untagged: string[]; done: string }> {
		const tag = `t${++this.tag}`;
		const verb = text.split(' ')[0];
		const untagged: string[] = [];
		this.socket.write(literal ? `${tag} ${text} {${literal.length}}\r\n` : `${tag} ${text}\r\n`);
		for (;;) {
			const line = await this.line();
			if (literal && line.startsWith('+')) {
				this.socket.write(Buffer.concat([literal, Buffer.from('\r\n')]));
				continue;
			}
			if (line.startsWith(`${tag} `)) {
				if (!line.startsWith(`${tag} OK`)) throw new Error(`IMAP ${verb} failed: ${line}`);
				return { untagged, done: line };
			}
			untagged.push(line);
		}
	}
}

async function withSession<T>(
	target: ImapTarget,
	fn: (imap: ImapConversation) => Promise<T>,
): Promise<T> {
	const socket = net.connect(target.port, target.host);
	const imap = new ImapConversation(socket);
	try {
		const greeting = await imap.line();
		if (!greeting.startsWith('* OK')) throw new Error(`unexpected IMAP greeting: ${greeting}`);
		await imap.command(`LOGIN ${quote(target.user)} ${quote(target.password)}`);
		const result = await fn(imap);
		await imap.command('LOGOUT').catch(() => undefined);
		return result;
	} finally {
		socket.destroy();
	}
}

/** APPENDs `message` (a complete RFC 5322 message) to `mailbox` with an empty flag list; returns the new UID. */
export function imapAppend(
	target: ImapTarget,
	message: string | Buffer,
	mailbox = 'INBOX',
): Promise<number | undefined> {
	const bytes = Buffer.isBuffer(message) ? message : Buffer.from(message.replace(/\r?\n/g, '\r\n'));
	return withSession(target, async (imap) => {
		// "()" is the explicit empty flag list: without \Seen the message counts as new.
		const { done } = await imap.command(`APPEND ${quote(mailbox)} ()`, bytes);
		const uid = /APPENDUID \d+ (\d+)/.exec(done);
		return uid ? Number(uid[1]) : undefined;
	});
}

/** UIDs matching an IMAP SEARCH (e.g. `UNSEEN`, `SEEN`), to see what a reader has marked. */
export function imapSearch(
	target: ImapTarget,
	criteria: string,
	mailbox = 'INBOX',
): Promise<number[]> {
	return withSession(target, async (imap) => {
		await imap.command(`EXAMINE ${quote(mailbox)}`);
		const { untagged } = await imap.command(`UID SEARCH ${criteria}`);
		const line = untagged.find((l) => l.startsWith('* SEARCH')) ?? '* SEARCH';
		return line.slice('* SEARCH'.length).trim().split(/\s+/).filter(Boolean).map(Number);
	});
}
