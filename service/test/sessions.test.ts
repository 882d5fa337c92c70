import crypto from 'node:crypto';
import { loadConfig } from '../src/config';
import { startService } from '../src/service';
import {
	api,
	DATABASE_KINDS,
	serviceForSuite,
	startTestService,
	TEST_API_KEY,
} from '../../test/support/test-service';

describe.each(DATABASE_KINDS)('sessions API (%s)', (kind) => {
	const t = serviceForSuite(kind);

	/** The PostToolUse claude's hook posts, with the session's hook token, for a Bash call that printed `stdout`. */
	const bashSucceeded = (
		session: { id: string; hookToken: string },
		toolUseId: string,
		stdout: string,
		durationMs: number,
	) =>
		api(
			t.svc,
			'POST',
			'/api/v1/hooks',
			{
				session_id: session.id,
				hook_event_name: 'PostToolUse',
				tool_name: 'Bash',
				tool_use_id: toolUseId,
				tool_response: { stdout },
				duration_ms: durationMs,
			},
			{ Authorization: `Bearer ${session.hookToken}` },
		);

	it('creates a session with a hook token, binds its thread, and records runs into totals', async () => {
		const id = crypto.randomUUID();
		const created = await api(t.svc, 'POST', '/api/v1/sessions', {
			id,
			prompt: 'fix the tests',
			workspaceType: 'worktree',
			workspacePath: '/w/1',
			workspaceBranch: 'claude/abc',
			repository: 'acme/app',
			model: 'claude-opus-5-5',
			threadKey: 'slack:C123:1700000000.000100',
		});
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({
			id,
			status: 'created',
			workspace: { type: 'worktree', path: '/w/1', branch: 'claude/abc' },
		});
		expect(created.body.hookToken).toMatch(/^ht2\./);
		expect((await api(t.svc, 'POST', '/api/v1/sessions', { id })).status).toBe(409);

		const thread = await api(
			t.svc,
			'GET',
			`/api/v1/threads/${encodeURIComponent('slack:C123:1700000000.000100')}`,
		);
		expect(thread.body).toMatchObject({ sessionId: id });

		const run1 = crypto.randomUUID();
		const first = await api(t.svc, 'PUT', `/api/v1/sessions/${id}/runs/${run1}`, {
			kind: 'start',
			status: 'completed',
			result: 'done 1',
			isError: false,
			subtype: 'success',
			costUsd: 0.02,
			numTurns: 2,
			durationMs: 1500,
			usage: { input_tokens: 100, output_tokens: 10 },
			cliVersion: '2.1.331',
			permissionDenials: [],
		});
		expect(first.status).toBe(200);
		const run2 = crypto.randomUUID();
		await api(t.svc, 'PUT', `/api/v1/sessions/${id}/runs/${run2}`, {
			kind: 'resume',
			status: 'running',
		});
		const second = await api(t.svc, 'PUT', `/api/v1/sessions/${id}/runs/${run2}`, {
			kind: 'resume',
			status: 'failed',
			result: 'API Error',
			isError: true,
			costUsd: 0.01,
			numTurns: 1,
			durationMs: 500,
			usage: { input_tokens: 50, output_tokens: 5, cache_read_input_tokens: 7 },
			permissionDenials: [
				{ tool_name: 'Bash', tool_use_id: 'toolu_1', tool_input: { command: 'rm -rf /' } },
			],
		});
		expect(second.body).toMatchObject({
			status: 'failed',
			result: 'API Error',
			isError: true,
			numTurns: 3,
			durationMs: 2000,
			runCount: 2,
			cliVersion: '2.1.331',
			usage: { inputTokens: 150, outputTokens: 15, cacheReadInputTokens: 7 },
		});
		expect(second.body.costUsd).toBeCloseTo(0.03);
		expect(second.body.permissionDenials).toHaveLength(1);
		const runs = await api(t.svc, 'GET', `/api/v1/sessions/${id}/runs`);
		expect(runs.body.items.map((r: any) => r.kind)).toEqual(['start', 'resume']);
		// A run id is bound to its session.
		const other = await api(t.svc, 'POST', '/api/v1/sessions', {});
		expect(
			(
				await api(t.svc, 'PUT', `/api/v1/sessions/${other.body.id}/runs/${run1}`, {
					kind: 'start',
					status: 'completed',
				})
			).status,
		).toBe(409);
	});

	it('updates status and result fields with PATCH and merges metadata', async () => {
		const { body } = await api(t.svc, 'POST', '/api/v1/sessions', { metadata: { a: 1 } });
		const patched = await api(t.svc, 'PATCH', `/api/v1/sessions/${body.id}`, {
			status: 'running',
			sandboxId: 'sbx_1',
			metadata: { b: 2 },
		});
		expect(patched.body).toMatchObject({
			status: 'running',
			workspace: { sandboxId: 'sbx_1' },
			metadata: { a: 1, b: 2 },
		});
		expect((await api(t.svc, 'PATCH', `/api/sessions/${body.id}`, {})).status).toBe(400);
	});

	it('stores messages in order, once per external id, and pages them', async () => {
		const { body } = await api(t.svc, 'POST', '/api/v1/sessions', {});
		const post = await api(t.svc, 'POST', `/api/v1/sessions/${body.id}/messages`, {
			messages: [
				{ direction: 'user', content: 'hello', source: 'slack', externalId: '1700000000.1' },
				{ direction: 'assistant', content: 'hi there', source: 'stream', externalId: 'uuid-1' },
			],
		});
		expect(post.body).toEqual({ stored: 2, duplicates: 0 });
		const again = await api(t.svc, 'POST', `/api/v1/sessions/${body.id}/messages`, {
			direction: 'user',
			content: 'hello',
			source: 'slack',
			externalId: '1700000000.1',
		});
		expect(again.body).toEqual({ stored: 0, duplicates: 1 });
		const page1 = await api(t.svc, 'GET', `/api/v1/sessions/${body.id}/messages?limit=1`);
		expect(page1.body.items.map((m: any) => m.content)).toEqual(['hello']);
		const page2 = await api(
			t.svc,
			'GET',
			`/api/sessions/${body.id}/messages?limit=1&cursor=${page1.body.nextCursor}`,
		);
		expect(page2.body.items.map((m: any) => [m.direction, m.content, m.source])).toEqual([
			['assistant', 'hi there', 'stream'],
		]);
	});

	it('upserts tool calls from the stream and merges them with hook events', async () => {
		const { body } = await api(t.svc, 'POST', '/api/v1/sessions', {});
		const toolUseId = 'toolu_stream_1';
		await api(t.svc, 'POST', `/api/v1/sessions/${body.id}/tool-calls`, {
			toolCalls: [
				{
					toolUseId,
					toolName: 'Bash',
					input: { command: 'ls' },
					status: 'running',
					startedAt: '2026-11-24T10:00:00.000Z',
				},
			],
		});
		await bashSucceeded(body, toolUseId, 'a', 12);
		await api(t.svc, 'POST', `/api/v1/sessions/${body.id}/tool-calls`, {
			toolCalls: [
				{
					toolUseId,
					status: 'succeeded',
					response: 'a',
					finishedAt: '2026-11-24T10:00:00.050Z',
					durationMs: 50,
				},
			],
		});
		const logs = await api(t.svc, 'GET', `/api/v1/sessions/${body.id}/logs`);
		expect(logs.body.items).toEqual([
			expect.objectContaining({
				toolUseId,
				tool: 'Bash',
				status: 'succeeded',
				durationMs: 12,
				sources: ['hooks', 'stream'],
			}),
		]);
		const detail = await api(t.svc, 'GET', `/api/v1/sessions/${body.id}`);
		expect(detail.body.totals).toMatchObject({ toolCalls: 1, toolErrors: 0, hookEvents: 1 });
	});

	it('fails the calls a run ended without, but never one whose result a hook reported', async () => {
		const { body } = await api(t.svc, 'POST', '/api/v1/sessions', {});
		const started = {
			toolName: 'Bash',
			input: { command: 'sleep 1' },
			status: 'running',
			startedAt: '2026-11-24T10:00:00.000Z',
		};
		await api(t.svc, 'POST', `/api/v1/sessions/${body.id}/tool-calls`, {
			toolCalls: [
				{ toolUseId: 'toolu_done', ...started },
				{ toolUseId: 'toolu_cut', ...started },
			],
		});
		// The hook saw the first call succeed; claude was killed before the runner read that result from its output.
		await bashSucceeded(body, 'toolu_done', 'ok', 7);
		const ended = {
			status: 'failed',
			unfinished: true,
			response: { content: 'The tool call did not finish: the run ended as failed.' },
			finishedAt: '2026-11-24T10:00:02.000Z',
			durationMs: 2000,
		};
		const res = await api(t.svc, 'POST', `/api/v1/sessions/${body.id}/tool-calls`, {
			toolCalls: [
				{ toolUseId: 'toolu_done', ...ended },
				{ toolUseId: 'toolu_cut', ...ended },
			],
		});
		expect(res.status).toBe(200);
		const logs = (await api(t.svc, 'GET', `/api/v1/sessions/${body.id}/logs`)).body.items.sort(
			(a: any, b: any) => a.toolUseId.localeCompare(b.toolUseId),
		);
		expect(logs.map((c: any) => [c.toolUseId, c.status, c.durationMs])).toEqual([
			['toolu_cut', 'failed', 2000],
			['toolu_done', 'succeeded', 7],
		]);
		expect(logs[0].result).toEqual(ended.response);
		expect(logs[1].result).toEqual({ stdout: 'ok' });
		// Only the runner's conclusion is `unfinished: true`; anything else is a client's mistake.
		const bad = await api(t.svc, 'POST', `/api/v1/sessions/${body.id}/tool-calls`, {
			toolCalls: [{ toolUseId: 'toolu_cut', status: 'failed', unfinished: false }],
		});
		expect(bad.status).toBe(400);
	});

	it('lists with filters, search and a cursor that never repeats or skips', async () => {
		const tag = crypto.randomBytes(4).toString('hex');
		const ids: string[] = [];
		for (let i = 0; i < 7; i++) {
			const res = await api(t.svc, 'POST', '/api/v1/sessions', {
				prompt: `task ${tag} number ${i}`,
				workspaceType: i % 2 ? 'local' : 'github',
				repository: i === 3 ? `acme/${tag}-repo` : undefined,
				status: i < 2 ? 'running' : 'completed',
			});
			ids.push(res.body.id);
		}
		const seen: string[] = [];
		let cursor: string | null = null;
		for (let n = 0; n < 10; n++) {
			const res: any = await api(
				t.svc,
				'GET',
				`/api/v1/sessions?q=${tag}&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
			);
			expect(res.status).toBe(200);
			seen.push(...res.body.items.map((s: any) => s.id));
			cursor = res.body.nextCursor;
			if (!cursor) break;
		}
		expect([...seen].sort()).toEqual([...ids].sort());
		expect(seen).toEqual([...ids].reverse());

		const running = await api(t.svc, 'GET', `/api/v1/sessions?q=${tag}&status=running`);
		expect(running.body.items.map((s: any) => s.id).sort()).toEqual(ids.slice(0, 2).sort());
		const local = await api(
			t.svc,
			'GET',
			`/api/v1/sessions?q=${tag}&workspaceType=local&status=running,completed`,
		);
		expect(local.body.items).toHaveLength(3);
		const byRepo = await api(t.svc, 'GET', `/api/v1/sessions?q=${tag}-repo`);
		expect(byRepo.body.items.map((s: any) => s.id)).toEqual([ids[3]]);
		const legacy = await api(t.svc, 'GET', `/api/sessions?q=${tag}&limit=50`);
		expect(legacy.body.items).toHaveLength(7);
	});

	it('accepts the seed create shape on /api/sessions', async () => {
		const res = await api(t.svc, 'POST', '/api/sessions', {
			projectType: 'github',
			githubRepo: 'owner/repo',
			initialPrompt: 'Review the codebase',
		});
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({
			workspace: { type: 'github' },
			repository: 'owner/repo',
			prompt: 'Review the codebase',
		});
	});

	it('masks secrets in tool inputs and outputs and marks truncated outputs', async () => {
		const { body } = await api(t.svc, 'POST', '/api/v1/sessions', {});
		const secrets = {
			anthropic: 'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
			github: 'ghp_0123456789abcdefghijABCDEFGHIJ012345',
			aws: 'AKIAIOSFODNN7EXAMPLE',
			slack: 'xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp',
		};
		await api(t.svc, 'POST', '/api/v1/hooks', {
			session_id: body.id,
			hook_event_name: 'PostToolUse',
			tool_name: 'Bash',
			tool_use_id: 'toolu_secret',
			tool_input: {
				command: `curl -H "Authorization: Bearer ${secrets.anthropic}" https://x`,
				password: 'hunter2hunter2',
			},
			tool_response: {
				stdout: `GH=${secrets.github} AWS=${secrets.aws} SLACK=${secrets.slack}\n${'y'.repeat(100_000)}`,
			},
		});
		const events = await api(t.svc, 'GET', `/api/v1/sessions/${body.id}/events`);
		const logs = await api(t.svc, 'GET', `/api/v1/sessions/${body.id}/logs`);
		const stored = JSON.stringify([events.body, logs.body]);
		for (const secret of [...Object.values(secrets), 'hunter2hunter2'])
			expect(stored).not.toContain(secret);
		expect(stored).toContain('[REDACTED');
		expect(logs.body.items[0].truncated).toBe(true);
		expect(logs.body.items[0].result.stdout).toMatch(
			/…\[truncated: \d+ bytes in total, first 65536 kept\]$/,
		);
	});
});

