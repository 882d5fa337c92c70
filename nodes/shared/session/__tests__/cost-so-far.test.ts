import crypto from 'node:crypto';
import { claudeFixture, type ClaudeFixture } from '../../../../test/support/claude-fixture';
import {
	api,
	startTestService,
	TEST_API_KEY,
	type TestService,
} from '../../../../test/support/test-service';
import { TriggerReceiver } from '../../../../test/support/trigger-receiver';
import { pollUntil, waitFor } from '../../../../test/support/wait';
import { fetchClient } from '../fetch-client';
import { startSession } from '../session-run';
import { costTelemetryEnv } from '../cost-telemetry';

// The real claude CLI exports its claude_code.api_request events to the service while it runs: a Hook Trigger
// delivery during the run says what the run has cost so far, and the requests add up to the cost claude reports
// at the end.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
type Json = Record<string, any>;

describe(`a run's cost so far, from the real claude (${kind})`, () => {
	let svc: TestService;
	let fx: ClaudeFixture;
	const receiver = new TriggerReceiver();
	beforeAll(async () => {
		[svc, fx] = await Promise.all([
			startTestService(kind, {
				DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
				DELIVERY_POLL_INTERVAL_MS: '50',
			}),
			claudeFixture('orch-cost-so-far'),
			receiver.start(),
		]);
	}, 60_000);
	afterAll(async () => {
		await receiver.stop();
		await svc?.stop();
		await fx?.close();
	});

	it('claude reports its API requests while the run goes on, and they add up to its final cost', async () => {
		const sub = await api(svc, 'POST', '/api/v1/subscriptions', {
			url: receiver.url,
			events: ['RunFinished'],
		});
		expect(sub.status).toBe(201);
		receiver.staticData = { subscriptionId: sub.body.id, secret: sub.body.secret };
		const sessionId = crypto.randomUUID();
		const options = fx.options();
		// The fake API waits 10 s before its second answer: the run is still going when claude's export (every
		// second) has brought the first request's cost. A generous export timeout: a busy machine must not lose the
		// last batch, which claude sends on its way out.
		const running = startSession(fetchClient(svc.url, TEST_API_KEY), {
			sessionId,
			prompt: '[[bash:echo a]] [[delay:10000]] [[bash:echo b]]',
			workspace: { type: 'local', workspacePath: fx.folder(sessionId) },
			options: { ...options, env: { ...options.env, OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: '20000' } },
			deps: fx.deps,
		});
		const costs = async () =>
			(
				await svc.db.query<{ run_id: string; cost_usd: number }>(
					'SELECT run_id, cost_usd FROM api_request_costs WHERE session_id = $1',
					[sessionId],
				)
			).rows;
		const during = await pollUntil(
			async () => ((await costs()).length > 0 ? await costs() : undefined),
			60_000,
			"claude's first API request cost",
			100,
		);
		const { rows: runsDuring } = await svc.db.query<{ ended_at: Date | null }>(
			'SELECT ended_at FROM session_runs WHERE session_id = $1',
			[sessionId],
		);
		// (Its record is written beside claude's start, so it may still be on its way: then it has not ended either.)
		expect(runsDuring.filter((r) => r.ended_at !== null)).toEqual([]);
		expect(during[0].cost_usd).toBeGreaterThan(0);

		const out = await running;
		expect(out.status).toBe('completed');
		expect(out.costUsd).toBeGreaterThan(0);
		// One row per API request of the run, all named with the run; together they are claude's own total.
		const rows = await pollUntil(
			async () => {
				const now = await costs();
				return now.length >= out.numTurns ? now : undefined;
			},
			30_000,
			'a cost row for each API request',
			100,
		);
		expect(rows.length).toBe(out.numTurns);
		const runs = (await api(svc, 'GET', `/api/v1/sessions/${sessionId}/runs`)).body.items as Json[];
		expect(new Set(rows.map((r) => r.run_id))).toEqual(new Set([runs[0].id]));
		expect(rows.reduce((sum, r) => sum + r.cost_usd, 0)).toBeCloseTo(out.costUsd, 9);
		expect(await waitFor(() => receiver.emitted.length > 0, 60_000)).toBe(true);
		expect(receiver.emitted[0].run).toMatchObject({ costFinal: true });
		expect((receiver.emitted[0].run as Json).costUsd).toBeCloseTo(out.costUsd, 9);
	}, 180_000);
});

describe('costTelemetryEnv', () => {
	const run = {
		endpoint: 'http://127.0.0.1:3001/api/v1/telemetry/logs',
		hookToken: 'ht1.abc.1.2.sig_-',
		runId: 'r-1',
	};
	it("points claude's log export at the service, signed with the run's token and named with its run", () => {
		expect(costTelemetryEnv({ OTEL_RESOURCE_ATTRIBUTES: 'team=ops' }, run)).toMatchObject({
			CLAUDE_CODE_ENABLE_TELEMETRY: '1',
			OTEL_LOGS_EXPORTER: 'otlp',
			OTEL_METRICS_EXPORTER: 'none',
			OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json',
			OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: run.endpoint,
			OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'Authorization=Bearer ht1.abc.1.2.sig_-',
			OTEL_RESOURCE_ATTRIBUTES: 'team=ops,claude_orchestrator.run_id=r-1',
		});
	});
	it('leaves telemetry the user set up alone, and a token that could not be carried in the header list', () => {
		expect(costTelemetryEnv({ CLAUDE_CODE_ENABLE_TELEMETRY: '1' }, run)).toEqual({});
		expect(costTelemetryEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example' }, run)).toEqual(
			{},
		);
		expect(costTelemetryEnv({}, { ...run, hookToken: 'a,b=c' })).toEqual({});
	});
});
