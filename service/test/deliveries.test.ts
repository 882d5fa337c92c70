import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fixtures from '../../test/fixtures/hook-payloads.json';
import { TriggerReceiver } from '../../test/support/trigger-receiver';
import {
	FAST_DELIVERY_ENV,
	serviceWithReceivers,
	subscribeReceiver,
} from '../../test/support/service-sessions';
import { waitFor, sleep } from '../../test/support/wait';
import { loadConfig } from '../src/config';
import { backoffMs } from '../src/deliveries/deliverer';
import { postDelivery } from '../src/deliveries/post-delivery';
import { startService } from '../src/service';
import {
	api,
	DATABASE_KINDS,
	startTestService,
	TEST_API_KEY,
	type TestService,
} from '../../test/support/test-service';

type Payload = Record<string, any>;
const fixture = (label: string, sessionId: string): Payload => ({
	...(fixtures as Array<{ label: string; payload: Payload }>).find((f) => f.label === label)!
		.payload,
	session_id: sessionId,
});

/** A second service on `primary`'s database, as another replica behind the load balancer would be. */
const replicaOf = (primary: TestService, env: Record<string, string>) =>
	startService(
		loadConfig({ ...env, PORT: '0', DATA_DIR: primary.dataDir, API_KEY: TEST_API_KEY }),
		{ db: primary.db },
	);

const ENV = {
	...FAST_DELIVERY_ENV,
	DELIVERY_CONCURRENCY: '6',
	DELIVERY_PER_SUBSCRIPTION_CONCURRENCY: '2',
};

