import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestService, type TestService } from '../../../../test/support/test-service';
import { startFakeAnthropic, type FakeAnthropic } from '../../../../test/fakes/anthropic-api';
import { claudeBinary, isolatedClaudeEnv } from '../../../../test/fakes/claude-cli';
import { fetchClient } from '../fetch-client';
import type { OrchestratorClient } from '../client';
import { parseRunOptions } from '../run-options';
import { checkResumedSession, resumeSession, startSession } from '../session-run';
import { projectSlug, transcriptPath } from '../transcript';
import { sleep } from '../../../../test/support/wait';

// Two "workers": the same service and shared workspace folder, but each its own HOME, as two machines would have.
// The real claude CLI against the loopback fake API.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`a session's conversation follows it from worker to worker (${kind})`, () => {
	let svc: TestService;
	let fake: FakeAnthropic;
	let client: OrchestratorClient;
	let root: string;
	let deps: { allowedRoots: string[]; workspacesDir: string; cacheDir: string };
	let homeA: Record<string, string>;
	let homeB: Record<string, string>;
	const on = (env: Record<string, string>) =>
		parseRunOptions({ claudePath: claudeBinary(), env, timeoutSeconds: 60 });

	beforeAll(async () => {
		// A short lease, swept often: a worker that dies is noticed within seconds.
		[svc, fake] = await Promise.all([
			startTestService(kind, { LEASE_TTL: '3s', LEASE_SWEEP_MS: '200' }),
			startFakeAnthropic(),
		]);
		client = fetchClient(svc.url, svc.apiKey);
		root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-workers-')));
		homeA = isolatedClaudeEnv(path.join(root, 'worker-a'), fake.url);
		homeB = isolatedClaudeEnv(path.join(root, 'worker-b'), fake.url);
		deps = {
			allowedRoots: [path.join(root, 'shared')],
			workspacesDir: path.join(root, 'workspaces'),
			cacheDir: path.join(root, 'cache'),
		};
	}, 60_000);
	afterAll(async () => {
		await Promise.all([svc?.stop(), fake?.close()]);
		if (root) fs.rmSync(root, { recursive: true, force: true });
	});

	it('names the transcript file as Claude Code does', () => {
		// Measured with 2.1.331: a folder "/tmp/x/a.b_c d/x-y" is stored under "-tmp-x-a-b-c-d-x-y".
		expect(projectSlug('/tmp/x/a.b_c d/x-y')).toBe('-tmp-x-a-b-c-d-x-y');
		expect(transcriptPath({ CLAUDE_CONFIG_DIR: '/cfg', HOME: '/h' }, '/srv/work/repo', 'id')).toBe(
			'/cfg/projects/-srv-work-repo/id.jsonl',
		);
		expect(transcriptPath({ HOME: '/h' }, '/srv/work/repo', 'id')).toBe(
			'/h/.claude/projects/-srv-work-repo/id.jsonl',
		);
	});

	it('a Resume on worker B continues the conversation worker A started, and back again', async () => {
		const folder = path.join(root, 'shared', 'app');
		fs.mkdirSync(folder, { recursive: true });
		const first = await startSession(client, {
			prompt: 'first question [[bash:echo 1 > one.txt]]',
			workspace: { type: 'local', workspacePath: folder },
			options: on(homeA),
			deps,
		});
		expect(first.status).toBe('completed');
		const fileA = transcriptPath(homeA, folder, first.sessionId);
		const fileB = transcriptPath(homeB, folder, first.sessionId);
		expect(fs.existsSync(fileA)).toBe(true);
		const stored = await client.request<any>(
			'GET',
			`/api/v1/sessions/${first.sessionId}/transcript/meta`,
		);
		expect(stored).toMatchObject({ version: 1, sourceSizeBytes: fs.statSync(fileA).size });
		expect(fs.existsSync(fileB)).toBe(false);

		const second = await resumeSession(client, {
			sessionId: first.sessionId,
			prompt: 'second question [[bash:echo 2 > two.txt]]',
			options: on(homeB),
			deps,
		});
		expect(second).toMatchObject({
			sessionId: first.sessionId,
			status: 'completed',
			isError: false,
		});
		// The fake API saw worker A's turn in the request worker B sent.
		const requests = fake.requestsFor(first.sessionId);
		const lastOfB = JSON.stringify(requests[requests.length - 1].body.messages);
		for (const earlier of ['first question', 'echo 1 > one.txt', 'second question'])
			expect(lastOfB).toContain(earlier);
		expect(fs.readFileSync(path.join(folder, 'one.txt'), 'utf8')).toBe('1\n');
		expect(fs.readFileSync(path.join(folder, 'two.txt'), 'utf8')).toBe('2\n');
		expect(fs.existsSync(fileB)).toBe(true);
		const afterB = await client.request<any>(
			'GET',
			`/api/v1/sessions/${first.sessionId}/transcript/meta`,
		);
		expect(afterB.version).toBe(2);
		expect(afterB.sourceSizeBytes).toBeGreaterThan(stored.sourceSizeBytes);

		// Worker A still holds its older copy: it is replaced by the service's before claude runs.
		const third = await resumeSession(client, {
			sessionId: first.sessionId,
			prompt: 'third question',
			options: on(homeA),
			deps,
		});
		expect(third).toMatchObject({
			sessionId: first.sessionId,
			status: 'completed',
			result: 'fake: third question',
		});
		const all = fake.requestsFor(first.sessionId);
		const lastOfA = JSON.stringify(all[all.length - 1].body.messages);
		for (const earlier of [
			'first question',
			'second question',
			'echo 2 > two.txt',
			'third question',
		])
			expect(lastOfA).toContain(earlier);
		expect(
			(await client.request<any>('GET', `/api/v1/sessions/${first.sessionId}/transcript/meta`))
				.version,
		).toBe(3);
	});

	it('refuses to resume when neither this worker nor the service has the conversation, before claude starts', async () => {
		const folder = path.join(root, 'shared', 'lost');
		fs.mkdirSync(folder, { recursive: true });
		const id = crypto.randomUUID();
		await client.request('POST', '/api/v1/sessions', {
			id,
			status: 'completed',
			workspaceType: 'local',
			workspacePath: folder,
		});
		await expect(
			resumeSession(client, { sessionId: id, prompt: 'hello?', options: on(homeB), deps }),
		).rejects.toThrow(
			new RegExp(
				`Session ${id} cannot be resumed: its conversation is neither on this worker \\(${os.hostname()}`,
			),
		);
		expect(fake.requestsFor(id)).toHaveLength(0);
		const runs = await client.request<any>('GET', `/api/v1/sessions/${id}/runs`);
		expect(runs.items).toEqual([
			expect.objectContaining({
				kind: 'resume',
				status: 'failed',
				errorMessage: expect.stringMatching(/neither on this worker/),
			}),
		]);
	});

	it('a turn cut off by a dead worker ends interrupted, and a Resume on another worker continues the conversation', async () => {
		const folder = path.join(root, 'shared', 'cut');
		fs.mkdirSync(folder, { recursive: true });
		const first = await startSession(client, {
			prompt: 'before the crash [[bash:echo 1 > one.txt]]',
			workspace: { type: 'local', workspacePath: folder },
			options: on(homeA),
			deps,
		});
		// Worker A claims the session for a second turn and dies: nothing renews its lease, no run end is reported.
		await client.request('POST', `/api/v1/sessions/${first.sessionId}/lease`, {
			owner: 'worker-a:999:dead',
		});
		await client.request('PUT', `/api/v1/sessions/${first.sessionId}/runs/${crypto.randomUUID()}`, {
			kind: 'resume',
			status: 'running',
			prompt: 'lost turn',
		});
		const deadline = Date.now() + 8_000;
		let status = '';
		while (Date.now() < deadline && status !== 'interrupted') {
			status = (await client.request<any>('GET', `/api/v1/sessions/${first.sessionId}`)).status;
			if (status !== 'interrupted') await sleep(200);
		}
		expect(status).toBe('interrupted');
		const resumed = await resumeSession(client, {
			sessionId: first.sessionId,
			prompt: 'after the crash',
			options: on(homeB),
			deps,
		});
		expect(resumed).toMatchObject({
			sessionId: first.sessionId,
			status: 'completed',
			result: 'fake: after the crash',
		});
		const requests = fake.requestsFor(first.sessionId);
		expect(JSON.stringify(requests[requests.length - 1].body.messages)).toContain(
			'before the crash',
		);
		expect((await client.request<any>('GET', `/api/v1/sessions/${first.sessionId}`)).status).toBe(
			'completed',
		);
	});

	it('fails a resumed run that answers with another session id instead of passing it off as the same conversation', () => {
		const id = crypto.randomUUID();
		const other = crypto.randomUUID();
		const base = {
			status: 'completed',
			isError: false,
			sessionId: other,
			stderrTail: '',
		} as Parameters<typeof checkResumedSession>[0];
		expect(checkResumedSession(base, id)).toMatchObject({
			status: 'failed',
			isError: true,
			errorMessage: expect.stringContaining(
				`asked to resume session ${id} but ran session ${other}`,
			),
		});
		expect(checkResumedSession({ ...base, sessionId: id }, id)).toMatchObject({
			status: 'completed',
		});
	});
});
