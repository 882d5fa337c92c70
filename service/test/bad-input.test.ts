import crypto from 'node:crypto';
import { lsPreToolUse } from '../../test/support/hook-client';
import {
	api,
	DATABASE_KINDS,
	serviceForSuite,
	TEST_API_KEY,
} from '../../test/support/test-service';

// Every client mistake gets a 4xx that says what was wrong, nothing is half-written, and nothing answers 5xx.
describe.each(DATABASE_KINDS)('bad input (%s)', (kind) => {
	const t = serviceForSuite(kind);

	const countRows = async () => {
		const { rows } = await t.svc.db.query<{ n: number }>(
			`SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM hook_events) + (SELECT count(*) FROM tool_calls)
				+ (SELECT count(*) FROM session_messages) + (SELECT count(*) FROM threads) + (SELECT count(*) FROM session_runs) AS n`,
		);
		return Number(rows[0].n);
	};
	const hook = lsPreToolUse;

	it.each([
		['malformed JSON', '{"session_id": "x", ', 400, /malformed JSON/],
		['a JSON array', '[1,2,3]', 400, /expected a JSON object/],
		['a JSON string', '"PreToolUse"', 400, /malformed JSON|expected a JSON object/],
		['missing session_id', JSON.stringify({ hook_event_name: 'Stop' }), 400, /session_id/],
		[
			'session_id not a uuid',
			JSON.stringify({ session_id: "1' OR '1'='1", hook_event_name: 'Stop' }),
			400,
			/session_id must be the session uuid/,
		],
		[
			'missing hook_event_name',
			JSON.stringify({ session_id: crypto.randomUUID() }),
			400,
			/hook_event_name/,
		],
		[
			'hook_event_name of the wrong type',
			JSON.stringify({ session_id: crypto.randomUUID(), hook_event_name: 42 }),
			400,
			/hook_event_name/,
		],
		[
			'tool_name of the wrong type',
			JSON.stringify({
				session_id: crypto.randomUUID(),
				hook_event_name: 'PreToolUse',
				tool_name: ['Bash'],
			}),
			400,
			/tool_name/,
		],
		[
			'duration_ms as a string',
			JSON.stringify({
				session_id: crypto.randomUUID(),
				hook_event_name: 'PostToolUse',
				duration_ms: 'fast',
			}),
			400,
			/duration_ms/,
		],
		[
			'nesting 100 levels deep',
			JSON.stringify({
				session_id: crypto.randomUUID(),
				hook_event_name: 'Stop',
				x: JSON.parse('['.repeat(100) + ']'.repeat(100)),
			}),
			400,
			/nested deeper/,
		],
	])('rejects %s on /api/v1/hooks', async (_name, body, status, message) => {
		const before = await countRows();
		const res = await api(t.svc, 'POST', '/api/v1/hooks', body);
		expect(res.status).toBe(status);
		expect(res.body.message).toMatch(message);
		expect(await countRows()).toBe(before);
	});

	it('answers 413 for a 5 MB body and stores nothing', async () => {
		const before = await countRows();
		const res = await api(
			t.svc,
			'POST',
			'/api/v1/hooks',
			hook(crypto.randomUUID(), { tool_input: { content: 'x'.repeat(5 * 1024 * 1024) } }),
		);
		expect(res.status).toBe(413);
		expect(res.body.message).toMatch(/larger than the limit/);
		expect(await countRows()).toBe(before);
	});

	it('answers 401 without credentials or with a wrong key, everywhere but health', async () => {
		const sessionId = crypto.randomUUID();
		for (const headers of [
			{},
			{ Authorization: 'Bearer wrong-key-0123456789' },
			{ 'x-api-key': 'nope' },
			{ Authorization: 'Basic abc' },
		] as Array<Record<string, string>>) {
			expect((await api(t.svc, 'POST', '/api/v1/hooks', hook(sessionId), headers)).status).toBe(
				401,
			);
			expect((await api(t.svc, 'GET', '/api/v1/sessions', undefined, headers)).status).toBe(401);
			expect((await api(t.svc, 'GET', '/metrics', undefined, headers)).status).toBe(401);
		}
		expect((await api(t.svc, 'GET', '/api/v1/health', undefined, {})).status).toBe(200);
		expect((await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/events`)).status).toBe(404);
	});

	it('accepts x-api-key as well as a bearer token', async () => {
		expect(
			(await api(t.svc, 'GET', '/api/v1/sessions', undefined, { 'x-api-key': TEST_API_KEY }))
				.status,
		).toBe(200);
	});

	it("limits a hook token to its own session's events", async () => {
		const created = await api(t.svc, 'POST', '/api/v1/sessions', { prompt: 'p' });
		const other = await api(t.svc, 'POST', '/api/v1/sessions', { prompt: 'q' });
		const token = { Authorization: `Bearer ${created.body.hookToken}` };
		expect((await api(t.svc, 'POST', '/api/v1/hooks', hook(created.body.id), token)).status).toBe(
			200,
		);

		const before = await countRows();
		const cross = await api(t.svc, 'POST', '/api/v1/hooks', hook(other.body.id), token);
		expect(cross.status).toBe(403);
		expect(cross.body.message).toMatch(/belongs to session/);
		// A hook token reads nothing and writes nothing but hook events.
		expect(
			(await api(t.svc, 'GET', `/api/v1/sessions/${created.body.id}`, undefined, token)).status,
		).toBe(403);
		expect((await api(t.svc, 'GET', '/api/v1/sessions', undefined, token)).status).toBe(403);
		expect(
			(
				await api(
					t.svc,
					'PATCH',
					`/api/v1/sessions/${created.body.id}`,
					{ status: 'failed' },
					token,
				)
			).status,
		).toBe(403);
		// A forged token (right shape, wrong signature) is not a credential at all.
		const forged = created.body.hookToken.replace(created.body.id, other.body.id);
		expect(
			(
				await api(t.svc, 'POST', '/api/v1/hooks', hook(other.body.id), {
					Authorization: `Bearer ${forged}`,
				})
			).status,
		).toBe(401);
		expect(await countRows()).toBe(before);
	});

	it('stores SQL and HTML in string fields verbatim, as data', async () => {
		const sessionId = crypto.randomUUID();
		const nasty = `'); DROP TABLE sessions; -- <script>alert("x")</script> <img src=x onerror=alert(1)> \\ % _`;
		const res = await api(
			t.svc,
			'POST',
			'/api/v1/hooks',
			hook(sessionId, { tool_input: { command: nasty }, [nasty]: nasty }),
		);
		expect(res.status).toBe(200);
		const events = await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/events`);
		expect(events.body.items[0].payload.tool_input.command).toBe(nasty);
		expect(events.body.items[0].payload[nasty]).toBe(nasty);
		const search = await api(
			t.svc,
			'GET',
			`/api/v1/sessions?q=${encodeURIComponent("'; DROP TABLE")}`,
		);
		expect(search.status).toBe(200);
		const created = await api(t.svc, 'POST', '/api/v1/sessions', {
			prompt: nasty,
			repository: nasty,
		});
		expect(created.status).toBe(201);
		expect((await api(t.svc, 'GET', `/api/v1/sessions/${created.body.id}`)).body.prompt).toBe(
			nasty,
		);
	});

	it('keeps unknown fields of hook payloads and prototype-looking keys as plain data', async () => {
		const sessionId = crypto.randomUUID();
		const body = `{"session_id":"${sessionId}","hook_event_name":"Stop","future_field":{"a":[1,{"b":null}]},"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}`;
		expect((await api(t.svc, 'POST', '/api/v1/hooks', body)).status).toBe(200);
		expect(({} as any).polluted).toBeUndefined();
		const events = await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/events`);
		expect(events.body.items[0].payload.future_field).toEqual({ a: [1, { b: null }] });
		expect(Object.prototype.hasOwnProperty.call(events.body.items[0].payload, '__proto__')).toBe(
			true,
		);
	});

	it('stores text PostgreSQL cannot hold (NUL, lone surrogates) with replacement characters', async () => {
		const sessionId = crypto.randomUUID();
		const body = `{"session_id":"${sessionId}","hook_event_name":"PostToolUse","tool_use_id":"t1","tool_response":"a\\u0000b\\ud800c"}`;
		expect((await api(t.svc, 'POST', '/api/v1/hooks', body)).status).toBe(200);
		const events = await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/events`);
		expect(events.body.items[0].payload.tool_response).toBe('a\uFFFDb\uFFFDc');
	});

	it.each([
		['POST', '/api/v1/sessions', { prompt: 1 }, 400, /prompt/],
		['POST', '/api/v1/sessions', { workspaceType: 'moon' }, 400, /workspaceType/],
		['POST', '/api/v1/sessions', { id: 'not-a-uuid' }, 400, /id/],
		['POST', '/api/v1/sessions', { unknownField: 1 }, 400, /unknownField|Unrecognized/],
		[
			'POST',
			'/api/v1/sessions',
			{ threadKey: 'no spaces allowed here' },
			400,
			/thread keys look like/,
		],
		['GET', '/api/v1/sessions?limit=0', undefined, 400, /limit/],
		['GET', '/api/v1/sessions?status=sleeping', undefined, 400, /status/],
		['GET', '/api/v1/sessions?cursor=garbage', undefined, 400, /invalid cursor/],
		['GET', '/api/v1/sessions/123', undefined, 400, /session uuid/],
		[
			'PATCH',
			`/api/v1/sessions/${crypto.randomUUID()}`,
			{ status: 'completed' },
			404,
			/no session/,
		],
		['PUT', '/api/v1/threads/bad key', { sessionId: crypto.randomUUID() }, 400, /thread/],
		[
			'POST',
			'/api/v1/sessions',
			{ threadMetadata: { email: { replyTo: 'alice@example.test' } } },
			400,
			/threadMetadata needs a threadKey/,
		],
		[
			'POST',
			'/api/v1/sessions',
			{
				threadKey: 'email:a@b',
				threadMetadata: { email: { replyTo: 'alice@example.test, eve@example.test' } },
			},
			400,
			/replyTo must be one email address/,
		],
		[
			'POST',
			'/api/v1/sessions',
			{
				threadKey: 'email:a@b',
				threadMetadata: {
					email: { replyTo: 'alice@example.test', subject: 'Re: x\r\nBcc: eve@example.test' },
				},
			},
			400,
			/subject: must be one line/,
		],
		[
			'POST',
			'/api/v1/sessions',
			{
				threadKey: 'email:a@b',
				threadMetadata: { email: { replyTo: 'alice@example.test', inReplyTo: 'a@b' } },
			},
			400,
			/Message-ID looks like <local@domain>/,
		],
		[
			'POST',
			'/api/v1/sessions',
			{
				threadKey: 'email:a@b',
				threadMetadata: { email: { replyTo: 'alice@example.test', references: ['<a@b> <c@d>'] } },
			},
			400,
			/references.*Message-ID/,
		],
		[
			'POST',
			'/api/v1/sessions',
			{
				threadKey: 'email:a@b',
				threadMetadata: { email: { replyTo: 'alice@example.test', cc: 'eve@example.test' } },
			},
			400,
			/cc|Unrecognized/,
		],
		[
			'PUT',
			'/api/v1/threads/email:a@b',
			{
				sessionId: crypto.randomUUID(),
				metadata: { email: { replyTo: 'alice@example.test\nBcc: eve@example.test' } },
			},
			400,
			/replyTo must be one email address/,
		],
		[
			'PUT',
			'/api/v1/threads/email:a@b',
			{ sessionId: crypto.randomUUID(), metadata: { email: 'alice@example.test' } },
			400,
			/email/,
		],
		['PUT', '/api/v1/threads/slack:C1:1.2', { sessionId: crypto.randomUUID() }, 404, /no session/],
		['GET', '/api/v1/threads/slack:C1:404', undefined, 404, /no session is bound/],
		[
			'POST',
			`/api/v1/sessions/${crypto.randomUUID()}/messages`,
			{ direction: 'user', content: 'hi' },
			404,
			/no session/,
		],
		['GET', '/api/v1/nothing-here', undefined, 404, /no route/],
	])('%s %s (%j) answers %i', async (method, route, body, status, message) => {
		const before = await countRows();
		const res = await api(t.svc, method, route, body);
		expect(res.status).toBe(status);
		expect(res.body.message).toMatch(message);
		expect(await countRows()).toBe(before);
	});

	it('rejects a bad message in a batch without storing the good ones', async () => {
		const created = await api(t.svc, 'POST', '/api/v1/sessions', {});
		const before = await countRows();
		const res = await api(t.svc, 'POST', `/api/v1/sessions/${created.body.id}/messages`, {
			messages: [
				{ direction: 'user', content: 'ok' },
				{ direction: 'sideways', content: 'bad' },
			],
		});
		expect(res.status).toBe(400);
		expect(res.body.message).toMatch(/direction/);
		expect(await countRows()).toBe(before);
	});
});
