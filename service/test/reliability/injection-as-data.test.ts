import crypto from 'node:crypto';
import {
	api,
	DATABASE_KINDS,
	startTestService,
	type TestService,
} from '../../../test/support/test-service';
import { SQL_AND_HTML } from './hostile-values';

// SQL and HTML in every string field a client can write are stored as they came and read back byte for byte:
// never run, never escaped twice, never cut. (The dashboard showing them as text, not markup, is checked in
// test/e2e-dashboard/dashboard.test.ts "XSS output as text" and static-guard.test.ts.)

describe.each(DATABASE_KINDS)('SQL and HTML in every field are data (%s)', (kind) => {
	let svc: TestService;
	beforeAll(async () => {
		svc = await startTestService(kind, {
			DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
			DELIVERY_POLL_INTERVAL_MS: '60000',
		});
	});
	afterAll(() => svc?.stop());

	const ok = async (method: string, route: string, body?: unknown) => {
		const res = await api(svc, method, route, body);
		if (res.status >= 300)
			throw new Error(`${method} ${route} → ${res.status} ${JSON.stringify(res.body)}`);
		return res.body;
	};
	const newSession = async () =>
		(await ok('POST', '/api/v1/sessions', { prompt: 'x' })).id as string;

	it.each(SQL_AND_HTML.map((s) => [s]))('%s', async (evil) => {
		// Sessions: every text column, and metadata keys and values.
		const created = await ok('POST', '/api/v1/sessions', {
			prompt: evil,
			workspaceType: 'local',
			workspacePath: evil,
			workspaceBranch: evil,
			sandboxId: evil,
			repository: evil,
			model: evil,
			cliVersion: evil.slice(0, 100),
			metadata: { [evil]: evil },
		});
		const id = created.id as string;
		const patched = await ok('PATCH', `/api/v1/sessions/${id}`, {
			result: evil,
			errorMessage: evil,
			subtype: evil.slice(0, 100),
			terminalReason: evil.slice(0, 100),
		});
		const session = await ok('GET', `/api/v1/sessions/${id}`);
		for (const s of [created, patched, session]) {
			expect(s).toMatchObject({
				prompt: evil,
				repository: evil,
				model: evil,
				workspace: { path: evil, branch: evil, sandboxId: evil },
			});
			expect(s.metadata[evil]).toBe(evil);
		}
		expect(session).toMatchObject({
			result: evil,
			errorMessage: evil,
			subtype: evil.slice(0, 100),
			terminalReason: evil.slice(0, 100),
		});

		// A search for it finds exactly that session: % _ \ in the text are matched literally, not as patterns.
		const found = await ok('GET', `/api/v1/sessions?q=${encodeURIComponent(evil)}`);
		expect(found.items.map((s: { id: string }) => s.id)).toContain(id);
		expect(
			found.items.every(
				(s: { id: string; prompt: string; repository: string | null }) =>
					[s.prompt, s.repository].some((v) => v?.includes(evil)) || s.id === id,
			),
		).toBe(true);

		// Hook events: indexed fields, nested payload fields, and a key named after it.
		const toolUseId = `toolu_${evil}`.slice(0, 256);
		await ok('POST', '/api/v1/hooks', {
			session_id: id,
			hook_event_name: 'PostToolUse',
			tool_name: evil,
			tool_use_id: toolUseId,
			prompt_id: evil,
			cwd: evil,
			tool_input: { command: evil },
			tool_response: { stdout: evil },
			[evil]: { [evil]: [evil] },
		});
		await ok('POST', '/api/v1/hooks', {
			session_id: id,
			hook_event_name: 'Notification',
			message: evil,
			title: evil,
		});
		const events = (await ok('GET', `/api/v1/sessions/${id}/events`)).items;
		expect(events[0]).toMatchObject({
			toolName: evil,
			toolUseId,
			promptId: evil,
			payload: { cwd: evil, tool_input: { command: evil }, tool_response: { stdout: evil } },
		});
		expect(events[0].payload[evil]).toEqual({ [evil]: [evil] });
		expect(events[1].payload).toMatchObject({ message: evil, title: evil });

		// Tool calls from the stream, messages, runs.
		await ok('POST', `/api/v1/sessions/${id}/tool-calls`, {
			toolCalls: [
				{
					toolUseId: evil,
					toolName: evil,
					input: { [evil]: evil },
					response: evil,
					error: evil,
					status: 'failed',
				},
			],
		});
		const calls = (await ok('GET', `/api/v1/sessions/${id}/logs`)).items;
		expect(calls.find((c: { toolUseId: string }) => c.toolUseId === toolUseId)).toMatchObject({
			tool: evil,
			input: { command: evil },
			result: { stdout: evil },
		});
		expect(calls.find((c: { toolUseId: string }) => c.toolUseId === evil)).toMatchObject({
			tool: evil,
			input: { [evil]: evil },
			result: evil,
			error: evil,
		});
		await ok('POST', `/api/v1/sessions/${id}/messages`, {
			direction: 'assistant',
			content: evil,
			source: 'stream',
			externalId: evil,
		});
		expect((await ok('GET', `/api/v1/sessions/${id}/messages`)).items[0]).toMatchObject({
			content: evil,
			externalId: evil,
		});
		const runId = crypto.randomUUID();
		await ok('PUT', `/api/v1/sessions/${id}/runs/${runId}`, {
			kind: 'start',
			status: 'failed',
			prompt: evil,
			result: evil,
			errorMessage: evil,
			subtype: evil.slice(0, 100),
			terminalReason: evil.slice(0, 100),
			cliVersion: evil.slice(0, 100),
			modelUsage: { [evil]: { costUSD: 0 } },
		});
		expect((await ok('GET', `/api/v1/sessions/${id}/runs`)).items[0]).toMatchObject({
			prompt: evil,
			result: evil,
			errorMessage: evil,
			modelUsage: { [evil]: { costUSD: 0 } },
		});

		// Threads: metadata, and a key built from it (thread keys allow no spaces).
		const key = `email:${evil.replace(/\s+/g, '')}${crypto.randomUUID()}`;
		await ok('PUT', `/api/v1/threads/${encodeURIComponent(key)}`, {
			sessionId: await newSession(),
			metadata: { [evil]: evil },
		});
		const thread = await ok('GET', `/api/v1/threads/${encodeURIComponent(key)}`);
		expect(thread.key).toBe(key);
		expect(thread.metadata[evil]).toBe(evil);

		// Subscriptions: the names a workflow registers with.
		const sub = await ok('POST', '/api/v1/subscriptions', {
			url: `http://127.0.0.1:9/webhook/${crypto.randomUUID()}`,
			workflowId: evil,
			nodeName: evil,
		});
		expect(await ok('GET', `/api/v1/subscriptions/${sub.id}`)).toMatchObject({
			workflowId: evil,
			nodeName: evil,
		});
		const listed = await ok('GET', `/api/v1/subscriptions?workflowId=${encodeURIComponent(evil)}`);
		expect(listed.items.map((s: { id: string }) => s.id)).toEqual([sub.id]);
	});

	it('left every table in place and ran nothing (no statement slept)', async () => {
		const started = Date.now();
		const { rows } = await svc.db.query<{ n: number }>(
			'SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM hook_events) AS n',
		);
		expect(Number(rows[0].n)).toBeGreaterThan(SQL_AND_HTML.length * 3);
		expect(Date.now() - started).toBeLessThan(5000);
	});
});
