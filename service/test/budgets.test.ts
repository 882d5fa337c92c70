import crypto from 'node:crypto';
import { api, DATABASE_KINDS } from '../../test/support/test-service';
import {
	startBudgetService,
	testClock,
	type BudgetTestService,
} from '../../test/support/budget-service';

/** Asks for a run's reservation as the runner does: a new run, the service's default amount and time unless given. */
const reservation = (
	svc: { url: string },
	sessionId: string,
	opts: { requestUsd?: number; runId?: string; ttlSeconds?: number } = {},
) =>
	api(svc, 'POST', '/api/v1/budgets/reservations', {
		sessionId,
		runId: opts.runId ?? crypto.randomUUID(),
		...(opts.requestUsd ? { requestUsd: opts.requestUsd } : {}),
		...(opts.ttlSeconds ? { ttlSeconds: opts.ttlSeconds } : {}),
	});

const putBudget = (svc: { url: string }, body: Record<string, unknown>) =>
	api(svc, 'PUT', '/api/v1/budgets', body);
/** The budget as stored (created or changed). */
const budget = async (svc: { url: string }, body: Record<string, unknown>) =>
	(await putBudget(svc, body)).body;

describe.each(DATABASE_KINDS)('budgets (%s)', (kind) => {
	let svc: BudgetTestService;
	beforeAll(async () => {
		svc = await startBudgetService(kind);
	}, 60_000);
	afterAll(() => svc?.stop());
	beforeEach(async () => {
		await svc.db.query('DELETE FROM budgets');
		svc.clock.set(new Date());
	});

	const newSession = async (extra: Record<string, unknown> = {}) => {
		const res = await api(svc, 'POST', '/api/v1/sessions', { status: 'running', ...extra });
		expect(res.status).toBe(201);
		return res.body.id as string;
	};
	/** A run with a reported cost, as the runner records it when claude has finished. */
	const recordRun = (
		sessionId: string,
		costUsd: number,
		startedAt = svc.clock.now().toISOString(),
		runId: string = crypto.randomUUID(),
	) =>
		api(svc, 'PUT', `/api/v1/sessions/${sessionId}/runs/${runId}`, {
			kind: 'start',
			status: 'completed',
			costUsd,
			startedAt,
			endedAt: startedAt,
		});
	const reserve = (sessionId: string, requestUsd?: number, runId?: string) =>
		reservation(svc, sessionId, { requestUsd, runId });
	const events = async (sessionId: string) =>
		(await api(svc, 'GET', `/api/v1/sessions/${sessionId}/events?limit=200`)).body.items as Array<{
			event: string;
			payload: any;
		}>;

	it('creates, changes, lists, reads and deletes a budget', async () => {
		const created = await putBudget(svc, {
			scope: 'thread',
			scopeValue: 'slack:C1:1.0',
			period: 'day',
			limitUsd: 2,
		});
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({
			scope: 'thread',
			scopeValue: 'slack:C1:1.0',
			period: 'day',
			limitUsd: 2,
			warningPercent: 80,
			spentUsd: 0,
			remainingUsd: 2,
			each: false,
			source: 'api',
		});
		expect(new Date(created.body.resetsAt).getUTCHours()).toBe(0);
		const changed = await putBudget(svc, {
			scope: 'thread',
			scopeValue: 'slack:C1:1.0',
			period: 'day',
			limitUsd: 3,
			warningPercent: 50,
		});
		expect(changed.status).toBe(200);
		expect(changed.body).toMatchObject({ id: created.body.id, limitUsd: 3, warningPercent: 50 });
		const list = await api(svc, 'GET', '/api/v1/budgets');
		expect(list.body.items).toHaveLength(1);
		expect((await api(svc, 'GET', `/api/v1/budgets/${created.body.id}`)).body.limitUsd).toBe(3);
		expect((await api(svc, 'DELETE', `/api/v1/budgets/${created.body.id}`)).status).toBe(204);
		expect((await api(svc, 'GET', `/api/v1/budgets/${created.body.id}`)).status).toBe(404);
		expect((await api(svc, 'DELETE', `/api/v1/budgets/${created.body.id}`)).status).toBe(404);
	});

	it.each([
		[{ scope: 'all', limitUsd: -1 }, /limitUsd must be more than 0/],
		[{ scope: 'all', limitUsd: 0 }, /limitUsd must be more than 0/],
		[{ scope: 'all', limitUsd: 5e9 }, /limitUsd above \$1,000,000/],
		[{ scope: 'all', limitUsd: '5' }, /limitUsd is a number of US dollars/],
		[{ scope: 'galaxy', limitUsd: 5 }, /scope is one of all, repository, thread, session/],
		[{ scope: 'all', period: 'week', limitUsd: 5 }, /period is one of lifetime, day, month/],
		[{ scope: 'all', scopeValue: 'x', limitUsd: 5 }, /scope "all" takes no scopeValue/],
		[{ scope: 'session', scopeValue: 'not-a-uuid', limitUsd: 5 }, /session uuid/],
		[{ scope: 'thread', scopeValue: '  ', limitUsd: 5 }, /scopeValue is empty/],
		[{ scope: 'all', limitUsd: 5, warningPercent: 150 }, /warningPercent is between 0 and 100/],
		[{ scope: 'all', limitUsd: 5, colour: 'red' }, /colour/],
	])('refuses %j with a 400 that names the problem, and stores nothing', async (body, message) => {
		const res = await putBudget(svc, body);
		expect(res.status).toBe(400);
		expect(res.body.message).toMatch(message);
		expect((await api(svc, 'GET', '/api/v1/budgets')).body.items).toEqual([]);
	});

	it('refuses bad reservation and budget ids with 4xx', async () => {
		expect((await api(svc, 'GET', '/api/v1/budgets/nope')).status).toBe(400);
		expect((await reserve(crypto.randomUUID())).status).toBe(404);
		expect((await reserve('x', -2)).status).toBe(400);
		expect(
			(await api(svc, 'POST', `/api/v1/budgets/reservations/${crypto.randomUUID()}/renew`, {}))
				.status,
		).toBe(404);
	});

	it('overlapping budgets all apply: the run gets the smallest remainder and every budget holds it', async () => {
		const thread = 'slack:C2:2.0';
		const all = await budget(svc, { scope: 'all', period: 'day', limitUsd: 10 });
		const mine = await budget(svc, { scope: 'thread', scopeValue: thread, limitUsd: 1 });
		const each = await budget(svc, { scope: 'thread', limitUsd: 0.5 });
		const other = await budget(svc, {
			scope: 'repository',
			scopeValue: 'acme/other',
			limitUsd: 0.01,
		});
		const s = await newSession({ threadKey: thread, repository: 'acme/app' });
		await recordRun(s, 0.3);
		const r = await reserve(s, 5);
		expect(r.status).toBe(201);
		// thread: 1 - 0.3; each thread: 0.5 - 0.3; all: 10 - 0.3; the other repository's budget does not apply.
		expect(r.body.capUsd).toBeCloseTo(0.2, 6);
		expect(r.body.budgets.map((b: any) => b.id).sort()).toEqual([all.id, mine.id, each.id].sort());
		expect(r.body.budgets.map((b: any) => b.id)).not.toContain(other.id);
		const status = (await api(svc, 'GET', `/api/v1/budgets/${all.id}`)).body;
		expect(status).toMatchObject({ spentUsd: 0.3, heldUsd: 0.2, runningRuns: 1 });
	});

	it('holds reservations across runs: together they never exceed what is left, and a spent budget refuses with a message', async () => {
		const thread = 'slack:C3:3.0';
		const b = await budget(svc, {
			scope: 'thread',
			scopeValue: thread,
			period: 'day',
			limitUsd: 0.1,
		});
		const sessions = await Promise.all([1, 2, 3, 4].map(() => newSession({ threadKey: thread })));
		const grants = await Promise.all(sessions.map((s) => reserve(s, 0.04)));
		const caps = grants.filter((g) => g.body.granted).map((g) => g.body.capUsd);
		expect(caps.reduce((a, c) => a + c, 0)).toBeCloseTo(0.1, 6);
		expect(caps.sort()).toEqual([0.02, 0.04, 0.04].sort());
		const refused = grants.find((g) => !g.body.granted)!;
		expect(refused.body).toMatchObject({ status: 'budget_exhausted' });
		expect(refused.body.message).toMatch(
			/thread slack:C3:3\.0 per UTC day has nothing left to reserve: \$0\.0000 spent and \$0\.1000 held by 3 running run\(s\)/,
		);

		// The runs end: each reports its cost; what it held beyond that goes back.
		const granted = grants.filter((g) => g.body.granted);
		for (const g of granted) {
			const runId = g.body.runId;
			const session = sessions[grants.indexOf(g)];
			expect((await recordRun(session, 0.035, undefined, runId)).status).toBe(200);
		}
		const after = (await api(svc, 'GET', `/api/v1/budgets/${b.id}`)).body;
		expect(after).toMatchObject({ heldUsd: 0, runningRuns: 0, heldBackRuns: 1 });
		expect(after.spentUsd).toBeCloseTo(0.105, 6);
		const fifth = await reserve(sessions[0], 0.04);
		expect(fifth.body.granted).toBe(false);
		const midnight = new Date(
			Date.UTC(
				svc.clock.now().getUTCFullYear(),
				svc.clock.now().getUTCMonth(),
				svc.clock.now().getUTCDate() + 1,
			),
		);
		expect(fifth.body.message).toBe(
			`Not started: the budget for thread ${thread} per UTC day: $0.1050 of $0.1000 spent today (UTC); it resets at ${midnight.toISOString()}.`,
		);
		expect(fifth.body).toMatchObject({
			spentUsd: expect.closeTo(0.105, 6),
			limitUsd: 0.1,
			resetsAt: midnight.toISOString(),
			budgetId: b.id,
		});
	});

	it('a day budget resets at the UTC day boundary', async () => {
		const b = await budget(svc, {
			scope: 'repository',
			scopeValue: 'acme/day',
			period: 'day',
			limitUsd: 1,
		});
		const s = await newSession({ repository: 'acme/day' });
		svc.clock.set('2026-03-10T23:59:30.000Z');
		await recordRun(s, 1.2, '2026-03-10T23:58:00.000Z');
		const before = await reserve(s);
		expect(before.body).toMatchObject({ granted: false, resetsAt: '2026-03-11T00:00:00.000Z' });
		expect(before.body.message).toMatch(
			/\$1\.20 of \$1\.00 spent today \(UTC\); it resets at 2026-03-11T00:00:00\.000Z/,
		);
		svc.clock.set('2026-03-10T23:59:59.999Z');
		expect((await reserve(s)).body.granted).toBe(false);
		svc.clock.set('2026-03-11T00:00:00.000Z');
		const after = await reserve(s);
		expect(after.body).toMatchObject({ granted: true, capUsd: 1 });
		expect((await api(svc, 'GET', `/api/v1/budgets/${b.id}`)).body).toMatchObject({
			spentUsd: 0,
			heldUsd: 1,
			periodStart: '2026-03-11T00:00:00.000Z',
			resetsAt: '2026-03-12T00:00:00.000Z',
		});
	});

	it('a reservation nobody renews (its run died) stops holding when it expires; a renewed one keeps holding', async () => {
		const b = await budget(svc, {
			scope: 'repository',
			scopeValue: 'acme/dead',
			limitUsd: 1,
		});
		const [dead, alive] = [
			await newSession({ repository: 'acme/dead' }),
			await newSession({ repository: 'acme/dead' }),
		];
		const deadRun = crypto.randomUUID();
		const aliveRun = crypto.randomUUID();
		expect(
			(await reservation(svc, dead, { runId: deadRun, requestUsd: 0.6, ttlSeconds: 60 })).body
				.capUsd,
		).toBe(0.6);
		expect(
			(await reservation(svc, alive, { runId: aliveRun, requestUsd: 0.6, ttlSeconds: 60 })).body
				.capUsd,
		).toBeCloseTo(0.4, 6);
		svc.clock.advance(45_000);
		expect(
			(await api(svc, 'POST', `/api/v1/budgets/reservations/${aliveRun}/renew`, { ttlSeconds: 60 }))
				.status,
		).toBe(204);
		svc.clock.advance(30_000);
		// The dead run's 60 s are over; the live one renewed at 45 s and holds until 105 s.
		expect((await api(svc, 'GET', `/api/v1/budgets/${b.id}`)).body).toMatchObject({
			heldUsd: 0.4,
			runningRuns: 1,
		});
		expect(
			(await api(svc, 'POST', `/api/v1/budgets/reservations/${deadRun}/renew`, {})).status,
		).toBe(404);
		expect((await reserve(dead, 5)).body.capUsd).toBeCloseTo(0.6, 6);
	});

	it('a released reservation gives its amount back at once', async () => {
		await putBudget(svc, {
			scope: 'repository',
			scopeValue: 'acme/released',
			limitUsd: 1,
		});
		const s = await newSession({ repository: 'acme/released' });
		const runId = crypto.randomUUID();
		await reserve(s, 0.9, runId);
		expect((await reserve(s, 5)).body.capUsd).toBeCloseTo(0.1, 6);
		expect((await api(svc, 'DELETE', `/api/v1/budgets/reservations/${runId}`)).status).toBe(204);
		expect((await reserve(s, 5)).body.capUsd).toBeCloseTo(0.9, 6);
	});

	it('fires Budget Warning at the warning level and Budget Reached at the limit, once each, as service events', async () => {
		const thread = 'slack:C4:4.0';
		await putBudget(svc, {
			scope: 'thread',
			scopeValue: thread,
			limitUsd: 1,
			warningPercent: 50,
			name: 'support thread',
		});
		const s = await newSession({ threadKey: thread });
		const run1 = crypto.randomUUID();
		await recordRun(s, 0.4, undefined, run1);
		expect((await events(s)).filter((e) => e.event.startsWith('Budget'))).toEqual([]);
		await recordRun(s, 0.2);
		// Re-recording the same run does not fire again.
		await recordRun(s, 0.4, undefined, run1);
		let budgetEvents = (await events(s)).filter((e) => e.event.startsWith('Budget'));
		expect(budgetEvents.map((e) => e.event)).toEqual(['BudgetWarning']);
		expect(budgetEvents[0].payload).toMatchObject({
			source: 'service',
			thread_key: thread,
			limit_usd: 1,
			warning_percent: 50,
			scope: 'thread',
			scope_value: thread,
		});
		expect(budgetEvents[0].payload.message).toMatch(
			/^Budget warning: 50% used\. "support thread": \$0\.6000 of \$1\.00 spent in all/,
		);
		await recordRun(s, 0.5);
		await recordRun(s, 0.5);
		budgetEvents = (await events(s)).filter((e) => e.event.startsWith('Budget'));
		expect(budgetEvents.map((e) => e.event)).toEqual(['BudgetWarning', 'BudgetReached']);
		expect(budgetEvents[1].payload.message).toMatch(
			/^Budget reached: new runs under it will not start\. "support thread": \$1\.10 of \$1\.00 spent in all; it does not reset/,
		);
		// A run refused later in another session of the thread tells that session too.
		const other = await newSession({ threadKey: thread });
		expect((await reserve(other)).body.granted).toBe(false);
		expect((await events(other)).map((e) => e.event)).toContain('BudgetReached');
	});

	it('carries how to answer the thread (its email reply, as the workflow last recorded it) in the budget events', async () => {
		const thread = 'email:budget-root.alice@example.test';
		const first = {
			replyTo: 'alice@example.test',
			subject: 'Re: Build',
			inReplyTo: '<budget-root.alice@example.test>',
			references: ['<budget-root.alice@example.test>'],
		};
		await putBudget(svc, { scope: 'thread', scopeValue: thread, limitUsd: 1 });
		const s = await newSession({ threadKey: thread, threadMetadata: { email: first } });
		expect(
			(await api(svc, 'GET', `/api/v1/threads/${encodeURIComponent(thread)}`)).body.metadata,
		).toEqual({ email: first });
		await recordRun(s, 0.85);
		// A later message of the thread is what the next mail threads on.
		const latest = {
			...first,
			inReplyTo: '<budget-2.alice@example.test>',
			references: [
				...first.references,
				'<budget-1.claude@example.test>',
				'<budget-2.alice@example.test>',
			],
		};
		expect(
			(
				await api(svc, 'PUT', `/api/v1/threads/${encodeURIComponent(thread)}`, {
					sessionId: s,
					metadata: { email: latest },
				})
			).status,
		).toBe(200);
		await recordRun(s, 0.2);
		const budgetEvents = (await events(s)).filter((e) => e.event.startsWith('Budget'));
		expect(
			budgetEvents.map((e) => [e.event, e.payload.thread_key, e.payload.thread_metadata]),
		).toEqual([
			['BudgetWarning', thread, { email: first }],
			['BudgetReached', thread, { email: latest }],
		]);
		// A session with no thread has nothing to carry.
		await putBudget(svc, { scope: 'session', limitUsd: 1 });
		const alone = await newSession();
		await recordRun(alone, 1.5);
		expect(
			(await events(alone)).find((e) => e.event === 'BudgetReached')?.payload.thread_metadata,
		).toBeNull();
	});

	it('runs of one thread recorded at the same time fire Budget Warning and Budget Reached once in all', async () => {
		const thread = 'slack:C4:5.0';
		await putBudget(svc, { scope: 'thread', scopeValue: thread, limitUsd: 1 });
		const sessions = await Promise.all(
			Array.from({ length: 8 }, () => newSession({ threadKey: thread })),
		);
		const answers = await Promise.all(sessions.map((s) => recordRun(s, 0.3)));
		expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
		const fired = (await Promise.all(sessions.map(events)))
			.flat()
			.map((e) => e.event)
			.filter((e) => e.startsWith('Budget'));
		// 8 × $0.30 against $1: one run carried the thread past 80 % and one past the limit, whatever the order.
		expect(fired.sort()).toEqual(['BudgetReached', 'BudgetWarning']);
	});
});

