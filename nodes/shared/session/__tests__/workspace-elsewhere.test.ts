import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestService, type TestService } from '../../../../test/support/test-service';
import { startFakeAnthropic, type FakeAnthropic } from '../../../../test/fakes/anthropic-api';
import { claudeBinary, isolatedClaudeEnv } from '../../../../test/fakes/claude-cli';
import { fetchClient } from '../fetch-client';
import type { OrchestratorClient } from '../client';
import { parseRunOptions } from '../run-options';
import { resumeSession, startSession } from '../session-run';
import { git, makeRepo } from '../../../../test/support/git';

// A Resume that lands on a worker where the session's folder is not: worker B has its own HOME and its own
// workspaces folder; local folders and worktrees are expected on shared storage, GitHub clones are made again.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`a Resume on a worker without the session's folder (${kind})`, () => {
	let svc: TestService;
	let fake: FakeAnthropic;
	let client: OrchestratorClient;
	let root: string;
	let homeA: Record<string, string>;
	let homeB: Record<string, string>;
	let baseRepo: string;
	let remotes: string;
	const depsOf = (worker: string) => ({
		allowedRoots: [path.join(root, 'shared')],
		workspacesDir: path.join(root, worker, 'workspaces'),
		cacheDir: path.join(root, worker, 'cache'),
		worktreesDir: path.join(root, 'shared', '.worktrees'),
		remoteBaseUrl: `file://${remotes}`,
	});
	const on = (env: Record<string, string>) =>
		parseRunOptions({ claudePath: claudeBinary(), env, timeoutSeconds: 60 });

	beforeAll(async () => {
		[svc, fake] = await Promise.all([startTestService(kind), startFakeAnthropic()]);
		client = fetchClient(svc.url, svc.apiKey);
		root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-elsewhere-')));
		homeA = isolatedClaudeEnv(path.join(root, 'a'), fake.url);
		homeB = isolatedClaudeEnv(path.join(root, 'b'), fake.url);
		baseRepo = makeRepo(path.join(root, 'shared', 'app'), '# app\n');
		remotes = path.join(root, 'remotes');
		fs.mkdirSync(path.join(remotes, 'acme'), { recursive: true });
		git(root, 'clone', '-q', '--bare', baseRepo, path.join(remotes, 'acme', 'app.git'));
	}, 60_000);
	afterAll(async () => {
		await Promise.all([svc?.stop(), fake?.close()]);
		if (root) fs.rmSync(root, { recursive: true, force: true });
	});

	const notHere = (folder: string) =>
		new RegExp(
			`${folder.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*does not exist on this worker \\(host ${os.hostname()}\\).*removed or moved.*shares`,
		);

	it('a local folder that is not on this worker fails before claude starts, naming the folder and the host', async () => {
		const folder = path.join(root, 'shared', 'local-one');
		fs.mkdirSync(folder);
		const first = await startSession(client, {
			prompt: 'one',
			workspace: { type: 'local', workspacePath: folder },
			options: on(homeA),
			deps: depsOf('a'),
		});
		fs.rmSync(folder, { recursive: true });
		const before = fake.requestsFor(first.sessionId).length;
		await expect(
			resumeSession(client, {
				sessionId: first.sessionId,
				prompt: 'two',
				options: on(homeB),
				deps: depsOf('b'),
			}),
		).rejects.toThrow(notHere(folder));
		expect(fake.requestsFor(first.sessionId)).toHaveLength(before);
	});

	it('so does a worktree folder', async () => {
		const first = await startSession(client, {
			prompt: 'one',
			workspace: { type: 'worktree', baseRepository: baseRepo },
			options: on(homeA),
			deps: depsOf('a'),
		});
		fs.rmSync(first.workspace.path, { recursive: true });
		const before = fake.requestsFor(first.sessionId).length;
		await expect(
			resumeSession(client, {
				sessionId: first.sessionId,
				prompt: 'two',
				options: on(homeB),
				deps: depsOf('b'),
			}),
		).rejects.toThrow(notHere(first.workspace.path));
		expect(fake.requestsFor(first.sessionId)).toHaveLength(before);
	});

	it('a GitHub session is cloned again on this worker, on its branch, and says that unpushed work is lost', async () => {
		const first = await startSession(client, {
			prompt: 'first [[write:notes.txt::from worker a]]',
			workspace: { type: 'github', repository: 'acme/app', branch: 'feature/elsewhere' },
			options: on(homeA),
			deps: depsOf('a'),
		});
		expect(first.status).toBe('completed');
		expect(first.workspace.path.startsWith(path.join(root, 'a'))).toBe(true);
		// Both workers share this machine's disk here: take worker A's clone away, as another machine would not have it.
		fs.rmSync(first.workspace.path, { recursive: true });

		const second = await resumeSession(client, {
			sessionId: first.sessionId,
			prompt: 'second question',
			options: on(homeB),
			deps: depsOf('b'),
		});
		expect(second).toMatchObject({
			sessionId: first.sessionId,
			status: 'completed',
			workspace: { type: 'github', branch: 'feature/elsewhere' },
		});
		expect(second.workspace.path).toBe(path.join(root, 'b', 'workspaces', first.sessionId));
		expect(git(second.workspace.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(
			'feature/elsewhere',
		);
		expect(second.notices).toEqual([
			expect.stringMatching(
				/was not on this worker .*cloned again.*feature\/elsewhere.*could not be recovered/,
			),
		]);
		// The uncommitted file of worker A is not here; the conversation is.
		expect(fs.existsSync(path.join(second.workspace.path, 'notes.txt'))).toBe(false);
		const requests = fake.requestsFor(first.sessionId);
		expect(JSON.stringify(requests[requests.length - 1].body.messages)).toContain('from worker a');
		const stored = await client.request<any>('GET', `/api/v1/sessions/${first.sessionId}`);
		expect(stored.workspace.path).toBe(second.workspace.path);
	});
});
