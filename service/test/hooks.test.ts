import crypto from 'node:crypto';
import fixtures from '../../test/fixtures/hook-payloads.json';
import { api, DATABASE_KINDS, serviceForSuite } from '../../test/support/test-service';

type Payload = Record<string, any>;

// Events the reference could not trigger; their fields come from the CLI binary (claude-code-cli.md §6.1).
const untriggered = (sessionId: string): Payload[] =>
	[
		{
			hook_event_name: 'Notification',
			message: 'Claude needs your permission',
			title: 'Permission',
			notification_type: 'permission_prompt',
		},
		{ hook_event_name: 'TeammateIdle', teammate_name: 'reviewer', team_name: 'core' },
		{
			hook_event_name: 'TaskCreated',
			task_id: 't1',
			task_subject: 's',
			task_description: 'd',
			teammate_name: 'a',
			team_name: 'b',
		},
		{
			hook_event_name: 'TaskCompleted',
			task_id: 't1',
			task_subject: 's',
			task_description: 'd',
			teammate_name: 'a',
			team_name: 'b',
		},
		{
			hook_event_name: 'Elicitation',
			mcp_server_name: 'm',
			message: 'pick',
			mode: 'form',
			url: null,
			elicitation_id: 'e1',
			requested_schema: {},
		},
		{
			hook_event_name: 'ElicitationResult',
			mcp_server_name: 'm',
			action: 'accept',
			content: { a: 1 },
			mode: 'form',
			elicitation_id: 'e1',
		},
		{ hook_event_name: 'WorktreeRemove', worktree_path: '/srv/work/wt1' },
		{ hook_event_name: 'DirectoryAdded', directory: '/srv/other', source: 'command' },
		{ hook_event_name: 'SomeFutureEvent2027', novel_field: { nested: [1, 2, 3] } },
	].map((p) => ({
		session_id: sessionId,
		transcript_path: '/home/user/.claude/projects/x.jsonl',
		cwd: '/srv/work/repo',
		...p,
	}));

