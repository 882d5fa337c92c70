import crypto from 'node:crypto';
import net from 'node:net';
import zlib from 'node:zlib';
import { createAuth } from '../../src/http/auth';
import {
	api,
	DATABASE_KINDS,
	startTestService,
	TEST_API_KEY,
	type TestService,
} from '../../../test/support/test-service';
import { sleep } from '../../../test/support/wait';

// Each case here is an attack or a careless client that the service once answered wrongly: an approval reused for
// another call, a hook token posting the service's own events, upper-case session ids, cursors with dates that do
// not exist, a tool filter that backtracks, hook tokens that never ended, bodies read before the credential, a 413
// lost on Connection: close, a dashboard without security headers, and pages of unbounded size.

type Json = Record<string, any>;

const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** Cursors whose time has the right shape and names a moment that does not exist. */
export const IMPOSSIBLE_CURSOR_TIMES = [
	'2024-02-30 10:00:00+00',
	'2023-02-29 10:00:00+00',
	'2024-13-45 99:99:99+99',
	'2024-04-31 00:00:00+00',
	'2024-01-01 24:00:00+00',
	'2024-01-01 10:60:00+00',
	'2024-01-01 10:00:60+00',
	'2024-00-10 10:00:00+00',
	'2024-01-00 10:00:00+00',
	'2024-01-01 10:00:00+16',
	'2024-01-01 10:00:00+05:60',
];

/**
 * A client as simple ones are written: it writes the whole request, and only then reads the answer. An answer the
 * server gives early and follows by closing the socket makes the kernel reset the connection while this client is
 * still writing, and the answer is lost (`error` says how).
 */
function writeThenRead(
	port: number,
	head: string,
	body: Buffer,
	ms = 15_000,
): Promise<{ text: string; error?: string }> {
	return new Promise((resolve) => {
		const socket = net.connect(port, '127.0.0.1');
		socket.pause();
		let text = '';
		let error: string | undefined;
		const timer = setTimeout(() => socket.destroy(), ms);
		socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
		socket.on('close', () => {
			clearTimeout(timer);
			resolve({ text, error });
		});
		socket.write(head);
		let sent = 0;
		const chunk = 64 * 1024;
		const pump = () => {
			while (sent < body.length && !socket.destroyed) {
				const piece = body.subarray(sent, sent + chunk);
				sent += piece.length;
				const last = sent >= body.length;
				const ok = socket.write(piece, last ? () => read() : undefined);
				if (!ok && !last) return void socket.once('drain', pump);
			}
		};
		const read = () => {
			socket.on('data', (d) => (text += d.toString('latin1')));
			socket.resume();
		};
		pump();
	});
}

