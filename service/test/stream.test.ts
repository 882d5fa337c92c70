import crypto from 'node:crypto';
import { loadConfig } from '../src/config';
import { createScratchDatabase } from '../../test/support/scratch-database';
import { startService, type RunningService } from '../src/service';
import {
	api,
	DATABASE_KINDS,
	startTestService,
	TEST_API_KEY,
	type TestService,
} from '../../test/support/test-service';
import { openStream, type SseStream } from '../../test/support/sse';

const AUTH = { Authorization: `Bearer ${TEST_API_KEY}` };

const toolHook = (sessionId: string, n: number, event = 'PreToolUse') => ({
	session_id: sessionId,
	cwd: '/srv/work/repo',
	hook_event_name: event,
	tool_name: 'Bash',
	tool_use_id: `toolu_stream_${n}`,
	tool_input: { command: `echo ${n}` },
	...(event === 'PostToolUse' ? { tool_response: { stdout: `${n}\n` }, duration_ms: 3 } : {}),
});

async function post(svc: { url: string }, body: unknown) {
	const res = await api(svc, 'POST', '/api/v1/hooks', body);
	expect(res.status).toBe(200);
}

describe.each(DATABASE_KINDS)('GET /api/v1/stream (%s)', (kind) => {
	let svc: TestService;
	const open: SseStream[] = [];
	const stream = async (query = '', headers: Record<string, string> = {}) => {
		const s = await openStream(`${svc.url}/api/v1/stream${query}`, { ...AUTH, ...headers });
		open.push(s);
		return s;
	};
	const changesAfter = async (seq: number) =>
		(
			await svc.db.query<{ seq: number }>(
				'SELECT seq FROM dashboard_changes WHERE seq > $1 ORDER BY seq',
				[seq],
			)
		).rows.map((r) => r.seq);

	beforeAll(async () => {
		svc = await startTestService(kind);
	});
	afterEach(() => {
		for (const s of open.splice(0)) s.close();
	});
	afterAll(() => svc?.stop());

	it('sends a session and its tool call as its hook is answered, to a stream of that session', async () => {
		const sessionId = crypto.randomUUID();
		const other = crypto.randomUUID();
		const s = await stream(`?sessionId=${sessionId}`);
		expect(s.status).toBe(200);
		const ready = await s.waitFor((e) => e.event === 'ready');
		expect(Number(ready.id)).toBe(ready.data.seq);

		await post(svc, toolHook(other, 0));
		await post(svc, toolHook(sessionId, 1));
		const call = await s.waitFor((e) => e.data?.kind === 'tool_call');
		expect(call.data).toMatchObject({ kind: 'tool_call', op: 'insert', sessionId });
		const logs = await api(svc, 'GET', `/api/v1/sessions/${sessionId}/logs`);
		expect(call.data.ref).toBe(String(logs.body.items[0].id));
		expect(
			s.changes().some((c) => c.kind === 'session' && c.op === 'insert' && c.ref === sessionId),
		).toBe(true);

		await post(svc, toolHook(sessionId, 1, 'PostToolUse'));
		await s.waitFor((e) => e.data?.kind === 'tool_call' && e.data.op === 'update');
		// Nothing of the other session, and every id once, increasing.
		expect(s.changes().every((c) => c.sessionId === sessionId)).toBe(true);
		const ids = s.events.filter((e) => e.event === 'change').map((e) => Number(e.id));
		expect(ids).toEqual([...ids].sort((a, b) => a - b));
		expect(new Set(ids).size).toBe(ids.length);
	});

	it('resumes from Last-Event-ID with exactly the changes that were missed, then goes on live', async () => {
		const first = await stream();
		const from = Number((await first.waitFor((e) => e.event === 'ready')).id);
		first.close();

		const a = crypto.randomUUID();
		const b = crypto.randomUUID();
		for (let n = 0; n < 3; n++) {
			await post(svc, toolHook(a, 10 + n));
			await post(svc, toolHook(b, 20 + n));
		}
		const missed = await changesAfter(from);
		expect(missed.length).toBeGreaterThanOrEqual(8); // two new sessions, six tool calls, their activity

		const resumed = await stream('', { 'Last-Event-ID': String(from) });
		await resumed.waitFor((e) => Number(e.id) === missed[missed.length - 1]);
		expect(resumed.events.map((e) => e.event)).not.toContain('ready');
		expect(resumed.events.map((e) => Number(e.id))).toEqual(missed);

		await post(svc, toolHook(a, 13));
		const live = await resumed.waitFor(
			(e) =>
				e.data?.ref !== undefined &&
				Number(e.id) > missed[missed.length - 1] &&
				e.data.kind === 'tool_call',
		);
		expect(live.data.sessionId).toBe(a);
		const ids = resumed.events.map((e) => Number(e.id));
		expect(new Set(ids).size).toBe(ids.length);

		// The same through the query parameter, for one session only.
		const one = await stream(`?sessionId=${b}&lastEventId=${from}`);
		const bMissed = (
			await svc.db.query<{ seq: number }>(
				'SELECT seq FROM dashboard_changes WHERE seq > $1 AND session_id = $2 ORDER BY seq',
				[from, b],
			)
		).rows.map((r) => r.seq);
		await one.waitFor((e) => Number(e.id) === bMissed[bMissed.length - 1]);
		expect(one.events.map((e) => Number(e.id))).toEqual(bMissed);
	});

	it('tells a stream resuming from before the changes kept to reload', async () => {
		const s = await stream('', { 'Last-Event-ID': '999999999' });
		const reset = await s.waitFor(() => true);
		expect(reset.event).toBe('reset');
		expect(Number(reset.id)).toBe((await changesAfter(0)).at(-1));
	});

	it('refuses a bad Last-Event-ID or session id with a 400 naming it, and a missing credential with a 401', async () => {
		const bad = await fetch(`${svc.url}/api/v1/stream`, {
			headers: { ...AUTH, 'Last-Event-ID': 'abc' },
		});
		expect(bad.status).toBe(400);
		expect(((await bad.json()) as any).message).toMatch(/Last-Event-ID/);
		const badSession = await fetch(`${svc.url}/api/v1/stream?sessionId=nope`, { headers: AUTH });
		expect(badSession.status).toBe(400);
		expect(((await badSession.json()) as any).message).toMatch(/sessionId/);
		expect((await fetch(`${svc.url}/api/v1/stream`)).status).toBe(401);
	});

	it('ends open streams when the service stops, and a stream opened after a restart resumes without gaps', async () => {
		const s = await stream();
		const from = Number((await s.waitFor((e) => e.event === 'ready')).id);
		const sessionId = crypto.randomUUID();
		await post(svc, toolHook(sessionId, 30));
		await s.waitFor((e) => e.data?.kind === 'tool_call' && e.data.sessionId === sessionId);
		const seen = Number(s.events.at(-1)!.id);
		await svc.restart();
		await s.ended;
		await post(svc, toolHook(sessionId, 31));
		const resumed = await stream('', { 'Last-Event-ID': String(seen) });
		const missed = await changesAfter(seen);
		await resumed.waitFor((e) => Number(e.id) === missed.at(-1));
		expect(resumed.events.map((e) => Number(e.id))).toEqual(missed);
		expect([
			...s.events.filter((e) => e.event === 'change').map((e) => Number(e.id)),
			...missed,
		]).toEqual(await changesAfter(from));
	});
});