describe.each(DATABASE_KINDS)('POST /api/v1/hooks (%s)', (kind) => {
	const t = serviceForSuite(kind);

	it('stores every captured payload of every event, visible in arrival order', async () => {
		const sessionId = crypto.randomUUID();
		const payloads: Payload[] = [
			...(fixtures as Array<{ payload: Payload }>).map((f) => ({
				...f.payload,
				session_id: sessionId,
			})),
			...untriggered(sessionId),
		];
		for (const p of payloads) {
			const res = await api(t.svc, 'POST', '/api/v1/hooks', p);
			expect(res.status).toBe(200);
			expect(res.body).toEqual({});
		}
		const events = await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/events?limit=500`);
		expect(events.status).toBe(200);
		expect(events.body.items.map((e: any) => e.event)).toEqual(
			payloads.map((p) => p.hook_event_name),
		);
		// Stored raw: every field as posted (none of these hold secrets or oversize strings).
		expect(events.body.items.map((e: any) => e.payload)).toEqual(payloads);
		const session = await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}`);
		expect(session.body).toMatchObject({
			id: sessionId,
			origin: 'external',
			hookEventCount: payloads.length,
			hooksHealth: 'ok',
		});
	});

	it('gives an external session the prompt its first UserPromptSubmit carried', async () => {
		const sessionId = crypto.randomUUID();
		const base = {
			session_id: sessionId,
			transcript_path: '/home/user/.claude/projects/x.jsonl',
			cwd: '/srv/work/repo',
		};
		// The session exists before its first prompt (SessionStart-like event), and a later prompt does not replace it.
		expect(
			(
				await api(t.svc, 'POST', '/api/v1/hooks', {
					...base,
					hook_event_name: 'Notification',
					message: 'hi',
				})
			).status,
		).toBe(200);
		expect((await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}`)).body.prompt).toBeNull();
		for (const prompt of ['Fix the flaky login test', 'and then update the changelog']) {
			expect(
				(
					await api(t.svc, 'POST', '/api/v1/hooks', {
						...base,
						hook_event_name: 'UserPromptSubmit',
						prompt,
					})
				).status,
			).toBe(200);
		}
		expect((await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}`)).body).toMatchObject({
			origin: 'external',
			prompt: 'Fix the flaky login test',
		});
		// A session first seen through its prompt gets it at once.
		const other = crypto.randomUUID();
		expect(
			(
				await api(t.svc, 'POST', '/api/v1/hooks', {
					...base,
					session_id: other,
					hook_event_name: 'UserPromptSubmit',
					prompt: 'Write docs',
				})
			).status,
		).toBe(200);
		const listed = await api(
			t.svc,
			'GET',
			`/api/v1/sessions?q=${encodeURIComponent('Write docs')}`,
		);
		expect(listed.body.items.map((s: any) => [s.id, s.prompt])).toEqual([[other, 'Write docs']]);
	});

	it('turns PreToolUse/PostToolUse pairs into one tool call with duration and status', async () => {
		const sessionId = crypto.randomUUID();
		const byLabel = (label: string) => ({
			...(fixtures as any[]).find((f) => f.label === label)!.payload,
			session_id: sessionId,
		});
		for (const label of [
			'PreToolUse (Bash)',
			'PostToolUse (Bash)',
			'PreToolUse (Write)',
			'PostToolUse (Write)',
			'PostToolUseFailure (Bash)',
			'PermissionDenied (Bash)',
		]) {
			expect((await api(t.svc, 'POST', '/api/v1/hooks', byLabel(label))).status).toBe(200);
		}
		const logs = await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/logs?limit=50`);
		expect(logs.status).toBe(200);
		const byId = Object.fromEntries(logs.body.items.map((l: any) => [l.toolUseId, l]));
		expect(logs.body.items).toHaveLength(4);
		expect(byId.toolu_fake3b8a4dd104b3f2a467f6).toMatchObject({
			tool: 'Bash',
			status: 'succeeded',
			durationMs: 27,
			input: { command: 'echo hello > out.txt' },
			sources: ['hooks'],
		});
		expect(byId.toolu_fake3b8a4dd104b3f2a467f6.result).toMatchObject({
			stdout: '',
			interrupted: false,
		});
		expect(byId.toolu_faked88246381539929e44ad).toMatchObject({
			tool: 'Write',
			status: 'succeeded',
			durationMs: 8,
		});
		expect(byId.toolu_fake7bf00d310fe3c8725530).toMatchObject({
			tool: 'Bash',
			status: 'failed',
			durationMs: 36,
		});
		expect(byId.toolu_fake7bf00d310fe3c8725530.error).toContain('Exit code 3');
		expect(byId.toolu_fake0d36a182589df8f3dfa0).toMatchObject({
			status: 'denied',
			error: 'Classifier unavailable',
		});
	});

	it('merges a PostToolUse that arrives before its PreToolUse', async () => {
		const sessionId = crypto.randomUUID();
		const base = {
			session_id: sessionId,
			cwd: '/w',
			tool_name: 'Read',
			tool_use_id: 'toolu_outoforder',
			tool_input: { file_path: '/w/a' },
		};
		await api(t.svc, 'POST', '/api/v1/hooks', {
			...base,
			hook_event_name: 'PostToolUse',
			tool_response: { ok: 1 },
			duration_ms: 5,
		});
		await api(t.svc, 'POST', '/api/v1/hooks', { ...base, hook_event_name: 'PreToolUse' });
		const logs = await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/logs`);
		expect(logs.body.items).toEqual([
			expect.objectContaining({ status: 'succeeded', durationMs: 5, result: { ok: 1 } }),
		]);
	});

	it('does not store a redelivered event twice', async () => {
		const sessionId = crypto.randomUUID();
		const p = { ...(fixtures as any[])[0].payload, session_id: sessionId };
		await Promise.all([1, 2, 3].map(() => api(t.svc, 'POST', '/api/v1/hooks', p)));
		await api(t.svc, 'POST', '/api/v1/hooks', p);
		const events = await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/events`);
		expect(events.body.items).toHaveLength(1);
		expect((await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}`)).body.hookEventCount).toBe(1);
	});

	it('keeps events of many concurrent sessions apart and complete', async () => {
		const sessions = Array.from({ length: 10 }, () => crypto.randomUUID());
		const posts = sessions.flatMap((sessionId) =>
			Array.from({ length: 20 }, (_, i) => ({
				session_id: sessionId,
				hook_event_name: 'MessageDisplay',
				index: i,
				delta: `m${i}`,
			})),
		);
		const results = await Promise.all(posts.map((p) => api(t.svc, 'POST', '/api/v1/hooks', p)));
		expect(results.every((r) => r.status === 200)).toBe(true);
		for (const sessionId of sessions) {
			const events = await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/events?limit=100`);
			expect(
				events.body.items.map((e: any) => e.payload.index).sort((a: number, b: number) => a - b),
			).toEqual(Array.from({ length: 20 }, (_, i) => i));
		}
	});

	it('pages events with a cursor', async () => {
		const sessionId = crypto.randomUUID();
		for (let i = 0; i < 5; i++)
			await api(t.svc, 'POST', '/api/v1/hooks', {
				session_id: sessionId,
				hook_event_name: 'CwdChanged',
				n: i,
			});
		const seen: number[] = [];
		let cursor: string | null = null;
		for (let page = 0; page < 5; page++) {
			const res: any = await api(
				t.svc,
				'GET',
				`/api/v1/sessions/${sessionId}/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
			);
			seen.push(...res.body.items.map((e: any) => e.payload.n));
			cursor = res.body.nextCursor;
			if (!cursor) break;
		}
		expect(seen).toEqual([0, 1, 2, 3, 4]);
	});

	it('accepts the seed routes as aliases', async () => {
		const sessionId = crypto.randomUUID();
		const tool = await api(t.svc, 'POST', '/api/hooks/tool-complete', {
			session: sessionId,
			tool: 'Bash',
			result: 'hello',
			input: { command: 'echo hello' },
		});
		expect(tool.status).toBe(200);
		const note = await api(t.svc, 'POST', '/api/hooks/notification', {
			session: sessionId,
			message: 'waiting for input',
		});
		expect(note.status).toBe(200);
		const logs = await api(t.svc, 'GET', `/api/sessions/${sessionId}/logs?limit=50`);
		expect(logs.body.items).toEqual([
			expect.objectContaining({ tool: 'Bash', result: 'hello', status: 'succeeded' }),
		]);
		const events = await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/events`);
		expect(events.body.items.map((e: any) => e.event)).toEqual(['PostToolUse', 'Notification']);
	});
});
