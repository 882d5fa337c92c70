// A run's cost so far: claude's OpenTelemetry log export (OTLP/HTTP JSON) posted with the run's hook token, kept as
// one row per API request, and handed to Hook Trigger deliveries with the run until its final cost replaces it.
import crypto from 'node:crypto';
import { waitFor } from '../../test/support/wait';
import { api, DATABASE_KINDS } from '../../test/support/test-service';
import {
	FAST_DELIVERY_ENV,
	newSession as newSessionOf,
	serviceWithReceivers,
} from '../../test/support/service-sessions';

type Json = Record<string, any>;

/** An export as claude 2.1.331 sends it (attributes trimmed to what matters, plus one it always sends). */
function exportOf(
	records: Array<{ sessionId: string; requestId?: string; cost?: unknown; event?: string }>,
	runId?: string,
): Json {
	const attr = (key: string, value: Json) => ({ key, value });
	return {
		resourceLogs: [
			{
				resource: {
					attributes: [
						attr('service.name', { stringValue: 'claude-code' }),
						...(runId ? [attr('claude_orchestrator.run_id', { stringValue: runId })] : []),
					],
				},
				scopeLogs: [
					{
						scope: { name: 'com.anthropic.claude_code.events', version: '2.1.331' },
						logRecords: records.map((r) => ({
							timeUnixNano: `${Date.now()}000000`,
							body: { stringValue: r.event ?? 'claude_code.api_request' },
							attributes: [
								attr('session.id', { stringValue: r.sessionId }),
								attr('event.name', {
									stringValue: (r.event ?? 'claude_code.api_request').slice(12),
								}),
								attr('model', { stringValue: 'claude-opus-5-5' }),
								attr('input_tokens', { intValue: '4396' }),
								attr('output_tokens', { intValue: 56 }),
								...(r.requestId ? [attr('request_id', { stringValue: r.requestId })] : []),
								...(r.cost === undefined ? [] : [attr('cost_usd', r.cost as Json)]),
							],
						})),
					},
				],
			},
		],
	};
}

