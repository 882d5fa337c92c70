import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import zlib from 'node:zlib';
import { hookFastPath } from '../src/hooks/hook-fast-path';
import type { HookIngestor } from '../src/hooks/hook-ingestor';
import { createAuth } from '../src/http/auth';
import { Metrics } from '../src/metrics/metrics';
import { lsPreToolUse } from '../../test/support/hook-client';
import {
	api,
	DATABASE_KINDS,
	startTestService,
	TEST_API_KEY,
	type TestService,
} from '../../test/support/test-service';

describe('hook fast path: what it takes and what it leaves to Express', () => {
	let server: http.Server;
	let url: string;
	const passedOn: string[] = [];
	const submitted: string[] = [];
	beforeAll(async () => {
		const ingestor = {
			submit: async (e: { eventName: string }) => void submitted.push(e.eventName),
		} as unknown as HookIngestor;
		const deps = {
			auth: createAuth({ apiKey: TEST_API_KEY, tokenState: async () => undefined }),
			ingestor,
			metrics: new Metrics(),
			toolOutputMaxBytes: 1024,
			ackTimeoutMs: 1000,
			bodyLimitBytes: 4096,
		};
		server = http.createServer(
			hookFastPath(deps, (req, res) => {
				passedOn.push(
					`${req.method} ${req.url} ${req.headers['content-type'] ?? ''} ${req.headers['content-encoding'] ?? ''}`.trim(),
				);
				res.writeHead(299).end();
			}),
		);
		await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
		url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	});
	afterAll(() => new Promise((r) => server.close(r)));

	it.each([
		['/api/v1/hooks', 'application/json', undefined],
		['/api/hooks?approvals=required', 'application/json; charset=utf-8', undefined],
		['/api/v1/hooks/', 'Application/JSON', 'identity'],
	])('serves POST %s (%s) itself', async (route, type, encoding) => {
		const body = JSON.stringify({ session_id: crypto.randomUUID(), hook_event_name: 'Stop' });
		const res = await fetch(url + route, {
			method: 'POST',
			headers: {
				'content-type': type,
				authorization: `Bearer ${TEST_API_KEY}`,
				...(encoding ? { 'content-encoding': encoding } : {}),
			},
			body,
		});
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({});
		expect(passedOn).toEqual([]);
		expect(submitted.pop()).toBe('Stop');
	});

	it.each([
		['GET', '/api/v1/hooks', 'application/json', undefined],
		['POST', '/api/v1/hooks/tool-complete', 'application/json', undefined],
		['POST', '/api/v1/hooksx', 'application/json', undefined],
		['POST', '/api/v1/hooks', 'text/plain', undefined],
		['POST', '/api/v1/hooks', 'application/json; charset=latin1', undefined],
		['POST', '/api/v1/hooks', 'application/json', 'gzip'],
	])('leaves %s %s (%s, %s) to Express', async (method, route, type, encoding) => {
		passedOn.length = 0;
		const res = await fetch(url + route, {
			method,
			headers: { 'content-type': type, ...(encoding ? { 'content-encoding': encoding } : {}) },
			body: method === 'GET' ? undefined : encoding ? zlib.gzipSync('{}') : '{}',
		});
		expect(res.status).toBe(299);
		expect(passedOn).toEqual([`${method} ${route} ${type} ${encoding ?? ''}`.trim()]);
	});
});

const READER_TOKEN = 'dashboard-reader-token-0123456789';

