import fs from 'node:fs';
import path from 'node:path';
import { expectConversationHolds } from '../../../../test/support/claude-fixture';
import { serviceWithClaude } from '../../../../test/support/claude-service';
import { bareClone, git, makeRepo } from '../../../../test/support/git';
import { resumeSession, startSession, type SessionOutput } from '../session-run';
import type { OrchestratorClient } from '../client';
import { sleep } from '../../../../test/support/wait';
import { localLauncher, type ProcessLauncher } from '../../runner';

// The real claude CLI against the loopback fake API, the real service, real git, real folders.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`sessions run by the real claude CLI (${kind})`, () => {
	// One claude home for the suite, as n8n has one: Resume finds the transcript the start wrote there.
	const h = serviceWithClaude(kind, 'orch-run');
	let baseRepo: string;
	let deps: typeof h.fx.deps & { remoteBaseUrl: string };
	const options = (extra: Record<string, unknown> = {}) => h.fx.options(extra);

	beforeAll(() => {
		baseRepo = makeRepo(path.join(h.fx.projects, 'app'), '# app\n');
		// A bare repository stands in for GitHub: owner "acme", repository "app".
		const remotes = path.join(h.fx.root, 'remotes');
		bareClone(baseRepo, remotes, 'acme/app');
		deps = { ...h.fx.deps, remoteBaseUrl: `file://${remotes}` };
	});

	const prompt = '[[bash:echo hello > out.txt]] [[write:w.txt::written by fake]] [[read:w.txt]]';

	async function expectRecorded(out: SessionOutput, toolCalls = 3) {
		const detail = await h.client.request<any>('GET', `/api/v1/sessions/${out.sessionId}`);
		expect(detail).toMatchObject({
			status: 'completed',
			runCount: 1,
			cliVersion: '2.1.331',
			hooksHealth: 'ok',
		});
		expect(detail.costUsd).toBeGreaterThan(0);
		const logs = await h.client.request<any>('GET', `/api/v1/sessions/${out.sessionId}/logs`);
		expect(logs.items).toHaveLength(toolCalls);
		for (const call of logs.items) {
			expect(call).toMatchObject({ status: 'succeeded', sources: ['hooks', 'stream'] });
			expect(call.durationMs).toEqual(expect.any(Number));
		}
		expect(logs.items.map((c: any) => c.tool)).toEqual(['Bash', 'Write', 'Read']);
		const events = await h.client.request<any>(
			'GET',
			`/api/v1/sessions/${out.sessionId}/events?limit=200`,
		);
		const names = events.items.map((e: any) => e.event);
		for (const name of [
			'SessionStart',
			'UserPromptSubmit',
			'PreToolUse',
			'PostToolUse',
			'PostToolBatch',
			'Stop',
			'SessionEnd',
		])
			expect(names).toContain(name);
		const messages = await h.client.request<any>(
			'GET',
			`/api/v1/sessions/${out.sessionId}/messages?limit=100`,
		);
		expect(messages.items[0]).toMatchObject({ direction: 'user', content: prompt, source: 'n8n' });
		expect(
			messages.items.some((m: any) => m.direction === 'assistant' && m.source === 'stream'),
		).toBe(true);
	}

	it('runs in a local folder: tools change the folder and everything is recorded', async () => {
		const folder = h.fx.folder('local-one');
		const out = await startSession(h.client, {
			prompt,
			workspace: { type: 'local', workspacePath: folder },
			options: options(),
			deps,
		});
		expect(out).toMatchObject({
			status: 'completed',
			isError: false,
			numTurns: 4,
			workspace: { type: 'local', path: folder },
			hooksReceived: true,
		});
		expect(out.costUsd).toBeGreaterThan(0);
		expect(fs.readFileSync(path.join(folder, 'out.txt'), 'utf8')).toBe('hello\n');
		expect(fs.readFileSync(path.join(folder, 'w.txt'), 'utf8')).toBe('written by fake');
		await expectRecorded(out);
	});

	it('refuses a folder outside the allowed roots', async () => {
		await expect(
			startSession(h.client, {
				prompt,
				workspace: { type: 'local', workspacePath: path.join(h.fx.projects, '..', '..') },
				options: options(),
				deps,
			}),
		).rejects.toThrow(/allowed|outside/i);
	});

	it('runs in a new git worktree and branch', async () => {
		const out = await startSession(h.client, {
			prompt,
			workspace: { type: 'worktree', baseRepository: baseRepo },
			options: options(),
			deps,
		});
		expect(out.workspace.branch).toMatch(/^claude\//);
		expect(out.workspace.path).not.toBe(baseRepo);
		expect(git(out.workspace.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(out.workspace.branch);
		expect(fs.existsSync(path.join(out.workspace.path, 'w.txt'))).toBe(true);
		expect(fs.existsSync(path.join(baseRepo, 'w.txt'))).toBe(false);
		await expectRecorded(out);
	});

	it('runs in a clone of a GitHub repository (a local bare repository as the remote)', async () => {
		const out = await startSession(h.client, {
			prompt,
			workspace: { type: 'github', repository: 'acme/app', branch: 'feature/x' },
			options: options(),
			deps,
		});
		expect(out.workspace).toMatchObject({ type: 'github', branch: 'feature/x' });
		expect(fs.readFileSync(path.join(out.workspace.path, 'README.md'), 'utf8')).toBe('# app\n');
		expect(fs.existsSync(path.join(out.workspace.path, 'out.txt'))).toBe(true);
		await expectRecorded(out);
	});

	it('resumes the same conversation by session id and by thread key', async () => {
		const folder = h.fx.folder('resume');
		const threadKey = `slack:C42:${Date.now()}.000100`;
		const first = await startSession(h.client, {
			prompt: 'first question [[bash:echo 1 > one.txt]]',
			workspace: { type: 'local', workspacePath: folder },
			threadKey,
			options: options(),
			deps,
		});
		expect(first.threadKey).toBe(threadKey);
		// An id given in upper case is the same session.
		const second = await resumeSession(h.client, {
			sessionId: first.sessionId.toUpperCase(),
			prompt: 'second question',
			options: options(),
			deps,
		});
		const third = await resumeSession(h.client, {
			threadKey,
			prompt: 'third question',
			options: options(),
			deps,
		});
		expect([second.sessionId, third.sessionId]).toEqual([first.sessionId, first.sessionId]);
		expect(third.result).toBe('fake: third question');
		// The last request of the third turn carries the whole conversation.
		expectConversationHolds(h.fx.fake, first.sessionId, [
			'first question',
			'second question',
			'third question',
			'echo 1 > one.txt',
		]);
		const detail = await h.client.request<any>('GET', `/api/v1/sessions/${first.sessionId}`);
		expect(detail.runCount).toBe(3);
		// Each run had a hook token of its own (the Start's made with its session, each Resume's with its lease); the
		// last run's ended.
		expect([first, second, third].map((o) => o.hooksReceived)).toEqual([true, true, true]);
		const tokens = await h.svc.db.query<{ generation: number; ended: boolean }>(
			'SELECT hook_token_generation AS generation, hook_tokens_end_at IS NOT NULL AS ended FROM sessions WHERE id = $1',
			[first.sessionId],
		);
		expect(tokens.rows[0]).toEqual({ generation: 3, ended: true });
		await expect(
			resumeSession(h.client, {
				threadKey: 'slack:C42:nope',
				prompt: 'x',
				options: options(),
				deps,
			}),
		).rejects.toThrow(/Unknown thread key/);
		await expect(
			resumeSession(h.client, {
				sessionId: '00000000-0000-4000-8000-000000000000',
				prompt: 'x',
				options: options(),
				deps,
			}),
		).rejects.toThrow(/Unknown session/);
	});

	it('reaches claude after only the requests it needs: a Start creates its session with its lease, token and budget, a Resume by thread key gets thread and session at once and the rest with its lease', async () => {
		const folder = h.fx.folder('rounds');
		// Every request to the service with when it was sent and answered, and when claude was started.
		type Sent = { what: string; sentAt: number; answeredAt?: number };
		let sent: Sent[] = [];
		let spawnedAt: number | undefined;
		const at = () => performance.now();
		const traced: OrchestratorClient = {
			...h.client,
			request: async (method, p, body, qs) => {
				const what = `${method} ${p.replace(/[0-9a-f-]{36}/g, ':id').replace(/threads\/[^/?]+/, 'threads/:key')}${
					qs?.include ? `?include=${qs.include}` : ''
				}`;
				const s: Sent = { what, sentAt: at() };
				sent.push(s);
				try {
					return await h.client.request(method, p, body, qs);
				} finally {
					s.answeredAt = at();
				}
			},
		};
		const launcher: ProcessLauncher = {
			launch: async (spec) => {
				const proc = await localLauncher.launch(spec);
				spawnedAt ??= at();
				return proc;
			},
		};
		// What claude waited for: the requests sent before it started, less those written beside it (the run record,
		// the prompt message) and the stop long poll that lasts the run. How they group into rounds is timing, which a
		// busy machine stretches: the rounds are measured by `npm run bench:overhead`; here, which requests they are.
		const waitedFor = () => {
			const beside = /^(PUT .*\/runs\/:id|POST .*\/messages|GET .*\/stop)$/;
			return sent
				.filter((s) => s.sentAt < spawnedAt! && !beside.test(s.what))
				.map((s) => s.what)
				.sort();
		};
		const threadKey = `slack:C43:${Date.now()}.000100`;
		const started = await startSession(traced, {
			prompt: 'first [[text:one]]',
			workspace: { type: 'local', workspacePath: folder },
			threadKey,
			options: options(),
			deps: { ...deps, localLauncher: launcher },
		});
		expect(started.status).toBe('completed');
		expect(waitedFor()).toEqual(['POST /api/v1/sessions']);
		// The lease came with the session: never claimed on its own, and released at the end.
		expect(sent.map((s) => s.what)).not.toContain('POST /api/v1/sessions/:id/lease');
		expect(sent.map((s) => s.what)).toContain('DELETE /api/v1/sessions/:id/lease');

		sent = [];
		spawnedAt = undefined;
		const resumed = await resumeSession(traced, {
			threadKey,
			prompt: 'second [[text:two]]',
			options: options(),
			deps: { ...deps, localLauncher: launcher },
		});
		expect(resumed).toMatchObject({ status: 'completed', sessionId: started.sessionId });
		expect(waitedFor()).toEqual([
			'GET /api/v1/threads/:key?include=session',
			'POST /api/v1/sessions/:id/lease',
		]);
		// The session came with the thread; the queued replies, the policy's presence, the hook token, the budget
		// reservation and the stored transcript's metadata with the lease.
		for (const asked of [
			'GET /api/v1/sessions/:id',
			'POST /api/v1/sessions/:id/queued-messages/take',
			'GET /api/v1/sessions/:id/approval-policy',
			'POST /api/v1/sessions/:id/hook-token',
			'POST /api/v1/budgets/reservations',
			'GET /api/v1/sessions/:id/transcript/meta',
		])
			expect(sent.filter((s) => s.sentAt < spawnedAt!).map((s) => s.what)).not.toContain(asked);
	});

	it.each(['ignores', 'refuses'] as const)(
		'asks for the hook token, budget and transcript itself when the lease did not bring them (a service that %s them)',
		async (older) => {
			const asked: string[] = [];
			const RUN_START = ['hookToken', 'budgetReservation', 'withTranscriptMeta'];
			const client: OrchestratorClient = {
				...h.client,
				request: async (method, p, body, qs) => {
					asked.push(`${method} ${p.replace(/[0-9a-f-]{36}/g, ':id')}`);
					// What the service checks: a creation's `lease`, or a claim's body.
					const claim = (
						p === '/api/v1/sessions'
							? (body as any)?.lease
							: p.endsWith('/lease')
								? body
								: undefined
					) as Record<string, unknown> | undefined;
					const extra = RUN_START.filter((k) => claim && k in claim);
					if (older === 'refuses' && method === 'POST' && extra.length)
						throw Object.assign(
							new Error(
								`400 ${p === '/api/v1/sessions' ? 'lease: ' : ''}Unrecognized key(s) in object: '${extra.join("', '")}'`,
							),
							{ status: 400 },
						);
					const answer = await h.client.request<any>(method, p, body, qs);
					const grant = p.endsWith('/lease')
						? answer
						: p === '/api/v1/sessions'
							? answer?.lease
							: undefined;
					if (grant && method === 'POST')
						for (const k of ['hookToken', 'budgetReservation', 'transcriptMeta']) delete grant[k];
					return answer;
				},
			};
			const started = await startSession(client, {
				prompt: 'first [[text:one]]',
				workspace: { type: 'local', workspacePath: h.fx.folder(`older-${older}`) },
				options: options(),
				deps,
			});
			const resumed = await resumeSession(client, {
				sessionId: started.sessionId,
				prompt: 'second [[text:two]]',
				options: options(),
				deps,
			});
			expect([started.status, resumed.status]).toEqual(['completed', 'completed']);
			expect([started.hooksReceived, resumed.hooksReceived]).toEqual([true, true]);
			const count = (what: string) => asked.filter((a) => a === what).length;
			expect(count('POST /api/v1/sessions/:id/hook-token')).toBe(2);
			expect(count('POST /api/v1/budgets/reservations')).toBe(2);
			expect(count('GET /api/v1/sessions/:id/transcript/meta')).toBe(1);
			// Each run's reservation was settled by its record, not left held.
			const held = await h.svc.db.query(
				`SELECT 1 FROM budget_reservations WHERE session_id = $1 AND status = 'held'`,
				[started.sessionId],
			);
			expect(held.rows).toHaveLength(0);
		},
	);

	it('runs one turn at a time per session: a second Resume waits, or fails clearly past its bound', async () => {
		const folder = h.fx.folder('busy');
		const first = await startSession(h.client, {
			prompt: 'start',
			workspace: { type: 'local', workspacePath: folder },
			options: options(),
			deps,
		});
		const asked = h.fx.fake.requestsFor(first.sessionId).length;
		const slow = resumeSession(h.client, {
			sessionId: first.sessionId,
			prompt: 'slow [[delay:10000]]',
			options: options(),
			deps,
		});
		// The slow turn holds the session once its claude has asked the model (however long a busy machine takes to
		// get there), and keeps it for the 10 s the answer takes.
		while (h.fx.fake.requestsFor(first.sessionId).length === asked) await sleep(50);
		await expect(
			resumeSession(h.client, {
				sessionId: first.sessionId,
				prompt: 'impatient',
				options: options({ queueTimeoutSeconds: 1 }),
				deps,
			}),
		).rejects.toThrow(/busy with another run/);
		const patient = await resumeSession(h.client, {
			sessionId: first.sessionId,
			prompt: 'patient',
			options: options({ queueTimeoutSeconds: 60 }),
			deps,
		});
		expect((await slow).status).toBe('completed');
		expect(patient).toMatchObject({ status: 'completed', result: 'fake: patient' });
	});

	it('records every tool call from the stream and flags the session when its hooks never arrive', async () => {
		const folder = h.fx.folder('nohooks');
		// Hooks go to a closed port (as when claude cannot reach the service); the API calls still work.
		const blind = { ...h.client, baseUrl: 'http://127.0.0.1:9' };
		const out = await startSession(blind, {
			prompt,
			workspace: { type: 'local', workspacePath: folder },
			options: options(),
			deps,
		});
		expect(out).toMatchObject({ status: 'completed', hooksReceived: false });
		const detail = await h.client.request<any>('GET', `/api/v1/sessions/${out.sessionId}`);
		expect(detail.hooksHealth).toBe('missing');
		const logs = await h.client.request<any>('GET', `/api/v1/sessions/${out.sessionId}/logs`);
		expect(logs.items.map((c: any) => [c.tool, c.status, c.sources])).toEqual([
			['Bash', 'succeeded', ['stream']],
			['Write', 'succeeded', ['stream']],
			['Read', 'succeeded', ['stream']],
		]);
	});

	it('says what to do when claude is missing or there are no Anthropic credentials', async () => {
		const folder = h.fx.folder('errors');
		await expect(
			startSession(h.client, {
				prompt: 'x',
				workspace: { type: 'local', workspacePath: folder },
				options: options({ claudePath: '/nonexistent/claude' }),
				deps,
			}),
		).rejects.toThrow(/npm install -g @anthropic-ai\/claude-code@2\.1\.331/);
		const env = h.fx.home('nokey');
		delete (env as Record<string, string | undefined>).ANTHROPIC_API_KEY;
		const saved = process.env.ANTHROPIC_API_KEY;
		delete process.env.ANTHROPIC_API_KEY;
		try {
			await expect(
				startSession(h.client, {
					prompt: 'x',
					workspace: { type: 'local', workspacePath: folder },
					options: { ...options(), env },
					deps,
				}),
			).rejects.toThrow(/No Anthropic credentials/);
		} finally {
			if (saved !== undefined) process.env.ANTHROPIC_API_KEY = saved;
		}
	});
});
