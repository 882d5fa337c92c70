// The part of Slack's Web API that n8n's Slack nodes call, served over TLS with the test CA's leaf for slack.com.
// It keeps a small message store so threads are real: a reply must name the ts of a message in that channel,
// which catches a thread_ts mangled on the way (for example turned into a number and back).
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface SlackMessage {
	channel: string;
	ts: string;
	/** Set on replies; a thread's root message has none. */
	threadTs?: string;
	text: string;
	/** The bot's own messages carry bot_id, as in real Slack. */
	user?: string;
	botId?: string;
	/** Every chat.update of the message, oldest first: the text it set and when (ms). `text` is the latest. */
	edits?: Array<{ text: string; at: number }>;
}

export interface SlackApiCall {
	method: string;
	authorization: string | undefined;
	// Whatever the node sent: tests look at the fields they care about.
	body: Record<string, any>;
	at: number;
}

export interface SlackWebApiOptions {
	cert: string;
	key: string;
	/** Bot token the calls must carry (`Authorization: Bearer <token>`). */
	token: string;
	team?: { id: string; name: string };
	bot?: { userId: string; botId: string; name: string };
}

export interface SlackWebApi {
	port: number;
	calls: SlackApiCall[];
	messages: SlackMessage[];
	/** Messages removed with chat.delete, with when. */
	deleted: Array<SlackMessage & { deletedAt: number }>;
	bot: { userId: string; botId: string; name: string };
	team: { id: string; name: string };
	/** A new Slack timestamp, unique and increasing, in Slack's `seconds.micros` form. */
	nextTs(): string;
	close(): Promise<void>;
}

type Json = Record<string, unknown>;

function parseBody(raw: string, contentType: string | undefined): Json {
	if (!raw) return {};
	if (contentType?.includes('application/json')) {
		try {
			return JSON.parse(raw) as Json;
		} catch {
			return {};
		}
	}
	return Object.fromEntries(new URLSearchParams(raw));
}