const describePostgres = process.env.TEST_DATABASE_URL ? describe : describe.skip;

describePostgres('GET /api/v1/stream with two replicas on one PostgreSQL', () => {
	let scratch: { url: string; drop(): Promise<void> };
	const replicas: RunningService[] = [];

	beforeAll(async () => {
		scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!);
		for (let i = 0; i < 2; i++) {
			replicas.push(
				await startService(
					loadConfig({
						PORT: '0',
						DATA_DIR: `/tmp/orch-stream-replica-${i}`,
						API_KEY: TEST_API_KEY,
						DATABASE_URL: scratch.url,
					}),
				),
			);
		}
	});
	afterAll(async () => {
		for (const r of replicas) await r.close();
		await scratch?.drop();
	});

	it('a stream on one replica gets the tool calls of hooks posted to the other', async () => {
		const [one, two] = replicas;
		const sessionId = crypto.randomUUID();
		const s = await openStream(`${one.url}/api/v1/stream?sessionId=${sessionId}`, AUTH);
		try {
			await s.waitFor((e) => e.event === 'ready');
			for (let n = 0; n < 5; n++) await post(two, toolHook(sessionId, 40 + n));
			const last = await s.waitFor(
				(e) =>
					e.data?.kind === 'tool_call' &&
					e.data.op === 'insert' &&
					s.changes().filter((c) => c.kind === 'tool_call').length === 5,
			);
			expect(last.data.sessionId).toBe(sessionId);
			const logs = await api(two, 'GET', `/api/v1/sessions/${sessionId}/logs`);
			expect(
				s
					.changes()
					.filter((c) => c.kind === 'tool_call')
					.map((c) => c.ref),
			).toEqual(logs.body.items.map((l: any) => String(l.id)));
		} finally {
			s.close();
		}
	});
});