// Plain JSON hook posts are served before Express (hook-fast-path.ts); anything else, such as a gzip-encoded body,
// still goes through Express. Both must answer every case alike: here each case is posted both ways.
describe.each(DATABASE_KINDS)('hook fast path (%s)', (kind) => {
	let svc: TestService;
	let session: { id: string; hookToken: string };
	let other: { id: string };
	beforeAll(async () => {
		svc = await startTestService(kind, {
			BODY_LIMIT_BYTES: String(64 * 1024),
			DASHBOARD_TOKEN: READER_TOKEN,
		});
		session = (await api(svc, 'POST', '/api/v1/sessions', { prompt: 'p' })).body;
		other = (await api(svc, 'POST', '/api/v1/sessions', { prompt: 'q' })).body;
	});
	afterAll(() => svc?.stop());

	const event = (sessionId: string, extra: Record<string, unknown> = {}) =>
		JSON.stringify(lsPreToolUse(sessionId, extra));

	async function post(
		body: string,
		headers: Record<string, string>,
		gzip: boolean,
		route = '/api/v1/hooks',
	) {
		const res = await fetch(svc.url + route, {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				...headers,
				...(gzip ? { 'content-encoding': 'gzip' } : {}),
			},
			body: gzip ? zlib.gzipSync(body) : body,
		});
		return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
	}

	const token = () => ({ Authorization: `Bearer ${session.hookToken}` });
	const cases: Array<[string, () => [string, Record<string, string>], number]> = [
		['an event with its hook token', () => [event(session.id), token()], 200],
		[
			'an event with the API key',
			() => [event(session.id), { Authorization: `Bearer ${TEST_API_KEY}` }],
			200,
		],
		['malformed JSON', () => ['{"session_id": ', token()], 400],
		['an empty body', () => ['', token()], 400],
		['a JSON array', () => ['[1,2]', token()], 400],
		['a missing session_id', () => [JSON.stringify({ hook_event_name: 'Stop' }), token()], 400],
		[
			'nesting 100 levels deep',
			() => [event(session.id, { x: JSON.parse('['.repeat(100) + ']'.repeat(100)) }), token()],
			400,
		],
		['no credentials', () => [event(session.id), {}], 401],
		[
			'a forged hook token',
			() => [
				event(session.id),
				{ Authorization: `Bearer ht2.${session.id}.1.${Math.floor(Date.now() / 1000) + 60}.AAAA` },
			],
			401,
		],
		["another session's token", () => [event(other.id), token()], 403],
		[
			'an unknown bearer token',
			() => [event(session.id), { Authorization: 'Bearer not-a-key-0123456789' }],
			401,
		],
		[
			'the dashboard token',
			() => [event(session.id), { Authorization: `Bearer ${READER_TOKEN}` }],
			403,
		],
		[
			'a body over the limit',
			() => [event(session.id, { tool_input: { content: 'x'.repeat(100 * 1024) } }), token()],
			413,
		],
	];

	it.each(cases)('answers %s the same as Express', async (_name, make, status) => {
		const [body, headers] = make();
		const fast = await post(body, headers, false);
		// A different tool_use_id for the Express copy where the event would otherwise be a redelivery.
		const viaExpress = await post(
			body.replace(/toolu_[0-9a-f-]+/, `toolu_${crypto.randomUUID()}`),
			headers,
			true,
		);
		expect(fast.status).toBe(status);
		expect(viaExpress).toEqual(fast);
		expect(fast.type).toBe('application/json; charset=utf-8');
	});

	it('takes the /api alias, a trailing slash and the approvals query like Express', async () => {
		for (const route of ['/api/hooks', '/api/v1/hooks/', '/api/v1/hooks?approvals=optional']) {
			expect((await post(event(session.id), token(), false, route)).status).toBe(200);
		}
	});

	it('stores what it acknowledges, exactly once, and counts the answers in /metrics', async () => {
		const body = event(session.id, { tool_use_id: `toolu_once_${crypto.randomUUID()}` });
		expect((await post(body, token(), false)).status).toBe(200);
		expect((await post(body, token(), false)).status).toBe(200); // a redelivery
		const events = await api(svc, 'GET', `/api/v1/sessions/${session.id}/events?limit=500`);
		const id = JSON.parse(body).tool_use_id;
		expect(events.body.items.filter((e: { toolUseId: string }) => e.toolUseId === id)).toHaveLength(
			1,
		);
		const metrics = await fetch(`${svc.url}/metrics`, { headers: svc.auth }).then((r) => r.text());
		expect(metrics).toMatch(
			/orchestrator_http_responses_total\{method="POST",status="200"\} [1-9]/,
		);
	});

	it('survives a caller that hangs up halfway through a body, and keeps serving', async () => {
		await new Promise<void>((resolve, reject) => {
			const { port } = new URL(svc.url);
			const socket = net.connect(Number(port), '127.0.0.1', () => {
				socket.write(
					`POST /api/v1/hooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nAuthorization: Bearer ${session.hookToken}\r\n\r\n{"session_id":`,
				);
				setTimeout(() => socket.destroy(), 50);
			});
			socket.on('close', () => resolve());
			socket.on('error', reject);
		});
		expect((await post(event(session.id), token(), false)).status).toBe(200);
	});
});
