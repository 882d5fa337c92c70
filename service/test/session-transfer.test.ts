import crypto from 'node:crypto';
import zlib from 'node:zlib';
import {
	api,
	DATABASE_KINDS,
	startTestService,
	type TestService,
} from '../../test/support/test-service';
import { sleep } from '../../test/support/wait';

// Exported from one service, imported into another (each database kind on both ends when PostgreSQL is set).
describe.each(DATABASE_KINDS)('session export and import (into %s)', (kind) => {
	let from: TestService;
	let to: TestService;
	beforeAll(async () => {
		[from, to] = await Promise.all([startTestService('pglite'), startTestService(kind)]);
	});
	afterAll(async () => {
		await Promise.all([from?.stop(), to?.stop()]);
	});

	async function seeded() {
		const id = crypto.randomUUID();
		const threadKey = `slack:C9:${Date.now()}.${Math.floor(Math.random() * 1e6)}`;
		await api(from, 'POST', '/api/v1/sessions', {
			id,
			prompt: 'fix it',
			workspaceType: 'local',
			workspacePath: '/srv/shared/app',
			threadKey,
			model: 'claude-opus-5-5',
		});
		await api(from, 'PUT', `/api/v1/sessions/${id}/runs/${crypto.randomUUID()}`, {
			kind: 'start',
			status: 'completed',
			result: 'done',
			isError: false,
			costUsd: 0.03,
			numTurns: 2,
			usage: { input_tokens: 10, output_tokens: 2 },
		});
		await api(from, 'POST', `/api/v1/sessions/${id}/messages`, {
			messages: [{ direction: 'user', content: 'fix it', source: 'n8n', externalId: 'm1' }],
		});
		await api(from, 'POST', `/api/v1/sessions/${id}/tool-calls`, {
			toolCalls: [
				{ toolUseId: 'toolu_1', toolName: 'Bash', input: { command: 'ls' }, status: 'succeeded' },
			],
		});
		await api(from, 'POST', '/api/v1/hooks', {
			session_id: id,
			hook_event_name: 'Stop',
			cwd: '/srv/shared/app',
			transcript_path: '/x.jsonl',
		});
		await api(from, 'PUT', `/api/v1/sessions/${id}/transcript`, {
			contentGzipBase64: zlib
				.gzipSync('{"type":"user","message":{"content":"fix it"}}\n')
				.toString('base64'),
		});
		// The hook is written a moment after its 2xx.
		for (
			let i = 0;
			i < 50 && (await api(from, 'GET', `/api/v1/sessions/${id}/events`)).body.items.length === 0;
			i++
		)
			await sleep(100);
		return { id, threadKey };
	}

	it('carries the session, runs, messages, tool calls, hook events, thread and transcript across', async () => {
		const { id, threadKey } = await seeded();
		const exported = await api(from, 'GET', `/api/v1/sessions/${id}/export`);
		expect(exported.status).toBe(200);
		expect(exported.headers.get('content-disposition')).toBe(
			`attachment; filename="session-${id}.json"`,
		);
		const doc = exported.body;
		expect(doc).toMatchObject({
			format: 'claude-orchestrator-session',
			version: 1,
			session: { id, status: 'completed' },
		});
		expect([
			doc.runs.length,
			doc.messages.length,
			doc.toolCalls.length,
			doc.hookEvents.length,
			doc.threads.length,
		]).toEqual([1, 1, 1, 2, 1]); // the hook event and the service's own RunFinished of the recorded run
		expect(doc.transcript).toMatchObject({ version: 1, contentGzipBase64: expect.any(String) });

		const imported = await api(to, 'POST', '/api/v1/sessions/import', doc);
		expect(imported.status).toBe(201);
		expect(imported.body).toEqual({ id, replaced: false });
		const [a, b] = await Promise.all([
			api(from, 'GET', `/api/v1/sessions/${id}`),
			api(to, 'GET', `/api/v1/sessions/${id}`),
		]);
		for (const field of [
			'status',
			'costUsd',
			'runCount',
			'numTurns',
			'prompt',
			'workspace',
			'threadKey',
			'createdAt',
		])
			expect(b.body[field]).toEqual(a.body[field]);
		expect(
			(await api(to, 'GET', `/api/v1/sessions/${id}/messages`)).body.items.map(
				(m: any) => m.content,
			),
		).toEqual(['fix it']);
		expect(
			(await api(to, 'GET', `/api/v1/sessions/${id}/logs`)).body.items.map((c: any) => c.tool),
		).toEqual(['Bash']);
		const eventNames = async (svc: typeof to) =>
			(await api(svc, 'GET', `/api/v1/sessions/${id}/events`)).body.items.map((e: any) => e.event);
		expect((await eventNames(to)).sort()).toEqual(['RunFinished', 'Stop']);
		expect(await eventNames(to)).toEqual(await eventNames(from));
		expect(
			(await api(to, 'GET', `/api/v1/threads/${encodeURIComponent(threadKey)}`)).body.sessionId,
		).toBe(id);
		const [ta, tb] = await Promise.all([
			api(from, 'GET', `/api/v1/sessions/${id}/transcript/meta`),
			api(to, 'GET', `/api/v1/sessions/${id}/transcript/meta`),
		]);
		expect(tb.body).toMatchObject({
			version: ta.body.version,
			sha256: ta.body.sha256,
			sizeBytes: ta.body.sizeBytes,
		});

		// Once there, the same id is refused unless asked to replace it.
		const again = await api(to, 'POST', '/api/v1/sessions/import', doc);
		expect(again.status).toBe(409);
		expect(again.body.message).toMatch(/already exists here; import with \?replace=true/);
		const changed = { ...doc, session: { ...doc.session, result: 'replaced result' } };
		const replaced = await api(to, 'POST', '/api/v1/sessions/import?replace=true', changed);
		expect(replaced.status).toBe(201);
		expect((await api(to, 'GET', `/api/v1/sessions/${id}`)).body.result).toBe('replaced result');
		expect((await api(to, 'GET', `/api/v1/sessions/${id}/messages`)).body.items).toHaveLength(1);
	});

	it('refuses a bad document with a 400 naming what is wrong, and writes nothing', async () => {
		const { id } = await seeded();
		const doc = (await api(from, 'GET', `/api/v1/sessions/${id}/export`)).body;
		const cases: Array<[unknown, RegExp]> = [
			[{ ...doc, format: 'other' }, /format/],
			[
				{ ...doc, runs: [{ ...doc.runs[0], session_id: crypto.randomUUID() }] },
				/runs\.0\.session_id: must be the exported session's id/,
			],
			[
				{ ...doc, session: { ...doc.session, invented_column: 1 } },
				/session has fields this service does not store: invented_column/,
			],
			[{ ...doc, runs: [{ ...doc.runs[0], started_at: 'not a time' }] }, /runs\[0\]/],
			[
				{
					...doc,
					transcript: { version: 1, contentGzipBase64: Buffer.from('not gzip').toString('base64') },
				},
				/transcript.*not gzip/,
			],
			[{ ...doc, extra: true }, /extra/],
		];
		for (const [body, message] of cases) {
			const res = await api(to, 'POST', '/api/v1/sessions/import', body);
			expect([res.status, res.body.message]).toEqual([400, expect.stringMatching(message)]);
			expect((await api(to, 'GET', `/api/v1/sessions/${id}`)).status).toBe(404);
		}
		expect((await api(to, 'POST', '/api/v1/sessions/import?replace=maybe', doc)).status).toBe(400);
		expect((await api(from, 'GET', `/api/v1/sessions/${crypto.randomUUID()}/export`)).status).toBe(
			404,
		);
		expect((await api(to, 'POST', '/api/v1/sessions/import', doc, {})).status).toBe(401);
	});
});
