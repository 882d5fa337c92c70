import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { WorkspaceError } from '../errors';
import { prepareWorkspace, reopenWorkspace } from '../index';
import { git, makeRemote, makeRepo } from '../../../../test/support/git';
import { pwnedMarker, tempDir } from '../../../../test/support/temp';
import { scratchDeps } from './scratch-deps';

describe('prepareWorkspace / reopenWorkspace', () => {
	const tmp = tempDir('ws-index');
	const root = path.join(tmp.dir, 'root');
	const deps = scratchDeps(tmp.dir, root);
	const { localLauncher } = deps;

	beforeAll(() => {
		makeRepo(path.join(root, 'app'));
		makeRemote(path.join(tmp.dir, 'remotes'), 'acme', 'widgets');
	});
	afterAll(() => tmp.remove());

	it('local: the folder itself, with the local launcher; reopen finds it, or says it is gone', async () => {
		const folder = path.join(root, 'scratch');
		mkdirSync(folder);
		const workspace = await prepareWorkspace(
			{ type: 'local', sessionId: randomUUID(), workspacePath: folder },
			deps,
		);
		expect(workspace).toEqual({ type: 'local', path: folder, launcher: localLauncher });
		await expect(reopenWorkspace({ type: 'local', path: folder }, deps)).resolves.toEqual(
			workspace,
		);
		rmSync(folder, { recursive: true });
		await expect(reopenWorkspace({ type: 'local', path: folder }, deps)).rejects.toMatchObject({
			code: 'not_found',
			message: expect.stringMatching(/does not exist on this worker \(host /),
		});
	});

	it('local: refuses ../../etc and fields that do not apply', async () => {
		await expect(
			prepareWorkspace(
				{ type: 'local', sessionId: randomUUID(), workspacePath: '../../etc' },
				deps,
			),
		).rejects.toMatchObject({
			code: 'outside_roots',
		});
		await expect(
			prepareWorkspace(
				{ type: 'local', sessionId: randomUUID(), workspacePath: root, branch: 'main' },
				deps,
			),
		).rejects.toThrow(/branch cannot be used/);
	});

	it('worktree: a new worktree and branch; reopen checks it is still there', async () => {
		const sessionId = randomUUID();
		const workspace = await prepareWorkspace(
			{ type: 'worktree', sessionId, baseRepository: path.join(root, 'app') },
			deps,
		);
		expect(workspace).toMatchObject({
			type: 'worktree',
			branch: `claude/${sessionId.slice(0, 8)}`,
			launcher: localLauncher,
		});
		const stored = { type: 'worktree' as const, path: workspace.path, branch: workspace.branch };
		await expect(reopenWorkspace(stored, deps)).resolves.toMatchObject({
			path: workspace.path,
			branch: workspace.branch,
		});
		git(path.join(root, 'app'), 'worktree', 'remove', '--force', workspace.path);
		await expect(reopenWorkspace(stored, deps)).rejects.toMatchObject({ code: 'not_found' });
	});

	it('github: a clone in the workspaces folder; reopen checks it is still there', async () => {
		const workspace = await prepareWorkspace(
			{
				type: 'github',
				sessionId: randomUUID(),
				repository: 'acme/widgets',
				branch: 'feature/existing',
			},
			deps,
		);
		expect(workspace).toMatchObject({
			type: 'github',
			repository: 'acme/widgets',
			branch: 'feature/existing',
			launcher: localLauncher,
		});
		const stored = {
			type: 'github' as const,
			path: workspace.path,
			repository: 'acme/widgets',
			branch: 'feature/existing',
		};
		await expect(reopenWorkspace(stored, deps)).resolves.toMatchObject({
			path: workspace.path,
			repository: 'acme/widgets',
		});
		rmSync(workspace.path, { recursive: true });
		await expect(reopenWorkspace(stored, deps)).rejects.toMatchObject({ code: 'not_found' });
	});

	it('says which field is missing, and refuses unknown types', async () => {
		const cases: Array<[Parameters<typeof prepareWorkspace>[0], RegExp]> = [
			[{ type: 'local', sessionId: 'abc' }, /Workspace folder is empty/],
			[{ type: 'worktree', sessionId: 'abc' }, /Base repository is empty/],
			[{ type: 'github', sessionId: 'abc' }, /Repository is empty/],
			[{ type: 'e2b', sessionId: 'abc' }, /E2B API key is missing/],
			[{ type: 'ftp' as never, sessionId: 'abc' }, /not known/],
		];
		for (const [request, message] of cases) {
			const error = await prepareWorkspace(request, deps).catch((e) => e);
			expect(error).toBeInstanceOf(WorkspaceError);
			expect(error.message).toMatch(message);
		}
		await expect(
			reopenWorkspace({ type: 'e2b', path: '/home/user/workspace' }, deps),
		).rejects.toThrow(/no E2B sandbox id/);
	});

	it('refuses every injection string through the public entry point; nothing runs', async () => {
		const marker = pwnedMarker();
		const requests: Array<Parameters<typeof prepareWorkspace>[0]> = [
			{ type: 'github', sessionId: randomUUID(), repository: `owner/repo;rm -rf ~` },
			{ type: 'github', sessionId: randomUUID(), repository: `acme/widgets;touch ${marker}` },
			{
				type: 'github',
				sessionId: randomUUID(),
				repository: 'acme/widgets',
				branch: `--upload-pack=touch ${marker}`,
			},
			{ type: 'github', sessionId: randomUUID(), repository: `$(touch ${marker})` },
			{
				type: 'worktree',
				sessionId: randomUUID(),
				baseRepository: path.join(root, 'app'),
				branch: `$(touch ${marker})`,
			},
			{ type: 'worktree', sessionId: randomUUID(), baseRepository: '../../etc' },
			{ type: 'local', sessionId: randomUUID(), workspacePath: '../../etc' },
			{ type: 'local', sessionId: randomUUID(), workspacePath: `$(touch ${marker})` },
		];
		for (const request of requests)
			await expect(prepareWorkspace(request, deps)).rejects.toBeInstanceOf(WorkspaceError);
		expect(existsSync(marker)).toBe(false);
	});
});
