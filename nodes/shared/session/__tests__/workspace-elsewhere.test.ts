import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastConversation } from '../../../../test/support/claude-fixture';
import { serviceWithClaude } from '../../../../test/support/claude-service';
import { resumeSession, startSession, type StartRequest } from '../session-run';
import { bareClone, git, makeRepo } from '../../../../test/support/git';

// A Resume that lands on a worker where the session's folder is not: worker B has its own HOME and its own
// workspaces folder; local folders and worktrees are expected on shared storage, GitHub clones are made again.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`a Resume on a worker without the session's folder (${kind})`, () => {
	const h = serviceWithClaude(kind, 'orch-elsewhere');
	let baseRepo: string;
	let remotes: string;
	beforeAll(() => {
		baseRepo = makeRepo(path.join(h.fx.projects, 'app'), '# app\n');
		remotes = path.join(h.fx.root, 'remotes');
		bareClone(baseRepo, remotes, 'acme/app');
	});
	/** A worker's own claude home, workspaces and cache folders; the allowed root and worktrees are shared. */
	const on = (worker: string) => ({
		options: h.fx.options({ env: h.fx.home(worker) }),
		deps: {
			...h.fx.deps,
			workspacesDir: path.join(h.fx.root, worker, 'workspaces'),
			cacheDir: path.join(h.fx.root, worker, 'cache'),
			remoteBaseUrl: `file://${remotes}`,
		},
	});
	const startOnA = (prompt: string, workspace: StartRequest['workspace']) =>
		startSession(h.client, { prompt, workspace, ...on('a') });
	const resumeOnB = (sessionId: string, prompt: string) =>
		resumeSession(h.client, { sessionId, prompt, ...on('b') });

	const notHere = (folder: string) =>
		new RegExp(
			`${folder.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*does not exist on this worker \\(host ${os.hostname()}\\).*removed or moved.*shares`,
		);

	it('a local folder that is not on this worker fails before claude starts, naming the folder and the host', async () => {
		const folder = h.fx.folder('local-one');
		const first = await startOnA('one', { type: 'local', workspacePath: folder });
		fs.rmSync(folder, { recursive: true });
		const before = h.fx.fake.requestsFor(first.sessionId).length;
		await expect(resumeOnB(first.sessionId, 'two')).rejects.toThrow(notHere(folder));
		expect(h.fx.fake.requestsFor(first.sessionId)).toHaveLength(before);
	});

	it('so does a worktree folder', async () => {
		const first = await startOnA('one', { type: 'worktree', baseRepository: baseRepo });
		fs.rmSync(first.workspace.path, { recursive: true });
		const before = h.fx.fake.requestsFor(first.sessionId).length;
		await expect(resumeOnB(first.sessionId, 'two')).rejects.toThrow(notHere(first.workspace.path));
		expect(h.fx.fake.requestsFor(first.sessionId)).toHaveLength(before);
	});

	it('a GitHub session is cloned again on this worker, on its branch, and says that unpushed work is lost', async () => {
		const first = await startOnA('first [[write:notes.txt::from worker a]]', {
			type: 'github',
			repository: 'acme/app',
			branch: 'feature/elsewhere',
		});
		expect(first.status).toBe('completed');
		expect(first.workspace.path.startsWith(path.join(h.fx.root, 'a'))).toBe(true);
		// Both workers share this machine's disk here: take worker A's clone away, as another machine would not have it.
		fs.rmSync(first.workspace.path, { recursive: true });

		const second = await resumeOnB(first.sessionId, 'second question');
		expect(second).toMatchObject({
			sessionId: first.sessionId,
			status: 'completed',
			workspace: { type: 'github', branch: 'feature/elsewhere' },
		});
		expect(second.workspace.path).toBe(path.join(h.fx.root, 'b', 'workspaces', first.sessionId));
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
		expect(lastConversation(h.fx.fake, first.sessionId)).toContain('from worker a');
		const stored = await h.client.request<any>('GET', `/api/v1/sessions/${first.sessionId}`);
		expect(stored.workspace.path).toBe(second.workspace.path);
	});
});