export async function startSlackWebApi(opts: SlackWebApiOptions): Promise<SlackWebApi> {
	const team = opts.team ?? { id: 'T0FAKE', name: 'Fake Workspace' };
	const bot = opts.bot ?? { userId: 'U0CLAUDEBOT', botId: 'B0CLAUDEBOT', name: 'claude' };
	const calls: SlackApiCall[] = [];
	const messages: SlackMessage[] = [];
	const deleted: Array<SlackMessage & { deletedAt: number }> = [];
	let seconds = Math.floor(Date.now() / 1000);
	let micros = 0;
	const nextTs = () => {
		micros += 100;
		if (micros > 999_900) {
			seconds += 1;
			micros = 100;
		}
		return `${seconds}.${String(micros).padStart(6, '0')}`;
	};

	const methods: Record<string, (body: Json) => Json> = {
		'auth.test': () => ({
			ok: true,
			url: 'https://fake.slack.com/',
			team: team.name,
			user: bot.name,
			team_id: team.id,
			user_id: bot.userId,
			bot_id: bot.botId,
		}),
		'users.info': (b) => ({
			ok: true,
			user: {
				id: String(b.user ?? ''),
				name: `user-${String(b.user ?? '').toLowerCase()}`,
				real_name: 'Fake User',
				is_bot: b.user === bot.userId,
			},
		}),
		'users.profile.get': () => ({
			ok: true,
			profile: { real_name: 'Fake User', display_name: 'fake' },
		}),
		'conversations.info': (b) => ({
			ok: true,
			channel: {
				id: String(b.channel ?? ''),
				name: `channel-${String(b.channel ?? '').toLowerCase()}`,
				is_channel: true,
			},
		}),
		// https://docs.slack.dev/reference/methods/chat.update: channel and ts name the message, text replaces its
		// text; the answer echoes channel, ts and text, and the message as it now is. Only the author may edit.
		'chat.update': (b) => {
			const channel = typeof b.channel === 'string' ? b.channel : '';
			if (!channel) return { ok: false, error: 'channel_not_found' };
			const ts = typeof b.ts === 'string' ? b.ts : b.ts === undefined ? '' : String(b.ts);
			const message = messages.find((m) => m.channel === channel && m.ts === ts);
			if (!message) return { ok: false, error: 'message_not_found' };
			if (message.botId !== bot.botId) return { ok: false, error: 'cant_update_message' };
			const hasBlocks = (v: unknown) =>
				typeof v === 'string'
					? v.trim() !== '' && v.trim() !== '[]'
					: Array.isArray(v) && v.length > 0;
			const text = b.text === undefined || b.text === null ? '' : String(b.text);
			if (!text && !hasBlocks(b.blocks) && !hasBlocks(b.attachments))
				return { ok: false, error: 'no_text' };
			if (text.length > 40_000) return { ok: false, error: 'msg_too_long' };
			message.text = text;
			(message.edits ??= []).push({ text, at: Date.now() });
			return {
				ok: true,
				channel,
				ts,
				text,
				message: {
					type: 'message',
					user: bot.userId,
					bot_id: bot.botId,
					text,
					...(message.threadTs ? { thread_ts: message.threadTs } : {}),
					edited: { user: bot.userId, ts: nextTs() },
				},
			};
		},
		// https://docs.slack.dev/reference/methods/chat.delete: the author's message by channel and ts.
		'chat.delete': (b) => {
			const channel = typeof b.channel === 'string' ? b.channel : '';
			if (!channel) return { ok: false, error: 'channel_not_found' };
			const ts = typeof b.ts === 'string' ? b.ts : b.ts === undefined ? '' : String(b.ts);
			const at = messages.findIndex((m) => m.channel === channel && m.ts === ts);
			if (at < 0) return { ok: false, error: 'message_not_found' };
			if (messages[at].botId !== bot.botId) return { ok: false, error: 'cant_delete_message' };
			deleted.push({ ...messages[at], deletedAt: Date.now() });
			messages.splice(at, 1);
			return { ok: true, channel, ts };
		},
		'chat.postMessage': (b) => {
			const channel = typeof b.channel === 'string' ? b.channel : '';
			if (!channel) return { ok: false, error: 'channel_not_found' };
			const threadTs =
				b.thread_ts === undefined || b.thread_ts === '' ? undefined : String(b.thread_ts);
			if (threadTs && !messages.some((m) => m.channel === channel && m.ts === threadTs))
				return { ok: false, error: 'thread_not_found' };
			const message: SlackMessage = {
				channel,
				ts: nextTs(),
				threadTs,
				text: String(b.text ?? ''),
				botId: bot.botId,
				user: bot.userId,
			};
			messages.push(message);
			return {
				ok: true,
				channel,
				ts: message.ts,
				message: {
					type: 'message',
					user: bot.userId,
					bot_id: bot.botId,
					text: message.text,
					ts: message.ts,
					...(threadTs ? { thread_ts: threadTs } : {}),
				},
			};
		},
	};

	const server = https.createServer({ cert: opts.cert, key: opts.key }, (req, res) => {
		let raw = '';
		req.setEncoding('utf8');
		req.on('data', (d: string) => (raw += d));
		req.on('end', () => {
			const url = new URL(req.url ?? '/', 'https://slack.com');
			const method = url.pathname.replace(/^\/api\//, '');
			const body = {
				...Object.fromEntries(url.searchParams),
				...parseBody(raw, req.headers['content-type']),
			};
			calls.push({ method, authorization: req.headers.authorization, body, at: Date.now() });
			const handler = methods[method];
			let answer: Json;
			if (req.headers.authorization !== `Bearer ${opts.token}`)
				answer = { ok: false, error: 'invalid_auth' };
			else if (!handler) answer = { ok: false, error: 'unknown_method' };
			else answer = handler(body);
			// Slack answers 200 with ok:false for API errors; the nodes read the flag, not the status.
			res
				.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
				.end(JSON.stringify(answer));
		});
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => resolve());
	});
	return {
		port: (server.address() as AddressInfo).port,
		calls,
		messages,
		deleted,
		bot,
		team,
		nextTs,
		async close() {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
