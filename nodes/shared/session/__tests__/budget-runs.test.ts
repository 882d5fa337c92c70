import crypto from 'node:crypto';
import { api } from '../../../../test/support/test-service';
import {
	startBudgetService,
	type BudgetTestService,
} from '../../../../test/support/budget-service';
import { claudeFixture, type ClaudeFixture } from '../../../../test/support/claude-fixture';
import { waitUntil } from '../../../../test/support/wait';
import { fetchClient } from '../fetch-client';
import type { OrchestratorClient } from '../client';
import { resumeSession, startSession, type SessionOutput } from '../session-run';
import { claudePidFor } from '../../../../test/support/claude-pid';

// Budgets held across concurrent runs, with the real claude CLI against the fake Anthropic API, whose usage
// is priced at list price: a response of these short sessions costs about $0.019 (measured below).
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
const RESERVE_USD = 0.025;
const LIMIT_USD = 0.1;

describe(`budgets across real claude runs (${kind})`, () => {
	let svc: BudgetTestService;
	let fx: ClaudeFixture;
	let client: OrchestratorClient;

	beforeAll(async () => {
		[svc, fx] = await Promise.all([
			startBudgetService(kind, { BUDGET_RUN_RESERVE_USD: String(RESERVE_USD) }),
			claudeFixture('orch-budget'),
		]);
		client = fetchClient(svc.url, svc.apiKey);
	}, 60_000);
	afterAll(async () => {
		await svc?.stop();
		await fx?.close();
	});

	const start = (
		prompt: string,
		threadKey?: string,
		extra: Record<string, unknown> = {},
		sessionId = crypto.randomUUID(),
	) =>
		startSession(client, {
			sessionId,
			prompt,
			threadKey,
			workspace: { type: 'local', workspacePath: fx.folder(sessionId) },
			options: fx.options(extra),
			deps: fx.deps,
		});
	const reservation = async (sessionId: string) =>
		(
			await svc.db.query<{ status: string; cap_usd: number | null; cost_usd: number | null }>(
				'SELECT status, cap_usd, cost_usd FROM budget_reservations WHERE session_id = $1',
				[sessionId],
			)
		).rows;

	it('four concurrent runs of one thread stay within its budget but for one response each; the fifth is refused', async () => {
		// What one more response costs: a two-response run less a one-response run, both outside any budget.
		const one = await start('[[text:ok]]');
		const two = await start('[[bash:echo one]]');
		expect([one.numTurns, two.numTurns]).toEqual([1, 2]);
		const responseUsd = two.costUsd - one.costUsd;
		expect(responseUsd).toBeGreaterThan(0.01);

		const thread = `slack:CBUDGET:${Date.now()}.000100`;
		const budget = (
			await api(svc, 'PUT', '/api/v1/budgets', {
				scope: 'thread',
				scopeValue: thread,
				period: 'day',
				limitUsd: LIMIT_USD,
			})
		).body;
		const prompt = '[[bash:echo one]] [[bash:echo two]] [[bash:echo three]]';
		const runs: SessionOutput[] = await Promise.all([1, 2, 3, 4].map(() => start(prompt, thread)));

		const caps: number[] = [];
		for (const run of runs) {
			expect(run).toMatchObject({ status: 'budget_reached', isError: true, threadKey: thread });
			expect(run.errorMessage).toMatch(/reached its budget/);
			const [r] = await reservation(run.sessionId);
			expect(r).toMatchObject({ status: 'settled', cost_usd: run.costUsd });
			caps.push(r.cap_usd!);
			// claude checks its cap after each response: it passed it by its last response, and no more.
			expect(run.costUsd).toBeGreaterThan(r.cap_usd!);
			expect(run.costUsd).toBeLessThanOrEqual(r.cap_usd! + responseUsd * 1.05);
		}
		// Together the reservations never held more than the budget had.
		expect(caps.reduce((a, c) => a + c, 0)).toBeLessThanOrEqual(LIMIT_USD + 1e-9);
		const spent = runs.reduce((a, r) => a + r.costUsd, 0);
		expect(spent).toBeLessThanOrEqual(LIMIT_USD + runs.length * responseUsd * 1.05);
		const status = (await api(svc, 'GET', `/api/v1/budgets/${budget.id}`)).body;
		expect(status).toMatchObject({ heldUsd: 0, runningRuns: 0 });
		expect(status.spentUsd).toBeCloseTo(spent, 6);

		const fifthId = crypto.randomUUID();
		const fifth = await start(prompt, thread, {}, fifthId);
		const now = new Date();
		const midnight = new Date(
			Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1),
		).toISOString();
		expect(fifth).toMatchObject({
			status: 'budget_exhausted',
			isError: true,
			costUsd: 0,
			numTurns: 0,
		});
		expect(fifth.errorMessage).toBe(
			`Not started: the budget for thread ${thread} per UTC day: $${status.spentUsd.toFixed(4)} of $0.1000 spent today (UTC); it resets at ${midnight}.`,
		);
		expect(fx.fake.requestsFor(fifthId)).toHaveLength(0);
		const detail = (await api(svc, 'GET', `/api/v1/sessions/${fifthId}`)).body;
		expect(detail).toMatchObject({ status: 'budget_exhausted', errorMessage: fifth.errorMessage });
		expect((await api(svc, 'GET', `/api/v1/budgets/${budget.id}`)).body.heldBackRuns).toBe(1);
		// The thread heard about it: Budget Reached on the session whose cost crossed the limit, and on the refused one.
		const reached: string[] = [];
		for (const id of [...runs.map((r) => r.sessionId), fifthId]) {
			const events = (await api(svc, 'GET', `/api/v1/sessions/${id}/events?limit=200`)).body.items;
			if (events.some((e: any) => e.event === 'BudgetReached')) reached.push(id);
		}
		expect(reached).toHaveLength(2);
		expect(reached).toContain(fifthId);

		// Raised, the budget lets a stopped session resume where it left off.
		await api(svc, 'PUT', '/api/v1/budgets', {
			scope: 'thread',
			scopeValue: thread,
			period: 'day',
			limitUsd: 1,
		});
		const resumed = await resumeSession(client, {
			sessionId: runs[0].sessionId,
			prompt: '[[text:carried on]]',
			options: fx.options(),
			deps: fx.deps,
		});
		expect(resumed).toMatchObject({ status: 'completed', result: 'carried on' });
	}, 300_000);

	it('keeps the Thread Metadata of a Start and a Resume with the thread, and the Budget Reached of the resumed run carries the latest', async () => {
		const thread = `email:budget-${Date.now()}.alice@example.test`;
		const root = `<${thread.slice('email:'.length)}>`;
		const first = {
			email: {
				replyTo: 'alice@example.test',
				subject: 'Re: Budget',
				inReplyTo: root,
				references: [root],
			},
		};
		const started = await start('[[text:first answer]]', thread, {
			threadMetadata: JSON.stringify(first),
		});
		expect(started.status).toBe('completed');
		const stored = async () =>
			(await api(svc, 'GET', `/api/v1/threads/${encodeURIComponent(thread)}`)).body.metadata;
		expect(await stored()).toEqual(first);

		// The thread's next message, and a budget the resumed run passes: its Budget Reached names that message.
		const latest = {
			email: {
				...first.email,
				inReplyTo: '<second.alice@example.test>',
				references: [root, '<second.alice@example.test>'],
			},
		};
		await api(svc, 'PUT', '/api/v1/budgets', {
			scope: 'thread',
			scopeValue: thread,
			limitUsd: started.costUsd + 0.005,
		});
		const resumed = await resumeSession(client, {
			threadKey: thread,
			prompt: '[[bash:echo over]] [[text:over budget]]',
			options: fx.options({ threadMetadata: JSON.stringify(latest) }),
			deps: fx.deps,
		});
		expect(resumed.sessionId).toBe(started.sessionId);
		expect(await stored()).toEqual(latest);
		const events = (await api(svc, 'GET', `/api/v1/sessions/${started.sessionId}/events?limit=200`))
			.body.items as Array<{ event: string; payload: any }>;
		expect(
			events.filter((e) => e.event === 'BudgetReached').map((e) => e.payload.thread_metadata),
		).toEqual([latest]);

		// Refused by the service (a header in the subject): nothing runs, and the stored reply stays as it was.
		const forged = { email: { ...latest.email, subject: 'Re: Budget\r\nBcc: eve@example.test' } };
		await expect(
			resumeSession(client, {
				threadKey: thread,
				prompt: '[[text:never]]',
				options: fx.options({ threadMetadata: JSON.stringify(forged) }),
				deps: fx.deps,
			}),
		).rejects.toThrow(/subject: must be one line/);
		expect(await stored()).toEqual(latest);
		// Not JSON: said before anything is sent.
		expect(() => fx.options({ threadMetadata: '{"email":' })).toThrow(
			/Thread Metadata.*not valid JSON/,
		);
	}, 180_000);

	it('a run whose claude is killed has its reservation settled with what it reported, and the rest released', async () => {
		const sessionId = crypto.randomUUID();
		const budget = (
			await api(svc, 'PUT', '/api/v1/budgets', {
				scope: 'session',
				scopeValue: sessionId,
				limitUsd: 1,
			})
		).body;
		const run = startSession(client, {
			sessionId,
			prompt: '[[bash:echo before]] [[delay:60000]] [[bash:echo after]]',
			workspace: { type: 'local', workspacePath: fx.folder(sessionId) },
			options: fx.options(),
			deps: fx.deps,
		});
		const held = await waitUntil(
			async () => (await api(svc, 'GET', `/api/v1/budgets/${budget.id}`)).body.runningRuns === 1,
			30_000,
		);
		expect(held).toBe(true);
		expect((await api(svc, 'GET', `/api/v1/budgets/${budget.id}`)).body.heldUsd).toBe(RESERVE_USD);
		const pid = await waitUntil(() => claudePidFor(sessionId), 30_000);
		expect(pid).toBeDefined();
		process.kill(pid!, 'SIGKILL');
		const out = await run;
		expect(out.status).toBe('failed');
		const [r] = await reservation(sessionId);
		expect(r.status).toBe('settled');
		expect((await api(svc, 'GET', `/api/v1/budgets/${budget.id}`)).body).toMatchObject({
			heldUsd: 0,
			runningRuns: 0,
			remainingUsd: 1 - out.costUsd,
		});
	}, 180_000);
});
