import crypto from 'node:crypto';
import { api, DATABASE_KINDS, startTestService, type TestService } from '../support/test-service';
import { createSession, postToolCalls, putRun } from './seed';

// GET /api/v1/stats, the dashboard overview's one endpoint of its own.

const READER = `reader-${crypto.randomBytes(12).toString('hex')}`;
const DAY = 24 * 60 * 60 * 1000;
const daysAgo = (n: number, extraMs = 0) => new Date(Date.now() - n * DAY - extraMs).toISOString();
const isoDay = (iso: string) => iso.slice(0, 10);

describe.each(DATABASE_KINDS)('GET /api/v1/stats (%s)', (kind) => {
	let svc: TestService;
	beforeAll(async () => {
		svc = await startTestService(kind, { DASHBOARD_TOKEN: READER });
		const a = await createSession(svc, { prompt: 'stats a', workspaceType: 'local' });
		const b = await createSession(svc, {
			prompt: 'stats b',
			workspaceType: 'github',
			status: 'waiting',
		});
		await createSession(svc, { prompt: 'stats c', status: 'running' });
		await putRun(svc, a.id, {
			kind: 'start',
			status: 'completed',
			costUsd: 0.5,
			startedAt: daysAgo(0, 1000),
		});
		await putRun(svc, a.id, {
			kind: 'resume',
			status: 'completed',
			costUsd: 0.25,
			startedAt: daysAgo(3),
		});
		await putRun(svc, a.id, {
			kind: 'resume',
			status: 'failed',
			costUsd: 9,
			startedAt: daysAgo(40),
		}); // outside the window
		const call = (toolUseId: string, status: string, finishedAt?: string) => ({
			toolUseId,
			toolName: 'Bash',
			status,
			finishedAt,
			input: {},
		});
		await postToolCalls(svc, b.id, [
			call('t1', 'succeeded', daysAgo(0, 1000)),
			call('t2', 'succeeded', daysAgo(0, 1000)),
			call('t3', 'failed', daysAgo(0, 1000)),
			call('t4', 'denied', daysAgo(2)),
			call('t5', 'failed', daysAgo(45)), // outside the window
			call('t6', 'running'), // no outcome yet
		]);
	});
	afterAll(() => svc?.stop());

	it('counts sessions per status, cost per day and tool failures over the last 30 UTC days', async () => {
		const res = await api(svc, 'GET', '/api/v1/stats', undefined, {
			Authorization: `Bearer ${READER}`,
		});
		expect(res.status).toBe(200);
		const s = res.body;
		expect(s.sessionsByStatus).toEqual({ completed: 1, waiting: 1, running: 1 });
		expect(s.sessionsTotal).toBe(3);
		expect(s.days).toBe(30);
		expect(s.perDay).toHaveLength(30);
		expect(s.perDay[29].day).toBe(isoDay(new Date().toISOString()));
		const on = (iso: string) => s.perDay.find((d: any) => d.day === isoDay(iso));
		expect(on(daysAgo(0, 1000))).toMatchObject({
			runs: 1,
			sessions: 3,
			toolCalls: 3,
			toolFailures: 1,
			toolDenials: 0,
		});
		expect(on(daysAgo(0, 1000)).costUsd).toBeCloseTo(0.5);
		expect(on(daysAgo(3))).toMatchObject({ runs: 1, costUsd: 0.25 });
		expect(on(daysAgo(2))).toMatchObject({ toolCalls: 1, toolDenials: 1 });
		expect(s.costUsd).toBeCloseTo(0.75);
		expect(s.toolCalls).toEqual({ total: 4, failed: 1, denied: 1, failureRate: 0.25 });
	});

	it('gives activity per hour for a day and per day for 30 days, what waits for a person, and refuses another range', async () => {
		const day = await api(svc, 'GET', '/api/v1/stats/activity', undefined, {
			Authorization: `Bearer ${READER}`,
		});
		expect(day.status).toBe(200);
		expect(day.body).toMatchObject({ range: 'day', unit: 'hour' });
		expect(day.body.buckets).toHaveLength(24);
		const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
		expect(day.body.buckets[23]).toMatchObject({ t: hour, sessions: 3 });
		const sum = (key: string, buckets: any[]) => buckets.reduce((n, b) => n + b[key], 0);
		expect(sum('toolCalls', day.body.buckets)).toBe(3);
		expect(sum('failures', day.body.buckets)).toBe(1);
		expect(sum('costUsd', day.body.buckets)).toBeCloseTo(0.5);
		expect(day.body.waiting).toMatchObject({
			count: 1,
			sessions: [
				expect.objectContaining({ status: 'waiting', prompt: 'stats b', pendingApprovals: 0 }),
			],
		});
		const month = await api(svc, 'GET', '/api/v1/stats/activity?range=month');
		expect(month.body).toMatchObject({ range: 'month', unit: 'day' });
		expect(month.body.buckets).toHaveLength(30);
		expect(month.body.buckets[29].t).toBe(`${isoDay(new Date().toISOString())}T00:00:00.000Z`);
		expect(sum('toolCalls', month.body.buckets)).toBe(4);
		expect(sum('denials', month.body.buckets)).toBe(1);
		expect(sum('costUsd', month.body.buckets)).toBeCloseTo(0.75);
		const bad = await api(svc, 'GET', '/api/v1/stats/activity?range=year');
		expect(bad.status).toBe(400);
		expect(bad.body.message).toMatch(/range/);
	});

	it('takes a shorter window, and refuses nonsense', async () => {
		const week = await api(svc, 'GET', '/api/v1/stats?days=7');
		expect(week.body.perDay).toHaveLength(7);
		expect(week.body.costUsd).toBeCloseTo(0.75);
		expect((await api(svc, 'GET', '/api/v1/stats?days=0')).status).toBe(400);
		expect((await api(svc, 'GET', '/api/v1/stats?days=1000')).status).toBe(400);
	});

	it('answers the API key and the read-only dashboard token, nobody else; under /api too', async () => {
		expect((await api(svc, 'GET', '/api/v1/stats', undefined, {})).status).toBe(401);
		expect(
			(
				await api(svc, 'GET', '/api/v1/stats', undefined, {
					Authorization: 'Bearer wrong-token-0123456789',
				})
			).status,
		).toBe(401);
		const session = await createSession(svc, {});
		expect(
			(
				await api(svc, 'GET', '/api/v1/stats', undefined, {
					Authorization: `Bearer ${session.hookToken}`,
				})
			).status,
		).toBe(403);
		expect(
			(await api(svc, 'GET', '/api/stats', undefined, { Authorization: `Bearer ${READER}` }))
				.status,
		).toBe(200);
		// The reader token stays read-only everywhere.
		expect(
			(await api(svc, 'POST', '/api/v1/sessions', {}, { Authorization: `Bearer ${READER}` }))
				.status,
		).toBe(403);
	});
});