describe.each(DATABASE_KINDS)('where the money went: /metrics (%s)', (kind) => {
	let svc: BudgetTestService;
	beforeAll(async () => {
		svc = await startBudgetService(kind);
	}, 60_000);
	afterAll(() => svc?.stop());

	it("reports cost by model and repository, and each budget's limit, spent and remaining", async () => {
		const s1 = (
			await api(svc, 'POST', '/api/v1/sessions', { repository: 'acme/"quoted"', model: 'opus' })
		).body.id;
		const s2 = (await api(svc, 'POST', '/api/v1/sessions', { model: 'sonnet' })).body.id;
		const run = (s: string, body: Record<string, unknown>) =>
			api(svc, 'PUT', `/api/v1/sessions/${s}/runs/${crypto.randomUUID()}`, {
				kind: 'start',
				status: 'completed',
				...body,
			});
		await run(s1, {
			costUsd: 0.5,
			modelUsage: { 'claude-opus-5-5': { costUSD: 0.4 }, 'claude-haiku-4-5': { costUSD: 0.1 } },
		});
		await run(s1, { costUsd: 0.25, modelUsage: { 'claude-opus-5-5': { costUSD: 0.25 } } });
		await run(s2, { costUsd: 0.125 });
		await run(s2, { costUsd: 0.5, modelUsage: { 'claude-x': { costUSD: 'lots' } } });
		const b = await budget(svc, {
			scope: 'repository',
			scopeValue: 'acme/"quoted"',
			period: 'month',
			limitUsd: 2,
		});
		await putBudget(svc, { scope: 'thread', limitUsd: 2 });
		const res = await fetch(`${svc.url}/metrics`, {
			headers: { Authorization: `Bearer ${svc.apiKey}` },
		});
		expect(res.status).toBe(200);
		const text = await res.text();
		expect(text).toContain('# TYPE orchestrator_cost_usd_total counter');
		expect(text).toContain(
			'orchestrator_cost_usd_total{model="claude-opus-5-5",repository="acme/\\"quoted\\""} 0.65',
		);
		expect(text).toContain(
			'orchestrator_cost_usd_total{model="claude-haiku-4-5",repository="acme/\\"quoted\\""} 0.1',
		);
		expect(text).toContain('orchestrator_cost_usd_total{model="sonnet",repository=""} 0.125');
		expect(text).toContain('orchestrator_cost_usd_total{model="claude-x",repository=""} 0');
		const labels = `budget="${b.id}",name="",scope="repository",scope_value="acme/\\"quoted\\"",period="month"`;
		expect(text).toContain(`orchestrator_budget_limit_usd{${labels}} 2`);
		expect(text).toContain(`orchestrator_budget_spent_usd{${labels}} 0.75`);
		expect(text).toContain(`orchestrator_budget_remaining_usd{${labels}} 1.25`);
		// A per-each budget has no single figure.
		expect(text.match(/orchestrator_budget_limit_usd\{/g)).toHaveLength(1);
	});
});

describe.each(DATABASE_KINDS)('where the money went: cost report (%s)', (kind) => {
	let svc: BudgetTestService;
	beforeAll(async () => {
		svc = await startBudgetService(kind, {}, testClock('2026-04-30T12:00:00.000Z'));
	}, 60_000);
	afterAll(() => svc?.stop());

	it('gives cost per UTC day for the last 30 days by repository and by model, and the most expensive sessions', async () => {
		const a = (
			await api(svc, 'POST', '/api/v1/sessions', {
				repository: 'acme/a',
				model: 'opus',
				threadKey: 'slack:C9:1.0',
			})
		).body.id;
		const b = (await api(svc, 'POST', '/api/v1/sessions', { repository: 'acme/b' })).body.id;
		const run = (s: string, startedAt: string, body: Record<string, unknown>) =>
			api(svc, 'PUT', `/api/v1/sessions/${s}/runs/${crypto.randomUUID()}`, {
				kind: 'start',
				status: 'completed',
				startedAt,
				...body,
			});
		await run(a, '2026-04-30T23:00:00.000Z', {
			costUsd: 1,
			modelUsage: { 'claude-opus-5-5': { costUSD: 0.75 }, 'claude-haiku-4-5': { costUSD: 0.25 } },
		});
		await run(a, '2026-04-29T00:30:00.000Z', { costUsd: 0.5 });
		await run(b, '2026-04-29T10:00:00.000Z', {
			costUsd: 2,
			modelUsage: { 'claude-opus-5-5': { costUSD: 2 } },
		});
		// Older than 30 days: left out.
		await run(b, '2026-03-31T23:59:59.000Z', { costUsd: 9 });
		const report = (await api(svc, 'GET', '/api/v1/budgets/costs')).body;
		expect(report).toMatchObject({ since: '2026-04-01T00:00:00.000Z', days: 30 });
		expect(report.byRepository).toEqual([
			{ day: '2026-04-29', repository: 'acme/a', costUsd: 0.5 },
			{ day: '2026-04-29', repository: 'acme/b', costUsd: 2 },
			{ day: '2026-04-30', repository: 'acme/a', costUsd: 1 },
		]);
		expect(report.byModel).toEqual([
			{ day: '2026-04-29', model: 'claude-opus-5-5', costUsd: 2 },
			{ day: '2026-04-29', model: 'opus', costUsd: 0.5 },
			{ day: '2026-04-30', model: 'claude-haiku-4-5', costUsd: 0.25 },
			{ day: '2026-04-30', model: 'claude-opus-5-5', costUsd: 0.75 },
		]);
		expect(report.topSessions).toEqual([
			{
				id: b,
				repository: 'acme/b',
				threadKey: null,
				model: null,
				status: 'completed',
				costUsd: 2,
				runs: 1,
			},
			{
				id: a,
				repository: 'acme/a',
				threadKey: 'slack:C9:1.0',
				model: 'opus',
				status: 'completed',
				costUsd: 1.5,
				runs: 2,
			},
		]);
		expect((await api(svc, 'GET', '/api/v1/budgets/costs?days=0')).body.message).toMatch(
			/days is 1 to 366/,
		);
		expect((await api(svc, 'GET', '/api/v1/budgets/costs?top=1000')).status).toBe(400);
	});
});

describe('budgets from the environment', () => {
	it('creates the common budgets from BUDGET_* variables, each applying as its rule says', async () => {
		const { loadConfig } = await import('../src/config');
		expect(() => loadConfig({ BUDGET_DAY_USD: '-3' })).toThrow(
			/BUDGET_DAY_USD must be more than 0/,
		);
		expect(() => loadConfig({ BUDGET_SESSION_USD: 'lots' })).toThrow(/BUDGET_SESSION_USD/);
		const svc = await startBudgetService('pglite', {
			BUDGET_SESSION_USD: '2.5',
			BUDGET_DAY_USD: '40',
			BUDGET_RUN_RESERVE_USD: '0.75',
		});
		try {
			const items = (await api(svc, 'GET', '/api/v1/budgets')).body.items;
			expect(
				items
					.map((b: any) => [b.name, b.scope, b.scopeValue, b.period, b.limitUsd, b.source, b.each])
					.sort(),
			).toEqual(
				[
					['BUDGET_DAY_USD', 'all', null, 'day', 40, 'environment', false],
					['BUDGET_SESSION_USD', 'session', null, 'lifetime', 2.5, 'environment', true],
				].sort(),
			);
			const s = (await api(svc, 'POST', '/api/v1/sessions', {})).body.id;
			// No amount asked for: the service's default reservation, within both budgets.
			expect((await reservation(svc, s)).body.capUsd).toBe(0.75);
			await api(svc, 'PUT', `/api/v1/sessions/${s}/runs/${crypto.randomUUID()}`, {
				kind: 'start',
				status: 'completed',
				costUsd: 2.5,
			});
			const refused = (await reservation(svc, s)).body;
			expect(refused.message).toMatch(/BUDGET_SESSION_USD": \$2\.50 of \$2\.50 spent in all/);
			// Another session has its own per-session budget.
			const s2 = (await api(svc, 'POST', '/api/v1/sessions', {})).body.id;
			expect((await reservation(svc, s2)).body.granted).toBe(true);
		} finally {
			await svc.stop();
		}
	}, 60_000);
});
