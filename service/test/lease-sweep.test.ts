import crypto from 'node:crypto';
import { newSession, serviceWithTrigger, startRun } from '../../test/support/service-sessions';
import { waitFor, sleep } from '../../test/support/wait';
import { interruptExpiredLeases } from '../src/sessions/lease-sweep';
import { api, DATABASE_KINDS, startTestService } from '../../test/support/test-service';

// LEASE_TTL 2 s, swept every 200 ms: a run whose worker stops renewing is interrupted within about 2 s.
const ENV = {
	LEASE_TTL: '2s',
	LEASE_SWEEP_MS: '200',
	DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
	DELIVERY_POLL_INTERVAL_MS: '50',
};

describe.each(DATABASE_KINDS)('leases that die with their worker (%s)', (kind) => {
	// The Hook Trigger's "Session finished" and "Reply Queued" presets.
	const t = serviceWithTrigger(kind, ENV, ['Stop', 'SessionEnd', 'StopFailure', 'ReplyQueued']);

	const claimLease = (id: string, owner: string) =>
		api(t.svc, 'POST', `/api/v1/sessions/${id}/lease`, { owner });
	/** A session whose run is under way on `owner`, as the runner leaves it before claude starts. */
	async function running(owner: string) {
		const id = await newSession(t.svc, { status: 'running' });
		const lease = await claimLease(id, owner);
		expect(lease.status).toBe(200);
		expect(lease.body.ttlSeconds).toBe(2);
		return { id, runId: await startRun(t.svc, id) };
	}
	/** A finished session whose lease `owner` claimed for a next run that has not started. */
	async function claimed(owner: string) {
		const id = await newSession(t.svc, { status: 'completed' });
		expect((await claimLease(id, owner)).status).toBe(200);
		return id;
	}
	/** Whether another owner could claim the session's lease within `ms` (the sweep let it go). */
	const leaseFreed = (id: string, owner: string, ms: number) =>
		waitFor(async () => (await claimLease(id, owner)).status === 200, ms, 200);
	const session = async (id: string) => (await api(t.svc, 'GET', `/api/v1/sessions/${id}`)).body;
	const finishedFor = (id: string) =>
		t.receiver.emitted.filter((e: any) => e.sessionId === id && e.event !== 'ReplyQueued');
	const announcedFor = (id: string) =>
		t.receiver.emitted.filter((e: any) => e.sessionId === id && e.event === 'ReplyQueued');
	const queue = (id: string, content: string) =>
		api(t.svc, 'POST', `/api/v1/sessions/${id}/queued-messages`, {
			content,
			author: 'U0ALICE',
			channel: 'slack',
		});
	const take = (id: string, owner: string, runId: string) =>
		api(t.svc, 'POST', `/api/v1/sessions/${id}/queued-messages/take`, { owner, runId });
	const waiting = async (id: string) =>
		(await api(t.svc, 'GET', `/api/v1/sessions/${id}/queued-messages`)).body.items.map(
			(m: any) => m.content,
		);

	it('a lease not renewed for LEASE_TTL ends the run and the session as interrupted and fires Session finished once', async () => {
		const { id, runId } = await running('worker-a:4242:x');
		// About LEASE_TTL on a quiet machine; the bound leaves room for a busy one.
		expect(
			await waitFor(async () => (await session(id)).status === 'interrupted', 30_000, 100),
		).toBe(true);
		const s = await session(id);
		expect(s.errorMessage).toMatch(
			/worker running this session \(worker-a:4242:x\) stopped renewing its lease.*Resume the session/,
		);
		const runs = (await api(t.svc, 'GET', `/api/v1/sessions/${id}/runs`)).body.items;
		expect(runs).toEqual([
			expect.objectContaining({
				id: runId,
				status: 'interrupted',
				isError: true,
				endedAt: expect.any(String),
			}),
		]);

		expect(await waitFor(() => finishedFor(id).length === 1, 30_000)).toBe(true);
		const delivered = finishedFor(id)[0] as any;
		expect(delivered).toMatchObject({
			event: 'SessionEnd',
			source: 'service',
			session: { status: 'interrupted', isError: true },
		});
		expect(delivered.error).toMatch(/stopped renewing its lease/);
		const events = (await api(t.svc, 'GET', `/api/v1/sessions/${id}/events`)).body.items;
		expect(events.filter((e: any) => e.event === 'SessionEnd')).toHaveLength(1);

		// The lease is free again: a Resume can claim it at once. Later sweeps do not fire again.
		expect((await claimLease(id, 'worker-b:1:y')).status).toBe(200);
		await sleep(1_000);
		expect(finishedFor(id)).toHaveLength(1);
		await api(t.svc, 'DELETE', `/api/v1/sessions/${id}/lease?owner=worker-b:1:y`);
	});

	it('a lease that is renewed keeps its run going past LEASE_TTL', async () => {
		const { id } = await running('worker-a:1:alive');
		const until = Date.now() + 4_500;
		while (Date.now() < until) {
			expect((await claimLease(id, 'worker-a:1:alive')).status).toBe(200);
			await sleep(500);
		}
		expect((await session(id)).status).toBe('running');
		await api(t.svc, 'DELETE', `/api/v1/sessions/${id}/lease?owner=worker-a:1:alive`);
	});

	it('a claim that lapses before its run started is just released', async () => {
		const id = await claimed('worker-a:2:prep');
		expect(await leaseFreed(id, 'other', 6_000)).toBe(true);
		expect((await session(id)).status).toBe('completed');
		expect((await api(t.svc, 'GET', `/api/v1/sessions/${id}/events`)).body.items).toHaveLength(0);
	});

	it('a claim that lapses before its run started gives back the replies it took and announces what waits', async () => {
		const owner = 'worker-a:3:prep';
		const id = await claimed(owner);
		expect((await queue(id, 'first reply')).status).toBe(201);
		// A Take Queued took it, then its worker died preparing the workspace: no run was ever recorded.
		expect((await take(id, owner, crypto.randomUUID())).body.items).toHaveLength(1);
		expect((await queue(id, 'second reply')).status).toBe(201);
		expect(await waiting(id)).toEqual(['second reply']);

		expect(await waitFor(() => announcedFor(id).length === 1, 30_000, 100)).toBe(true);
		expect(announcedFor(id)[0]).toMatchObject({
			source: 'service',
			payload: { queued: 2, after_run: owner },
		});
		expect(await waiting(id)).toEqual(['first reply', 'second reply']);
		expect((await session(id)).status).toBe('completed');
		expect(finishedFor(id)).toHaveLength(0);
	});

	it('replies taken by a run that recorded its start stay taken when its lease lapses', async () => {
		const { id, runId } = await running('worker-a:5:gone');
		expect((await queue(id, 'answered mid-run')).status).toBe(201);
		expect((await take(id, 'worker-a:5:gone', runId)).body.items).toHaveLength(1);
		expect(await waitFor(() => finishedFor(id).length === 1, 30_000, 100)).toBe(true);
		expect((await session(id)).status).toBe('interrupted');
		expect(await waiting(id)).toEqual([]);
		expect(announcedFor(id)).toHaveLength(0);
	});

	it('replies taken by a run that has its budget reservation stay taken when its lease lapses (claude may be running them)', async () => {
		const owner = 'worker-a:6:spawning';
		const id = await claimed(owner);
		const runId = crypto.randomUUID();
		expect((await queue(id, 'in its prompt')).status).toBe(201);
		expect((await take(id, owner, runId)).body.items).toHaveLength(1);
		// The runner has its reservation before it starts claude; the run record is written beside the start and
		// had not arrived when the worker lost the service.
		expect(
			(await api(t.svc, 'POST', '/api/v1/budgets/reservations', { sessionId: id, runId })).status,
		).toBe(201);
		expect(await leaseFreed(id, 'next', 30_000)).toBe(true);
		expect(await waiting(id)).toEqual([]);
		expect(announcedFor(id)).toHaveLength(0);
	});

	it('sweeps running at once (several replicas) interrupt each session exactly once', async () => {
		const ids: string[] = [];
		for (let i = 0; i < 6; i++) ids.push((await running(`worker-x:${i}:z`)).id);
		// Expire them all now, then race three sweeps against the service's own.
		await t.svc.db.query(
			`UPDATE sessions SET lease_expires_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])`,
			[ids],
		);
		const counts = await Promise.all([
			interruptExpiredLeases(t.svc.db),
			interruptExpiredLeases(t.svc.db),
			interruptExpiredLeases(t.svc.db),
		]);
		expect(counts.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(6);
		expect(
			await waitFor(
				async () => (await Promise.all(ids.map(session))).every((s) => s.status === 'interrupted'),
				30_000,
				100,
			),
		).toBe(true);
		const { rows } = await t.svc.db.query<{ n: number }>(
			`SELECT count(*)::int AS n FROM hook_events WHERE session_id = ANY($1::uuid[]) AND event_name = 'SessionEnd'`,
			[ids],
		);
		expect(rows[0].n).toBe(6);
		expect(await waitFor(() => ids.every((id) => finishedFor(id).length === 1), 30_000)).toBe(true);
	});

	it('refuses a bad LEASE_TTL at start-up', async () => {
		await expect(startTestService(kind, { LEASE_TTL: 'soon' })).rejects.toThrow(
			/LEASE_TTL is a duration/,
		);
	});
});