describe.each(DATABASE_KINDS)('run cost so far from claude telemetry (%s)', (kind) => {
	const t = serviceWithReceivers(kind, FAST_DELIVERY_ENV);
	const newSession = () => newSessionOf(t.svc);
	const tokenFor = async (sessionId: string) =>
		(await api(t.svc, 'POST', `/api/v1/sessions/${sessionId}/hook-token`)).body.hookToken as string;
	const postLogs = (body: unknown, token: string, type = 'application/json') =>
		fetch(`${t.svc.url}/api/v1/telemetry/logs`, {
			method: 'POST',
			headers: { Authorization: `Bearer ${token}`, 'Content-Type': type },
			body: typeof body === 'string' ? body : JSON.stringify(body),
		}).then(async (res) => ({ status: res.status, body: (await res.json()) as Json }));
	const storedCosts = async (sessionId: string) =>
		(
			await t.svc.db.query<{ request_id: string; run_id: string | null; cost_usd: number }>(
				'SELECT request_id, run_id, cost_usd FROM api_request_costs WHERE session_id = $1 ORDER BY request_id',
				[sessionId],
			)
		).rows;

	it("keeps each API request's cost once, only for the hook token's own session, and says what it refused", async () => {
		const mine = await newSession();
		const other = await newSession();
		const token = await tokenFor(mine);
		const runId = crypto.randomUUID();
		const body = exportOf(
			[
				{ sessionId: mine, requestId: 'req_1', cost: { doubleValue: 0.018704 } },
				{ sessionId: mine, requestId: 'req_2', cost: { doubleValue: 0.019036 } },
				{ sessionId: other, requestId: 'req_3', cost: { doubleValue: 5 } },
				{ sessionId: mine, event: 'claude_code.tool_result' },
			],
			runId,
		);
		const first = await postLogs(body, token);
		expect(first.status).toBe(200);
		expect(first.body.partialSuccess).toEqual({
			rejectedLogRecords: '1',
			errorMessage: expect.stringContaining('another session'),
		});
		// An exporter's retry of the same batch stores nothing twice.
		expect((await postLogs(body, token)).status).toBe(200);
		expect(await storedCosts(mine)).toEqual([
			{ request_id: 'req_1', run_id: runId, cost_usd: 0.018704 },
			{ request_id: 'req_2', run_id: runId, cost_usd: 0.019036 },
		]);
		expect(await storedCosts(other)).toEqual([]);
	});

	it('refuses what is not an OTLP JSON logs export, and records without a cost, with a message', async () => {
		const sessionId = await newSession();
		const token = await tokenFor(sessionId);
		const protobuf = await postLogs('\x0a\x02', token, 'application/x-protobuf');
		expect(protobuf.status).toBe(415);
		expect(protobuf.body.message).toContain('OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/json');
		const notLogs = await postLogs({ resourceMetrics: [] }, token);
		expect(notLogs.status).toBe(400);
		expect(notLogs.body.message).toContain('resourceLogs');
		const badShape = await postLogs({ resourceLogs: [{ scopeLogs: 'x' }] }, token);
		expect(badShape.status).toBe(400);
		const partial = await postLogs(
			exportOf([
				{ sessionId, requestId: 'req_ok', cost: { doubleValue: 0.5 } },
				{ sessionId, requestId: 'req_negative', cost: { doubleValue: -1 } },
				{ sessionId, requestId: 'req_text', cost: { stringValue: 'a lot' } },
				// A NUL is made storable (PostgreSQL refuses it), not a 500.
				{ sessionId, requestId: 'req_nul\u0000', cost: { doubleValue: 0.25 } },
			]),
			token,
		);
		expect(partial.status).toBe(200);
		expect(partial.body.partialSuccess.rejectedLogRecords).toBe('2');
		expect(partial.body.partialSuccess.errorMessage).toContain('cost_usd');
		expect((await storedCosts(sessionId)).map((r) => r.request_id)).toEqual([
			'req_nul\uFFFD',
			'req_ok',
		]);
		const anonymous = await fetch(`${t.svc.url}/api/v1/telemetry/logs`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify(exportOf([{ sessionId, requestId: 'req_x', cost: { doubleValue: 1 } }])),
		});
		expect(anonymous.status).toBe(401);
		expect((await storedCosts(sessionId)).map((r) => r.request_id)).toEqual([
			'req_nul\uFFFD',
			'req_ok',
		]);
	});

	it('keeps at most 10,000 rows for one run (what a program holding the token could write is bounded)', async () => {
		const sessionId = await newSession();
		const token = await tokenFor(sessionId);
		const runId = crypto.randomUUID();
		await t.svc.db.query(
			`INSERT INTO api_request_costs (session_id, request_id, run_id, cost_usd, occurred_at)
			SELECT $1, 'bulk_' || g, $2, 0.001, now() FROM generate_series(1, 10000) g`,
			[sessionId, runId],
		);
		const more = exportOf([{ sessionId, requestId: 'req_more', cost: { doubleValue: 1 } }], runId);
		expect((await postLogs(more, token)).status).toBe(200);
		const { rows } = await t.svc.db.query<{ n: number; more: number }>(
			"SELECT count(*)::int AS n, count(*) FILTER (WHERE request_id = 'req_more')::int AS more FROM api_request_costs WHERE session_id = $1",
			[sessionId],
		);
		expect(rows[0]).toEqual({ n: 10000, more: 0 });
		// Another run of the session is not held back by it.
		const next = exportOf(
			[{ sessionId, requestId: 'req_next', cost: { doubleValue: 1 } }],
			crypto.randomUUID(),
		);
		expect((await postLogs(next, token)).status).toBe(200);
		expect((await storedCosts(sessionId)).some((r) => r.request_id === 'req_next')).toBe(true);
	});

	it('keeps at most 50,000 rows for one session, whatever run ids the export names', async () => {
		const sessionId = await newSession();
		const token = await tokenFor(sessionId);
		// 50 runs of 1,000 rows: none of them at the cap of a run.
		await t.svc.db.query(
			`INSERT INTO api_request_costs (session_id, request_id, run_id, cost_usd, occurred_at)
			SELECT $1, 'bulk_' || g, md5((g / 1000)::text)::uuid, 0.001, now() FROM generate_series(0, 49999) g`,
			[sessionId],
		);
		const fresh = exportOf(
			[{ sessionId, requestId: 'req_fresh_run', cost: { doubleValue: 1 } }],
			crypto.randomUUID(),
		);
		expect((await postLogs(fresh, token)).status).toBe(200);
		const { rows } = await t.svc.db.query<{ n: number; fresh: number }>(
			"SELECT count(*)::int AS n, count(*) FILTER (WHERE request_id = 'req_fresh_run')::int AS fresh FROM api_request_costs WHERE session_id = $1",
			[sessionId],
		);
		expect(rows[0]).toEqual({ n: 50000, fresh: 0 });
		// Another session is not held back by it.
		const other = await newSession();
		const otherRun = exportOf(
			[{ sessionId: other, requestId: 'req_other', cost: { doubleValue: 1 } }],
			crypto.randomUUID(),
		);
		expect((await postLogs(otherRun, await tokenFor(other))).status).toBe(200);
		expect((await storedCosts(other)).map((r) => r.request_id)).toEqual(['req_other']);
	});

	it("hands a delivery its run's cost so far while it runs, and the run's own cost once it has ended", async () => {
		const r = await t.subscribed({ events: ['PostToolUse'] });
		const sessionId = await newSession();
		const token = await tokenFor(sessionId);
		const runId = crypto.randomUUID();
		const run = (body: Json) =>
			api(t.svc, 'PUT', `/api/v1/sessions/${sessionId}/runs/${runId}`, { kind: 'start', ...body });
		expect(
			(await run({ status: 'running', startedAt: new Date(Date.now() - 1000).toISOString() }))
				.status,
		).toBe(200);
		const toolEvent = (i: number) =>
			api(t.svc, 'POST', '/api/v1/hooks', {
				session_id: sessionId,
				hook_event_name: 'PostToolUse',
				tool_name: 'Bash',
				tool_use_id: `toolu_cost_${i}`,
				tool_input: { command: `echo ${i}` },
				tool_response: { stdout: String(i), stderr: '' },
			});

		expect((await toolEvent(0)).status).toBe(200);
		expect(await waitFor(() => r.emitted.length >= 1, 60_000)).toBe(true);
		// Nothing reported yet: unknown, not zero.
		expect(r.emitted[0].run).toMatchObject({ id: runId, costUsd: null, costFinal: false });

		const reported = exportOf(
			[
				{ sessionId, requestId: 'req_a', cost: { doubleValue: 0.25 } },
				{ sessionId, requestId: 'req_b', cost: { doubleValue: 0.125 } },
			],
			runId,
		);
		expect((await postLogs(reported, token)).body).toEqual({});
		expect((await toolEvent(1)).status).toBe(200);
		expect(await waitFor(() => r.emitted.length >= 2, 60_000)).toBe(true);
		expect(r.emitted[1].run).toMatchObject({ id: runId, costUsd: 0.375, costFinal: false });

		expect(
			(await run({ status: 'completed', costUsd: 0.4, endedAt: new Date().toISOString() })).status,
		).toBe(200);
		expect((await toolEvent(2)).status).toBe(200);
		expect(await waitFor(() => r.emitted.length >= 3, 60_000)).toBe(true);
		expect(r.emitted[2].run).toMatchObject({ id: runId, costUsd: 0.4, costFinal: true });

		// A run that ended without claude's result (interrupted: no cost recorded) keeps what claude reported.
		const cut = crypto.randomUUID();
		const cutRun = (body: Json) =>
			api(t.svc, 'PUT', `/api/v1/sessions/${sessionId}/runs/${cut}`, { kind: 'resume', ...body });
		expect((await cutRun({ status: 'running' })).status).toBe(200);
		const cutToken = await tokenFor(sessionId);
		const cutCosts = exportOf([{ sessionId, requestId: 'req_c', cost: { doubleValue: 0.2 } }], cut);
		expect((await postLogs(cutCosts, cutToken)).body).toEqual({});
		expect(
			(await cutRun({ status: 'interrupted', endedAt: new Date().toISOString() })).status,
		).toBe(200);
		expect((await toolEvent(3)).status).toBe(200);
		expect(await waitFor(() => r.emitted.length >= 4, 60_000)).toBe(true);
		expect(r.emitted[3].run).toMatchObject({ id: cut, costUsd: 0.2, costFinal: true });
	}, 120_000);
});