describe('embedded database', () => {
	it('keeps data across a restart of the service', async () => {
		const svc = await startTestService('pglite');
		const created = await api(svc, 'POST', '/api/v1/sessions', { prompt: 'survive a restart' });
		await svc.close();
		const again = await startService(
			loadConfig({ PORT: '0', DATA_DIR: svc.dataDir, API_KEY: TEST_API_KEY }),
		);
		try {
			const res = await api(again, 'GET', `/api/v1/sessions/${created.body.id}`);
			expect(res.status).toBe(200);
			expect(res.body.prompt).toBe('survive a restart');
			expect((await api(again, 'GET', '/api/v1/health', undefined, {})).body).toMatchObject({
				status: 'ok',
				database: 'pglite',
			});
		} finally {
			await again.close();
		}
	});

	it('generates an API key on first start, keeps it in DATA_DIR and reuses it', async () => {
		const first = await startTestService('pglite', { API_KEY: '' });
		expect(first.apiKey).toMatch(/^co_/);
		await first.close();
		const second = await startService(loadConfig({ PORT: '0', DATA_DIR: first.dataDir }));
		try {
			expect(second.apiKey).toBe(first.apiKey);
		} finally {
			await second.close();
		}
	});
});

describe.each(DATABASE_KINDS)('session lease (%s)', (kind) => {
	const t = serviceForSuite(kind);

	it('lets one run hold a session at a time, until released or expired', async () => {
		const { body } = await api(t.svc, 'POST', '/api/v1/sessions', {});
		const lease = (owner: string, ttlSeconds = 60) =>
			api(t.svc, 'POST', `/api/v1/sessions/${body.id}/lease`, { owner, ttlSeconds });
		const results = await Promise.all(['a', 'b', 'c'].map((o) => lease(o)));
		expect(results.filter((r) => r.status === 200)).toHaveLength(1);
		const winner = results.find((r) => r.status === 200)!.body.owner;
		const loser = results.find((r) => r.status === 409)!;
		expect(loser.body.message).toMatch(/is busy: another run/);
		expect((await lease(winner)).status).toBe(200);
		expect(
			(await api(t.svc, 'DELETE', `/api/v1/sessions/${body.id}/lease?owner=${winner}`)).status,
		).toBe(204);
		expect((await lease('d', 5)).status).toBe(200);
		await t.svc.db.query(
			`UPDATE sessions SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
			[body.id],
		);
		expect((await lease('e')).status).toBe(200);
		expect(
			(await api(t.svc, 'POST', `/api/v1/sessions/${crypto.randomUUID()}/lease`, { owner: 'x' }))
				.status,
		).toBe(404);
	});
});