describe.each(DATABASE_KINDS)('hardening (%s)', (kind) => {
	let svc: TestService;
	let port: number;
	beforeAll(async () => {
		svc = await startTestService(kind, {
			HOOK_ACK_TIMEOUT_MS: '30000',
			APPROVAL_SWEEP_MS: '0',
			HOOK_TOKEN_GRACE: '2s',
			BODY_LIMIT_BYTES: String(256 * 1024),
			READ_PAGE_MAX_BYTES: String(256 * 1024),
			HTTP_HEADERS_TIMEOUT_MS: '2000',
			HTTP_REQUEST_TIMEOUT_MS: '4000',
			DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
			DELIVERY_POLL_INTERVAL_MS: '60000',
		});
		port = Number(new URL(svc.url).port);
	}, 60_000);
	afterAll(async () => {
		await svc?.stop();
	});

	async function session(body: Json = {}) {
		const created = await api(svc, 'POST', '/api/v1/sessions', {
			workspaceType: 'local',
			workspacePath: '/srv/repo',
			...body,
		});
		expect(created.status).toBe(201);
		return {
			id: created.body.id as string,
			token: created.body.hookToken as string,
			hook: { Authorization: `Bearer ${created.body.hookToken}` },
		};
	}
	/** A session whose approval policy gates `rules`, decided by alice@example.com. */
	async function gatedSession(rules: string[]) {
		const s = await session();
		const policy = { rules, deciders: ['alice@example.com'] };
		expect((await api(svc, 'PUT', `/api/v1/sessions/${s.id}/approval-policy`, policy)).status).toBe(
			200,
		);
		return s;
	}
	const eventCount = async (id: string) =>
		Number(
			(
				await svc.db.query<{ n: number }>(
					'SELECT count(*)::int AS n FROM hook_events WHERE session_id = $1',
					[id],
				)
			).rows[0].n,
		);
	/** The same post through the node:http fast path (plain JSON) and through Express (gzip-encoded). */
	const bothLayers = async (payload: Json, headers: Record<string, string>) => {
		const fast = await api(svc, 'POST', '/api/v1/hooks', payload, headers);
		const res = await fetch(`${svc.url}/api/v1/hooks`, {
			method: 'POST',
			headers: { ...headers, 'content-type': 'application/json', 'content-encoding': 'gzip' },
			body: zlib.gzipSync(JSON.stringify(payload)),
		});
		return [fast, { status: res.status, body: await res.json() }];
	};

	describe('an approval answers only the call it was asked for', () => {
		const preToolUse = (sessionId: string, toolUseId: string, tool: string, input: Json) => ({
			session_id: sessionId,
			hook_event_name: 'PreToolUse',
			cwd: '/srv/repo',
			tool_name: tool,
			tool_input: input,
			tool_use_id: toolUseId,
		});

		it('denies the approved tool_use_id with another command or another tool, and leaves the approval as it was', async () => {
			const s = await gatedSession(['Bash(rm *)', 'Write']);
			const hook = (p: Json) => api(svc, 'POST', '/api/v1/hooks?approvals=required', p, s.hook);
			const asked = preToolUse(s.id, 'toolu_X', 'Bash', {
				command: 'rm -rf /tmp/build',
				description: 'clean',
			});
			expect((await hook(asked)).body.hookSpecificOutput.permissionDecision).toBe('defer');
			const [approval] = (await api(svc, 'GET', `/api/v1/approvals?sessionId=${s.id}`)).body.items;
			expect(
				(
					await api(svc, 'POST', `/api/v1/approvals/${approval.id}/decision`, {
						decision: 'approve',
						decidedBy: 'alice@example.com',
					})
				).status,
			).toBe(200);

			for (const other of [
				preToolUse(s.id, 'toolu_X', 'Bash', {
					command: 'rm -rf / --no-preserve-root',
					description: 'clean',
				}),
				preToolUse(s.id, 'toolu_X', 'Write', {
					file_path: '/etc/passwd',
					content: 'root::0:0::/:/bin/sh',
				}),
				preToolUse(s.id, 'toolu_X', 'Bash', { command: 'rm -rf /tmp/build' }), // a field dropped is another input too
			]) {
				const res = await hook(other);
				expect(res.status).toBe(200);
				expect(res.body.hookSpecificOutput.permissionDecision).toBe('deny');
				expect(res.body.hookSpecificOutput.permissionDecisionReason).toMatch(
					new RegExp(`not the call approval ${approval.id} was asked for`),
				);
			}
			const after = (await api(svc, 'GET', `/api/v1/approvals/${approval.id}`)).body;
			expect(after).toMatchObject({
				status: 'approved',
				decidedBy: 'alice@example.com',
				toolInput: asked.tool_input,
			});
			// Key order is not part of the call: the same input with its keys the other way round is still allowed.
			const same = await hook({
				...asked,
				tool_input: { description: 'clean', command: 'rm -rf /tmp/build' },
			});
			expect(same.body.hookSpecificOutput).toMatchObject({ permissionDecision: 'allow' });
			expect(same.body.hookSpecificOutput.permissionDecisionReason).toMatch(
				/Approved by alice@example.com/,
			);
		});

		it('compares a request recorded before digests were kept on its stored input', async () => {
			const s = await gatedSession(['Bash(rm *)']);
			const asked = preToolUse(s.id, 'toolu_OLD', 'Bash', { command: 'rm -rf /tmp/old' });
			const hook = (p: Json) => api(svc, 'POST', '/api/v1/hooks?approvals=required', p, s.hook);
			await hook(asked);
			const [approval] = (await api(svc, 'GET', `/api/v1/approvals?sessionId=${s.id}`)).body.items;
			await svc.db.query('UPDATE approvals SET call_digest = NULL WHERE id = $1', [approval.id]);
			await api(svc, 'POST', `/api/v1/approvals/${approval.id}/decision`, {
				decision: 'approve',
				decidedBy: 'alice@example.com',
			});
			expect(
				(await hook({ ...asked, tool_input: { command: 'rm -rf /' } })).body.hookSpecificOutput
					.permissionDecision,
			).toBe('deny');
			expect((await hook(asked)).body.hookSpecificOutput.permissionDecision).toBe('allow');
		});
	});

	describe("the service's own events are reserved", () => {
		it.each([
			['ApprovalRequested', {}, /ApprovalRequested is an event the service records itself/],
			['ApprovalDecided', {}, /ApprovalDecided is an event the service records itself/],
			['BudgetWarning', {}, /BudgetWarning is an event the service records itself/],
			['BudgetReached', {}, /BudgetReached is an event the service records itself/],
			[
				'PermissionDenied',
				{ source: 'run' },
				/source "run" marks events the service records itself/,
			],
			[
				'Notification',
				{ source: 'service' },
				/source "service" marks events the service records itself/,
			],
		])(
			'refuses %s %j from a hook token with 403, in both HTTP layers, and stores nothing',
			async (name, extra, message) => {
				const s = await session();
				const payload = {
					session_id: s.id,
					hook_event_name: name,
					thread_key: 'slack:C0OTHER:1700000000.000100',
					approval_id: crypto.randomUUID(),
					tool_name: 'Bash',
					...extra,
				};
				for (const res of await bothLayers(payload, s.hook)) {
					expect(res.status).toBe(403);
					expect(res.body.message).toMatch(message);
				}
				expect(await eventCount(s.id)).toBe(0);
				// SessionStart's own `source` values are Claude Code's, not reserved.
				expect(
					(
						await api(
							svc,
							'POST',
							'/api/v1/hooks',
							{ session_id: s.id, hook_event_name: 'SessionStart', source: 'startup' },
							s.hook,
						)
					).status,
				).toBe(200);
			},
		);
	});

	describe('session ids are lower-cased at the edge', () => {
		it('takes an upper-case id end to end: create, hooks with its token, reads, threads, subscriptions', async () => {
			const id = crypto.randomUUID();
			const upper = id.toUpperCase();
			const created = await api(svc, 'POST', '/api/v1/sessions', { id: upper, prompt: 'upper' });
			expect(created.status).toBe(201);
			expect(created.body.id).toBe(id);
			const hook = { Authorization: `Bearer ${created.body.hookToken}` };
			for (const sid of [upper, id]) {
				const res = await api(
					svc,
					'POST',
					'/api/v1/hooks',
					{ session_id: sid, hook_event_name: 'UserPromptSubmit', prompt: sid },
					hook,
				);
				expect(res.status).toBe(200);
			}
			expect(await eventCount(id)).toBe(2);
			expect((await api(svc, 'GET', `/api/v1/sessions/${upper}`)).body.id).toBe(id);
			const token = (await api(svc, 'POST', `/api/v1/sessions/${upper}/hook-token`)).body
				.hookToken as string;
			expect(token.split('.')[1]).toBe(id);
			const threadKey = `slack:C1:${Date.now()}.000001`;
			expect(
				(await api(svc, 'PUT', `/api/v1/threads/${threadKey}`, { sessionId: upper })).body
					.sessionId,
			).toBe(id);
			const sub = await api(svc, 'POST', '/api/v1/subscriptions', {
				url: `http://127.0.0.1:9/upper/${id}`,
				sessionId: upper,
			});
			expect(sub.body.sessionId).toBe(id);
		});
	});

	describe('cursors with dates that do not exist', () => {
		it('answer 400 with a message on every keyset route, never 500', async () => {
			const s = await session();
			const routes: Array<[string, (t: string) => unknown]> = [
				['/api/v1/sessions', (t) => ({ t, id: s.id })],
				[`/api/v1/sessions/${s.id}/logs`, (t) => ({ t, id: 1 })],
				['/api/v1/approvals', (t) => ({ t, id: crypto.randomUUID() })],
			];
			for (const [route, cursor] of routes) {
				for (const t of IMPOSSIBLE_CURSOR_TIMES) {
					const res = await api(svc, 'GET', `${route}?cursor=${encode(cursor(t))}`);
					expect({ route, t, status: res.status }).toEqual({ route, t, status: 400 });
					expect(res.body.message).toMatch(/invalid cursor/);
				}
				// A real date in the same spelling still pages (leap day included).
				expect(
					(
						await api(
							svc,
							'GET',
							`${route}?cursor=${encode(cursor('2024-02-29 23:59:59.123456+05:30'))}`,
						)
					).status,
				).toBe(200);
			}
		});
	});

	describe('tool filters cannot backtrack', () => {
		it('refuses what is not a list of names and globs, and matches a hostile tool name at once', async () => {
			for (const filter of ['(a|a)+', '(a+)+$', 'Bash[', '.{1,1000}', 'a\\d', '(?=x)']) {
				const res = await api(svc, 'POST', '/api/v1/subscriptions', {
					url: `http://127.0.0.1:9/f/${crypto.randomUUID()}`,
					toolFilter: filter,
				});
				expect({ filter, status: res.status }).toEqual({ filter, status: 400 });
				expect(res.body.message).toMatch(
					/toolFilter: .*a tool filter is tool names separated by \|/,
				);
			}
			for (const filter of [
				'Bash',
				'Edit|Write',
				'mcp__github__.*',
				'mcp__*__get_*',
				'^(Edit|Write)$',
				'*',
			]) {
				const res = await api(svc, 'POST', '/api/v1/subscriptions', {
					url: `http://127.0.0.1:9/f/${crypto.randomUUID()}`,
					toolFilter: filter,
				});
				expect({ filter, status: res.status }).toEqual({ filter, status: 201 });
				expect(res.body.toolFilter).toBe(filter);
			}
			// A stored regex from before (written straight into the table) is read as a glob or matches nothing; either way
			// an event whose tool name would have made it backtrack is stored at once.
			await svc.db.query(
				`INSERT INTO subscriptions (id, url, events, tool_filter, secret) VALUES ($1, $2, '[]', '(a|a)+', 'whsec_0123456789abcdef0123')`,
				[crypto.randomUUID(), `http://127.0.0.1:9/legacy/${crypto.randomUUID()}`],
			);
			const s = await session();
			const started = process.hrtime.bigint();
			const res = await api(
				svc,
				'POST',
				'/api/v1/hooks',
				{
					session_id: s.id,
					hook_event_name: 'PreToolUse',
					tool_name: `${'a'.repeat(40)}!`,
					tool_use_id: 'toolu_a',
				},
				s.hook,
			);
			const ms = Number(process.hrtime.bigint() - started) / 1e6;
			expect(res.status).toBe(200);
			expect(ms).toBeLessThan(1000); // the regex took 1.3 s at 26 characters, doubling with each one more
		});
	});

	describe('hook tokens end', () => {
		const stop = (sessionId: string, n = 0) => ({
			session_id: sessionId,
			hook_event_name: 'Notification',
			message: `n${n}`,
		});

		it("a new run's token revokes the previous one; a revoked session takes no hooks; 401 says why", async () => {
			const s = await session();
			expect((await api(svc, 'POST', '/api/v1/hooks', stop(s.id, 1), s.hook)).status).toBe(200);
			const next = (
				await api(svc, 'POST', `/api/v1/sessions/${s.id}/hook-token`, { ttlSeconds: 600 })
			).body;
			expect(new Date(next.hookTokenExpiresAt).getTime()).toBeGreaterThan(Date.now() + 590_000);
			for (const res of await bothLayers(stop(s.id, 2), s.hook)) {
				expect(res.status).toBe(401);
				expect(res.body.message).toMatch(/this hook token was revoked/);
			}
			const nextHook = { Authorization: `Bearer ${next.hookToken}` };
			expect((await api(svc, 'POST', '/api/v1/hooks', stop(s.id, 3), nextHook)).status).toBe(200);
			expect((await api(svc, 'DELETE', `/api/v1/sessions/${s.id}/hook-token`)).status).toBe(204);
			expect((await api(svc, 'POST', '/api/v1/hooks', stop(s.id, 4), nextHook)).status).toBe(401);
			expect(
				(await api(svc, 'DELETE', `/api/v1/sessions/${crypto.randomUUID()}/hook-token`)).status,
			).toBe(404);
			expect(await eventCount(s.id)).toBe(2);
		});

		it("takes late hooks for the grace period after its run's end is recorded, and none after", async () => {
			const s = await session();
			const runId = crypto.randomUUID();
			expect(
				(
					await api(svc, 'PUT', `/api/v1/sessions/${s.id}/runs/${runId}`, {
						kind: 'start',
						status: 'running',
					})
				).status,
			).toBe(200);
			expect((await api(svc, 'POST', '/api/v1/hooks', stop(s.id, 1), s.hook)).status).toBe(200);
			expect(
				(
					await api(svc, 'PUT', `/api/v1/sessions/${s.id}/runs/${runId}`, {
						kind: 'start',
						status: 'completed',
					})
				).status,
			).toBe(200);
			expect((await api(svc, 'POST', '/api/v1/hooks', stop(s.id, 2), s.hook)).status).toBe(200); // within the 2 s grace
			const { rows } = await svc.db.query<{ end_at: Date }>(
				'SELECT hook_tokens_end_at AS end_at FROM sessions WHERE id = $1',
				[s.id],
			);
			await sleep(Math.max(0, new Date(rows[0].end_at).getTime() - Date.now()) + 1100);
			const late = await api(svc, 'POST', '/api/v1/hooks', stop(s.id, 3), s.hook);
			expect(late.status).toBe(401);
			expect(late.body.message).toMatch(/the run this hook token was issued for has ended/);
			// A repeated end does not extend the grace; the API key is not a hook token and still posts.
			await api(svc, 'PUT', `/api/v1/sessions/${s.id}/runs/${runId}`, {
				kind: 'start',
				status: 'completed',
			});
			expect((await api(svc, 'POST', '/api/v1/hooks', stop(s.id, 4), s.hook)).status).toBe(401);
			expect((await api(svc, 'POST', '/api/v1/hooks', stop(s.id, 5))).status).toBe(200);
		}, 30_000);

		it('refuses an expired token and the old never-ending form', async () => {
			const s = await session();
			// Signed with the service's own key (the test knows it), one generation on from the session's, expired 5 s ago.
			const signer = createAuth({ apiKey: TEST_API_KEY, tokenState: async () => undefined });
			const expired = signer.signHookToken(s.id, 1, new Date(Date.now() - 5000));
			const res = await api(svc, 'POST', '/api/v1/hooks', stop(s.id), {
				Authorization: `Bearer ${expired}`,
			});
			expect(res.status).toBe(401);
			expect(res.body.message).toMatch(/this hook token expired at/);
			const old = await api(svc, 'POST', '/api/v1/hooks', stop(s.id), {
				Authorization: `Bearer ht1.${s.id}.${'A'.repeat(43)}`,
			});
			expect(old.status).toBe(401);
			expect(old.body.message).toMatch(/no longer accepted/);
			expect(await eventCount(s.id)).toBe(0);
		});
	});

	describe('bodies are read only after the credential is checked', () => {
		it('answers a stranger 401 whatever the body holds (malformed, over the limit), in both layers', async () => {
			// Before, the body came first: malformed JSON was a 400 and a large body a 413, both read and parsed for nobody.
			for (const type of ['application/json', 'application/json; charset=latin1']) {
				for (const route of ['/api/v1/hooks', '/api/v1/sessions', '/api/hooks/tool-complete']) {
					for (const body of ['{"session_id": ', 'x'.repeat(300 * 1024)]) {
						const res = await fetch(svc.url + route, {
							method: 'POST',
							headers: { 'content-type': type, authorization: 'Bearer wrong-key-0123456789' },
							body,
						});
						expect({ route, type, size: body.length, status: res.status }).toEqual({
							route,
							type,
							size: body.length,
							status: 401,
						});
						expect(((await res.json()) as { message: string }).message).toMatch(
							/missing or invalid credentials/,
						);
					}
				}
			}
		});

		it('and that 401 reaches a client that writes an 8 MB body before reading, in both layers', async () => {
			const big = Buffer.alloc(8 * 1024 * 1024, 0x61);
			// Plain JSON on the hooks route is the fast path's; a latin1 charset goes on to Express.
			for (const type of ['application/json', 'application/json; charset=latin1']) {
				for (const route of ['/api/v1/hooks', '/api/v1/sessions']) {
					const head = `POST ${route} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nAuthorization: Bearer wrong-key-0123456789\r\nConnection: close\r\nContent-Length: ${big.length}\r\n\r\n`;
					const { text } = await writeThenRead(port, head, big);
					expect({ route, type, line: text.split('\r\n')[0] }).toEqual({
						route,
						type,
						line: 'HTTP/1.1 401 Unauthorized',
					});
				}
			}
		});
	});

	describe('a 413 reaches a client that sends Connection: close', () => {
		it.each([
			['the fast path', '/api/v1/hooks', 'hook'],
			['Express', '/api/v1/sessions', 'admin'],
		])('through %s', async (_layer, route, who) => {
			const s = await session();
			const authorization = who === 'hook' ? `Bearer ${s.token}` : svc.auth.Authorization;
			const big = Buffer.alloc(4 * 1024 * 1024, 0x61);
			for (let i = 0; i < 5; i++) {
				const head = `POST ${route} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: ${authorization}\r\nConnection: close\r\nContent-Length: ${big.length}\r\n\r\n`;
				const { text } = await writeThenRead(port, head, big);
				expect(text.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
				expect(text).toMatch(/request body is larger than the limit of 262144 bytes/);
			}
			const viaFetch = await fetch(svc.url + route, {
				method: 'POST',
				headers: {
					Authorization: authorization,
					'content-type': 'application/json',
					connection: 'close',
				},
				body: JSON.stringify({
					session_id: s.id,
					hook_event_name: 'Stop',
					prompt: 'x'.repeat(4 * 1024 * 1024),
				}),
			});
			expect(viaFetch.status).toBe(413);
		});
	});

	describe('slow clients are closed', () => {
		it('closes a connection whose headers never end after HTTP_HEADERS_TIMEOUT_MS', async () => {
			const started = Date.now();
			const { text } = await new Promise<{ text: string }>((resolve) => {
				const socket = net.connect(port, '127.0.0.1');
				let got = '';
				socket.on('data', (d) => (got += d));
				socket.on('error', () => undefined);
				socket.on('close', () => resolve({ text: got }));
				socket.write('GET /api/v1/health HTTP/1.1\r\nHost: x\r\n');
				const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 200);
				socket.on('close', () => clearInterval(drip));
			});
			const elapsed = Date.now() - started;
			expect(text).toMatch(/^HTTP\/1\.1 408/);
			expect(elapsed).toBeGreaterThanOrEqual(1900);
			expect(elapsed).toBeLessThan(8000);
			expect(svc.server.headersTimeout).toBe(2000);
			expect(svc.server.requestTimeout).toBe(4000);
			expect(svc.server.maxConnections).toBe(2048);
		});
	});

	describe("the dashboard's security headers", () => {
		it("sends the page's policy as a header, with no framing and no sniffing", async () => {
			const page = await fetch(`${svc.url}/`);
			const html = await page.text();
			const meta = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1];
			expect(meta).toBeTruthy();
			expect(page.headers.get('content-security-policy')).toBe(`${meta}; frame-ancestors 'none'`);
			expect(page.headers.get('x-frame-options')).toBe('DENY');
			expect(page.headers.get('x-content-type-options')).toBe('nosniff');
			const apiAnswer = await api(svc, 'GET', '/api/v1/sessions');
			expect(apiAnswer.headers.get('x-content-type-options')).toBe('nosniff');
		});
	});

	describe('one read returns a bounded amount', () => {
		/** Every item behind `url` (it has a query already), page by page; each page under the bound plus one row. */
		async function readPages(url: string) {
			const items: any[] = [];
			let cursor: string | null = null;
			let pages = 0;
			do {
				const res: { status: number; body: any } = await api(
					svc,
					'GET',
					`${url}${cursor ? `&cursor=${cursor}` : ''}`,
				);
				expect(res.status).toBe(200);
				expect(JSON.stringify(res.body).length).toBeLessThan(256 * 1024 + 70 * 1024);
				items.push(...res.body.items);
				cursor = res.body.nextCursor;
				pages++;
			} while (cursor && pages < 20);
			return { items, pages };
		}

		it('cuts a page of large events, tool calls and messages by bytes and hands out a cursor that reaches them all', async () => {
			const s = await session();
			const blob = 'y'.repeat(60 * 1024);
			for (let i = 0; i < 12; i++) {
				const res = await api(
					svc,
					'POST',
					'/api/v1/hooks',
					{
						session_id: s.id,
						hook_event_name: 'PostToolUse',
						tool_name: 'Read',
						tool_use_id: `toolu_${i}`,
						tool_input: { n: i },
						tool_response: { text: blob },
					},
					s.hook,
				);
				expect(res.status).toBe(200);
			}
			for (let i = 0; i < 12; i++) {
				const messages = [
					{
						direction: 'assistant',
						content: `${i} ${blob}`,
						source: 'claude',
						externalId: `m${i}`,
					},
				];
				expect(
					(await api(svc, 'POST', `/api/v1/sessions/${s.id}/messages`, { messages })).status,
				).toBe(201);
			}
			for (const route of ['events', 'logs', 'messages']) {
				const { items, pages } = await readPages(`/api/v1/sessions/${s.id}/${route}?limit=500`);
				expect({ route, n: items.length }).toEqual({ route, n: 12 });
				expect(pages).toBeGreaterThan(2);
			}
		});

		it('cuts the session and approval lists the same way', async () => {
			const marker = `bounded-${crypto.randomUUID()}`;
			const blob = 'z'.repeat(60 * 1024);
			for (let i = 0; i < 12; i++) await session({ prompt: `${marker} ${i} ${blob}` });
			const s = await gatedSession(['Write']);
			for (let i = 0; i < 12; i++) {
				const pre = {
					session_id: s.id,
					hook_event_name: 'PreToolUse',
					tool_name: 'Write',
					tool_use_id: `toolu_w${i}`,
					tool_input: { file_path: `/srv/repo/${i}`, content: blob },
				};
				expect(
					(await api(svc, 'POST', '/api/v1/hooks?approvals=required', pre, s.hook)).body
						.hookSpecificOutput.permissionDecision,
				).toBe('defer');
			}
			for (const route of [
				`/api/v1/sessions?q=${marker}&limit=200`,
				`/api/v1/approvals?sessionId=${s.id}&limit=200`,
			]) {
				const { items, pages } = await readPages(route);
				expect({ route, n: new Set(items.map((item) => item.id)).size }).toEqual({ route, n: 12 });
				expect(pages).toBeGreaterThan(2);
			}
		});
	});
});