describe.each(DATABASE_KINDS)('Hook Trigger deliveries (%s)', (kind) => {
	const t = serviceWithReceivers(kind, ENV);
	const { receivers, subscribed } = t;
	const post = async (payload: Payload) => {
		const res = await api(t.svc, 'POST', '/api/v1/hooks', payload);
		expect(res.status).toBe(200);
	};
	const deliveries = async (query: string) =>
		(await api(t.svc, 'GET', `/api/v1/deliveries?${query}`)).body.items as Payload[];

	it('delivers a matching event signed, with tool fields and the current session summary', async () => {
		const sessionId = crypto.randomUUID();
		const created = await api(t.svc, 'POST', '/api/v1/sessions', {
			id: sessionId,
			workspaceType: 'local',
			workspacePath: '/srv/work/repo',
			threadKey: 'slack:C1:1712345678.000100',
		});
		expect(created.status).toBe(201);
		const r = await subscribed({ events: ['PostToolUse'], toolFilter: 'Bash' });

		await post(fixture('PreToolUse (Bash)', sessionId)); // other event
		await post(fixture('PostToolUse (Write)', sessionId)); // other tool
		const bash = fixture('PostToolUse (Bash)', sessionId);
		await post(bash);

		expect(await waitFor(() => r.emitted.length >= 1, 60_000)).toBe(true);
		await sleep(300);
		expect(r.emitted).toHaveLength(1);
		const item = r.emitted[0];
		expect(item).toEqual({
			event: 'PostToolUse',
			sessionId,
			toolName: 'Bash',
			toolUseId: bash.tool_use_id,
			toolInput: bash.tool_input,
			toolResponse: bash.tool_response,
			error: null,
			source: 'hook',
			payload: bash,
			run: null,
			coalesced: 0,
			session: {
				status: 'created',
				origin: 'orchestrator',
				workspace: { type: 'local', path: '/srv/work/repo', branch: null },
				threadKey: 'slack:C1:1712345678.000100',
				costUsd: 0,
			},
			deliveryId: expect.stringMatching(/^[0-9a-f-]{36}$/),
			occurredAt: expect.any(String),
		});
		expect(r.requests).toEqual([
			expect.objectContaining({ deliveryId: item.deliveryId, status: 200 }),
		]);

		const [row] = await deliveries(`subscriptionId=${r.staticData.subscriptionId}`);
		expect(row).toMatchObject({
			id: item.deliveryId,
			status: 'delivered',
			attempts: 1,
			event: 'PostToolUse',
			sessionId,
			lastStatusCode: 200,
		});
		expect((await api(t.svc, 'GET', `/api/v1/deliveries/${item.deliveryId}`)).body.status).toBe(
			'delivered',
		);
	});

	it('filters by session, thread key and workspace type', async () => {
		const [s1, s2, s3] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
		expect(
			(await api(t.svc, 'POST', '/api/v1/sessions', { id: s1, workspaceType: 'worktree' })).status,
		).toBe(201);
		expect(
			(await api(t.svc, 'POST', '/api/v1/sessions', { id: s2, workspaceType: 'github' })).status,
		).toBe(201);
		const key = `email:<${crypto.randomUUID()}@example.com>`;
		expect(
			(await api(t.svc, 'PUT', `/api/v1/threads/${encodeURIComponent(key)}`, { sessionId: s2 }))
				.status,
		).toBe(200);
		const bySession = await subscribed({ sessionId: s1, events: ['Notification'] });
		const byThread = await subscribed({ threadKey: key, events: ['Notification'] });
		const byWorkspace = await subscribed({ workspaceType: 'external', events: ['Notification'] });
		for (const sessionId of [s1, s2, s3]) {
			await post({
				session_id: sessionId,
				hook_event_name: 'Notification',
				message: `hello ${sessionId}`,
			});
		}
		expect(
			await waitFor(
				() => [bySession, byThread, byWorkspace].every((r) => r.emitted.length >= 1),
				60_000,
			),
		).toBe(true);
		await sleep(300);
		expect(bySession.emitted.map((e) => e.sessionId)).toEqual([s1]);
		expect(byThread.emitted.map((e) => e.sessionId)).toEqual([s2]);
		expect(byThread.emitted[0].session).toMatchObject({
			threadKey: key,
			workspace: { type: 'github' },
		});
		// A session the service first hears of from a hook is an external one.
		expect(byWorkspace.emitted.map((e) => e.sessionId)).toEqual([s3]);
	});

	it('"Session finished" carries the run result and cost; without a run, the last assistant message', async () => {
		const r = await subscribed({ events: ['Stop', 'SessionEnd', 'StopFailure'] });
		const withRun = crypto.randomUUID();
		expect(
			(await api(t.svc, 'POST', '/api/v1/sessions', { id: withRun, workspaceType: 'local' }))
				.status,
		).toBe(201);
		const run = await api(t.svc, 'PUT', `/api/v1/sessions/${withRun}/runs/${crypto.randomUUID()}`, {
			kind: 'start',
			status: 'completed',
			result: 'All three files written.',
			costUsd: 0.25,
			isError: false,
			subtype: 'success',
		});
		expect(run.status).toBe(200);
		await post(fixture('Stop', withRun));
		const external = crypto.randomUUID();
		await post(fixture('StopFailure', external));
		// Not a finishing event. Another session's: the summary is read when the delivery is sent, and a new prompt in
		// the same session would rightly show it running again by then.
		await post(fixture('UserPromptSubmit', crypto.randomUUID()));

		expect(await waitFor(() => r.emitted.length >= 2, 60_000)).toBe(true);
		await sleep(300);
		expect(r.emitted).toHaveLength(2);
		const stop = r.emitted.find((e) => e.sessionId === withRun)!;
		expect(stop.session).toMatchObject({
			status: 'completed',
			costUsd: 0.25,
			result: 'All three files written.',
			isError: false,
			subtype: 'success',
		});
		const failure = r.emitted.find((e) => e.sessionId === external)!;
		expect(failure).toMatchObject({ event: 'StopFailure', error: 'unknown' });
		expect(failure.session).toMatchObject({
			status: 'failed',
			result: 'API Error: 400 fake 400',
			isError: true,
		});
	});

	it('"Tool failed" delivers PostToolUseFailure with its error', async () => {
		const r = await subscribed({ events: ['PostToolUseFailure'] });
		const sessionId = crypto.randomUUID();
		await post(fixture('PostToolUse (Bash)', sessionId));
		await post(fixture('PostToolUseFailure (Bash)', sessionId));
		expect(await waitFor(() => r.emitted.length >= 1, 60_000)).toBe(true);
		await sleep(300);
		expect(r.emitted).toHaveLength(1);
		expect(r.emitted[0]).toMatchObject({
			event: 'PostToolUseFailure',
			toolName: 'Bash',
			toolInput: { command: 'ls /nonexistent; exit 3' },
		});
		expect(r.emitted[0].error).toContain('Exit code 3');
	});

	it('"Permission denied" covers PermissionDenied hooks and a run\'s permission denials, each once', async () => {
		const r = await subscribed({ events: ['PermissionDenied'] });
		const sessionId = crypto.randomUUID();
		expect(
			(await api(t.svc, 'POST', '/api/v1/sessions', { id: sessionId, workspaceType: 'local' }))
				.status,
		).toBe(201);
		const hook = fixture('PermissionDenied (Bash)', sessionId); // toolu_fake0d36a182589df8f3dfa0
		await post(hook);
		const runId = crypto.randomUUID();
		const denials = [
			{ tool_name: 'Bash', tool_use_id: hook.tool_use_id, tool_input: hook.tool_input }, // already reported by the hook
			{
				tool_name: 'Write',
				tool_use_id: 'toolu_run_denied_1',
				tool_input: { file_path: '/srv/work/repo/x.txt', content: 'x' },
			},
		];
		const put = (status: string) =>
			api(t.svc, 'PUT', `/api/v1/sessions/${sessionId}/runs/${runId}`, {
				kind: 'start',
				status,
				permissionDenials: denials,
			});
		expect((await put('running')).status).toBe(200);
		expect((await put('completed')).status).toBe(200); // the same run again: nothing new
		expect(await waitFor(() => r.emitted.length >= 2, 60_000)).toBe(true);
		await sleep(300);
		expect(r.emitted.map((e) => [e.source, e.toolUseId])).toEqual([
			['hook', hook.tool_use_id],
			['run', 'toolu_run_denied_1'],
		]);
		expect(r.emitted[1]).toMatchObject({
			event: 'PermissionDenied',
			toolName: 'Write',
			toolInput: denials[1].tool_input,
		});
		expect(r.emitted[1].payload).toMatchObject({
			source: 'run',
			run_id: runId,
			hook_event_name: 'PermissionDenied',
		});
		const events = await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/events`);
		// The run's end is the service's own RunFinished, once.
		expect(events.body.items.map((e: any) => e.event)).toEqual([
			'PermissionDenied',
			'PermissionDenied',
			'RunFinished',
		]);
	});

	it('redelivers when the answer is lost, and the trigger drops the repeat', async () => {
		const r = await subscribed({ events: ['Notification'] });
		r.nextMode = 'lose-answer';
		const sessionId = crypto.randomUUID();
		await post({ session_id: sessionId, hook_event_name: 'Notification', message: 'one' });
		expect(await waitFor(() => r.requests.length >= 2, 60_000)).toBe(true);
		await sleep(300);
		expect(r.requests.map((q) => q.status)).toEqual(['dropped', 200]);
		expect(new Set(r.requests.map((q) => q.deliveryId)).size).toBe(1);
		expect(r.emitted).toHaveLength(1);
		const [row] = await deliveries(`subscriptionId=${r.staticData.subscriptionId}`);
		expect(row).toMatchObject({ status: 'delivered', attempts: 2 });
	});

	it('a subscriber that always fails ends in dead-letter without delaying the others', async () => {
		const good = await subscribed();
		const failing = await subscribed();
		failing.mode = 'fail';
		const hanging = await subscribed();
		hanging.mode = 'hang';
		const sessions = Array.from({ length: 4 }, () => crypto.randomUUID());
		for (let n = 0; n < 2; n++) {
			for (const sessionId of sessions) {
				await post({ session_id: sessionId, hook_event_name: 'Notification', message: `m${n}`, n });
			}
		}
		const total = sessions.length * 2;
		expect(await waitFor(() => good.emitted.length >= total, 60_000)).toBe(true);
		const goodDoneAt = Date.now();
		// Every event reached the healthy subscriber while the others were still timing out and failing (their
		// retries had not run out): nothing of theirs stood in its way. (Counted, not timed; should the healthy
		// subscriber ever miss the timeout on a busy machine, the redelivery is dropped by the trigger.)
		expect(good.emitted).toHaveLength(total);
		expect(new Set(good.emitted.map((e) => e.deliveryId)).size).toBe(total);
		const pendingHanging = await deliveries(
			`subscriptionId=${hanging.staticData.subscriptionId}&status=pending`,
		);
		expect(pendingHanging.length).toBeGreaterThan(0);

		// 3 attempts each, then dead; visible through the API with the reason.
		const allDead = async (r: TriggerReceiver) =>
			(await deliveries(`subscriptionId=${r.staticData.subscriptionId}&status=dead&limit=100`))
				.length === total;
		expect(
			await waitFor(async () => (await allDead(failing)) && (await allDead(hanging)), 120_000, 100),
		).toBe(true);
		expect(Date.now()).toBeGreaterThan(goodDoneAt);
		const dead = await deliveries(
			`subscriptionId=${failing.staticData.subscriptionId}&status=dead&limit=100`,
		);
		expect(
			dead.every(
				(d) => d.attempts === 3 && d.lastStatusCode === 500 && d.lastError.startsWith('HTTP 500'),
			),
		).toBe(true);
		const deadHanging = await deliveries(
			`subscriptionId=${hanging.staticData.subscriptionId}&status=dead&limit=100`,
		);
		expect(deadHanging.every((d) => d.attempts === 3 && /timeout/.test(d.lastError))).toBe(true);
		expect(
			(await api(t.svc, 'GET', `/api/v1/subscriptions/${failing.staticData.subscriptionId}`)).body
				.deliveries,
		).toEqual({ pending: 0, dead: total });
		expect(failing.emitted).toHaveLength(0);

		// Head of line per session: every attempt at a session's first event came before any at its second.
		const order = new Map(dead.map((d) => [d.id as string, d.hookEventId as number]));
		for (const sessionId of sessions) {
			const ids = new Set(dead.filter((d) => d.sessionId === sessionId).map((d) => d.id));
			const seq = failing.requests
				.filter((q) => ids.has(q.deliveryId))
				.map((q) => order.get(q.deliveryId)!);
			expect(seq).toHaveLength(6);
			expect(seq).toEqual([...seq].sort((a, b) => a - b));
		}

		// Fixed receiver: dead letters go back to pending and are delivered, in order per session.
		failing.mode = 'ok';
		const retried = await api(
			t.svc,
			'POST',
			`/api/v1/deliveries/retry?subscriptionId=${failing.staticData.subscriptionId}`,
		);
		expect(retried.body).toEqual({ retried: total });
		expect(await waitFor(() => failing.emitted.length >= total, 60_000)).toBe(true);
		for (const sessionId of sessions) {
			expect(
				failing.emitted
					.filter((e) => e.sessionId === sessionId)
					.map((e) => (e.payload as Payload).n),
			).toEqual([0, 1]);
		}

		hanging.mode = 'ok';
		const one = deadHanging[0];
		const retryOne = await api(t.svc, 'POST', `/api/v1/deliveries/${one.id}/retry`);
		expect(retryOne.status).toBe(200);
		expect(retryOne.body).toMatchObject({ id: one.id, status: 'pending', attempts: 0 });
		expect(await waitFor(() => hanging.emitted.length === 1, 60_000)).toBe(true);
		const again = await api(t.svc, 'POST', `/api/v1/deliveries/${one.id}/retry`);
		expect(again.status).toBe(409);
		expect(again.body.message).toContain('only dead deliveries can be retried');
	}, 300_000);

	it('two replicas on one database deliver each event once, in order per session', async () => {
		// Two services on a database of their own, each with its own deliverer claiming from the same outbox. Their
		// request timeout is far beyond any answer here: a retry after a slow answer (a busy machine) is not a
		// second claim, and only a second claim is what this looks for.
		const slowOk = { ...ENV, DELIVERY_TIMEOUT_MS: '60000' };
		const primary = await startTestService(kind, slowOk);
		const replica = await replicaOf(primary, { ...slowOk, DELIVERY_CONCURRENCY: '4' });
		const r = new TriggerReceiver();
		try {
			await r.start();
			await subscribeReceiver(primary, r, { events: ['Notification'] });
			const sessions = Array.from({ length: 5 }, () => crypto.randomUUID());
			const events = 8;
			for (let n = 0; n < events; n++) {
				await Promise.all(
					sessions.map(async (sessionId, i) => {
						const target = (n + i) % 2 ? replica : primary;
						const res = await api(target, 'POST', '/api/v1/hooks', {
							session_id: sessionId,
							hook_event_name: 'Notification',
							message: `m${n}`,
							n,
						});
						expect(res.status).toBe(200);
					}),
				);
			}
			const total = sessions.length * events;
			const delivered = async () =>
				(
					await api(
						primary,
						'GET',
						`/api/v1/deliveries?subscriptionId=${r.staticData.subscriptionId}&status=delivered&limit=100`,
					)
				).body.items.length === total;
			expect(await waitFor(delivered, 60_000, 100)).toBe(true);
			await sleep(300);
			// Not one request twice: the replicas never claimed the same row.
			expect(r.requests).toHaveLength(total);
			expect(new Set(r.requests.map((q) => q.deliveryId)).size).toBe(total);
			for (const sessionId of sessions) {
				expect(
					r.emitted.filter((e) => e.sessionId === sessionId).map((e) => (e.payload as Payload).n),
				).toEqual(Array.from({ length: events }, (_, n) => n));
			}
		} finally {
			await r.stop();
			await replica.close();
			await primary.stop();
		}
	}, 300_000);

	it("a subscription made on one replica gets the other's very next event, though that one knew the filters before", async () => {
		// A database of its own: the suite's other subscriptions would make every event wanted.
		const a = await startTestService(kind, ENV);
		const b = await replicaOf(a, ENV);
		const r = new TriggerReceiver();
		receivers.push(r);
		try {
			const notify = (message: string) =>
				api(a, 'POST', '/api/v1/hooks', {
					session_id: sessionId,
					hook_event_name: 'Notification',
					message,
				});
			const sessionId = crypto.randomUUID();
			// `a` reads the subscriptions (none) with its first batch, then writes batches nobody wants in one statement.
			for (const message of ['before 1', 'before 2', 'before 3'])
				expect((await notify(message)).status).toBe(200);
			await r.start();
			await subscribeReceiver(b, r, { events: ['Notification'] });
			expect((await notify('after')).status).toBe(200);
			expect(await waitFor(() => r.emitted.length >= 1, 60_000)).toBe(true);
			await sleep(300);
			expect(r.emitted.map((e) => (e.payload as Payload).message)).toEqual(['after']);
		} finally {
			await b.close();
			await a.stop();
		}
	});

	it('stops delivering once the subscription is deleted', async () => {
		const r = await subscribed();
		expect(
			(await api(t.svc, 'DELETE', `/api/v1/subscriptions/${r.staticData.subscriptionId}`)).status,
		).toBe(204);
		await post({
			session_id: crypto.randomUUID(),
			hook_event_name: 'Notification',
			message: 'nobody listens',
		});
		await sleep(500);
		expect(r.requests).toHaveLength(0);
	});

	it('validates delivery queries', async () => {
		const bad = await api(t.svc, 'GET', '/api/v1/deliveries?status=lost');
		expect(bad.status).toBe(400);
		expect(bad.body.message).toContain('status');
		expect((await api(t.svc, 'GET', `/api/v1/deliveries/${crypto.randomUUID()}`)).status).toBe(404);
		expect(
			(await api(t.svc, 'POST', `/api/v1/deliveries/${crypto.randomUUID()}/retry`)).status,
		).toBe(404);
		expect((await api(t.svc, 'GET', '/api/v1/deliveries', undefined, {})).status).toBe(401);
	});
});

describe('delivery target checks at send time', () => {
	let server: http.Server;
	let hits = 0;
	let port = 0;
	beforeAll(async () => {
		server = http.createServer((req, res) => {
			hits++;
			if (req.url === '/redirect')
				res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
			else res.writeHead(200).end();
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		port = (server.address() as AddressInfo).port;
	});
	afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

	it('does not connect to a loopback address, by literal or by name, unless allowlisted', async () => {
		const before = hits;
		const literal = await postDelivery(
			`http://127.0.0.1:${port}/x`,
			'{}',
			{},
			{ timeoutMs: 1000, allowedHosts: [] },
		);
		expect(literal).toMatchObject({ ok: false, refused: true });
		const byName = await postDelivery(
			`http://localhost:${port}/x`,
			'{}',
			{},
			{ timeoutMs: 1000, allowedHosts: [] },
		);
		expect(byName).toMatchObject({ ok: false, refused: true });
		expect(byName.ok ? '' : byName.error).toMatch(/resolves to .*(127\.0\.0\.1|::1)/);
		expect(hits).toBe(before);
		const allowed = await postDelivery(
			`http://127.0.0.1:${port}/x`,
			'{}',
			{},
			{ timeoutMs: 1000, allowedHosts: ['127.0.0.1'] },
		);
		expect(allowed).toEqual({ ok: true, statusCode: 200 });
	});

	it('does not follow redirects', async () => {
		const res = await postDelivery(
			`http://127.0.0.1:${port}/redirect`,
			'{}',
			{},
			{ timeoutMs: 1000, allowedHosts: ['127.0.0.1'] },
		);
		expect(res).toMatchObject({ ok: false, statusCode: 302 });
		expect(res.ok ? '' : res.error).toContain('not followed');
	});
});

describe('retry backoff', () => {
	it('doubles from the base per attempt, adds at most 10% jitter and stops at the cap', () => {
		const none = () => 0;
		expect([1, 2, 3, 4, 5].map((a) => backoffMs(a, 1000, 300_000, none))).toEqual([
			1000, 2000, 4000, 8000, 16_000,
		]);
		expect(backoffMs(30, 1000, 300_000, none)).toBe(300_000);
		expect(backoffMs(2, 1000, 300_000, () => 0.999)).toBe(2200);
		expect(backoffMs(30, 1000, 300_000, () => 0.999)).toBe(300_000);
	});
});
