import * as fs from 'node:fs';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { startFakeSlack, slackSignature, type FakeSlack } from '..';

// What an HTTPS_PROXY-aware client does: CONNECT through the proxy, then TLS to slack.com checked against the CA.
async function callThroughProxy(
	fake: FakeSlack,
	method: string,
	body: unknown,
	token = fake.token,
): Promise<Record<string, unknown>> {
	const proxy = new URL(fake.proxy.url);
	const socket = await new Promise<Socket>((resolve, reject) => {
		const req = http.request({
			host: proxy.hostname,
			port: proxy.port,
			method: 'CONNECT',
			path: 'slack.com:443',
		});
		req.on('connect', (res, sock) =>
			res.statusCode === 200 ? resolve(sock) : reject(new Error(`CONNECT ${res.statusCode}`)),
		);
		req.on('error', reject);
		req.end();
	});
	const ca = fs.readFileSync(fake.env.NODE_EXTRA_CA_CERTS, 'utf8');
	const secure = tls.connect({ socket, servername: 'slack.com', ca });
	await new Promise<void>((resolve, reject) =>
		secure.once('secureConnect', resolve).once('error', reject),
	);
	const payload = JSON.stringify(body);
	return new Promise((resolve, reject) => {
		const req = http.request(
			{
				createConnection: () => secure,
				host: 'slack.com',
				path: `/api/${method}`,
				method: 'POST',
				headers: {
					authorization: `Bearer ${token}`,
					'content-type': 'application/json; charset=utf-8',
					'content-length': Buffer.byteLength(payload),
				},
			},
			(res) => {
				let text = '';
				res.on('data', (d) => (text += d));
				res.on('end', () => resolve(JSON.parse(text)));
			},
		);
		req.on('error', reject);
		req.end(payload);
	});
}

describe('fake Slack (CONNECT proxy + TLS Web API)', () => {
	let fake: FakeSlack;
	beforeAll(async () => {
		fake = await startFakeSlack();
	});
	afterAll(async () => {
		await fake?.close();
	});

	it('serves chat.postMessage for slack.com through the proxy, with a certificate the test CA signed', async () => {
		const root = await callThroughProxy(fake, 'chat.postMessage', {
			channel: 'C0TEST',
			text: 'root',
		});
		expect(root).toMatchObject({ ok: true, channel: 'C0TEST' });
		const reply = await callThroughProxy(fake, 'chat.postMessage', {
			channel: 'C0TEST',
			text: 'reply',
			thread_ts: root.ts,
		});
		expect(reply).toMatchObject({ ok: true, message: { thread_ts: root.ts } });
		expect(
			fake.botMessages({ channel: 'C0TEST', threadTs: root.ts as string }).map((m) => m.text),
		).toEqual(['reply']);
		expect(fake.proxy.log.filter((e) => e.kind === 'intercepted').map((e) => e.target)).toContain(
			'slack.com:443',
		);
	});

	it('refuses a thread that does not exist and a wrong token, as Slack does', async () => {
		expect(
			await callThroughProxy(fake, 'chat.postMessage', {
				channel: 'C0TEST',
				text: 'x',
				thread_ts: '1700000000.0001',
			}),
		).toEqual({ ok: false, error: 'thread_not_found' });
		expect(
			await callThroughProxy(
				fake,
				'chat.postMessage',
				{ channel: 'C0TEST', text: 'x' },
				'xoxb-wrong',
			),
		).toEqual({ ok: false, error: 'invalid_auth' });
	});

	it("edits and deletes the bot's own message with chat.update and chat.delete, answering as Slack does", async () => {
		const root = await callThroughProxy(fake, 'chat.postMessage', {
			channel: 'C0EDIT',
			text: 'root',
		});
		const working = await callThroughProxy(fake, 'chat.postMessage', {
			channel: 'C0EDIT',
			text: 'working…',
			thread_ts: root.ts,
		});
		const ts = working.ts as string;
		const updated = await callThroughProxy(fake, 'chat.update', {
			channel: 'C0EDIT',
			ts,
			text: 'done',
		});
		expect(updated).toMatchObject({
			ok: true,
			channel: 'C0EDIT',
			ts,
			text: 'done',
			message: { text: 'done', bot_id: fake.api.bot.botId, thread_ts: root.ts },
		});
		const edited = fake.api.messages.find((m) => m.ts === ts)!;
		expect(edited.text).toBe('done');
		expect(edited.edits?.map((e) => e.text)).toEqual(['done']);
		// Still one message in the thread: an update is not a new post.
		expect(fake.botMessages({ channel: 'C0EDIT', threadTs: root.ts as string })).toHaveLength(1);

		// A ts that went through a number loses its trailing zeros and names no message.
		expect(
			await callThroughProxy(fake, 'chat.update', {
				channel: 'C0EDIT',
				ts: String(Number(ts)),
				text: 'x',
			}),
		).toEqual({ ok: false, error: 'message_not_found' });
		expect(
			await callThroughProxy(fake, 'chat.update', { channel: 'C0OTHER', ts, text: 'x' }),
		).toEqual({ ok: false, error: 'message_not_found' });
		expect(await callThroughProxy(fake, 'chat.update', { ts, text: 'x' })).toEqual({
			ok: false,
			error: 'channel_not_found',
		});
		expect(
			await callThroughProxy(fake, 'chat.update', { channel: 'C0EDIT', ts, text: '' }),
		).toEqual({ ok: false, error: 'no_text' });
		// A person's message (as sendUserMessage stores it) is not the bot's to edit.
		const theirs = {
			channel: 'C0EDIT',
			ts: fake.api.nextTs(),
			text: 'from a person',
			user: 'U0PERSON',
		};
		fake.api.messages.push(theirs);
		expect(
			await callThroughProxy(fake, 'chat.update', { channel: 'C0EDIT', ts: theirs.ts, text: 'x' }),
		).toEqual({ ok: false, error: 'cant_update_message' });
		expect(theirs.text).toBe('from a person');
		expect(edited.edits).toHaveLength(1);

		expect(
			await callThroughProxy(fake, 'chat.delete', { channel: 'C0EDIT', ts: theirs.ts }),
		).toEqual({ ok: false, error: 'cant_delete_message' });
		expect(await callThroughProxy(fake, 'chat.delete', { channel: 'C0EDIT', ts })).toEqual({
			ok: true,
			channel: 'C0EDIT',
			ts,
		});
		expect(fake.botMessages({ channel: 'C0EDIT', threadTs: root.ts as string })).toHaveLength(0);
		expect(fake.api.deleted.map((m) => m.ts)).toContain(ts);
		expect(await callThroughProxy(fake, 'chat.delete', { channel: 'C0EDIT', ts })).toEqual({
			ok: false,
			error: 'message_not_found',
		});
	});

	it('refuses tunnels to anywhere but Slack and loopback', async () => {
		const proxy = new URL(fake.proxy.url);
		const status = await new Promise<number | undefined>((resolve, reject) => {
			const req = http.request({
				host: proxy.hostname,
				port: proxy.port,
				method: 'CONNECT',
				path: 'example.com:443',
			});
			req.on('connect', (res, sock) => {
				sock.destroy();
				resolve(res.statusCode);
			});
			req.on('error', reject);
			req.end();
		});
		expect(status).toBe(403);
		expect(fake.proxy.log.some((e) => e.kind === 'refused' && e.target === 'example.com:443')).toBe(
			true,
		);
	});

	it("signs like Slack's documented example", () => {
		const body =
			'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
		expect(slackSignature('8f742231b10e8888abcd99yyyzzz85a5', 1531420618, body)).toBe(
			'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
		);
	});
});
