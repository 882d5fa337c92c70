import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { WorkspaceError } from '../errors';
import { cleanupWorktree, createWorktree, reopenWorktree } from '../worktree';
import { commitFile, git, makeRepo } from '../../../../test/support/git';
import { pwnedMarker, tempDir } from '../../../../test/support/temp';

describe('worktree workspaces', () => {
	const tmp = tempDir('ws-worktree');
	const root = path.join(tmp.dir, 'root');
	const base = path.join(root, 'app');
	const roots = [root];

	beforeAll(() => {
		makeRepo(base);
		mkdirSync(path.join(base, 'src'));
	});
	afterAll(() => tmp.remove());

	/** A worktree of the base repository for a new session (unless `extra` says otherwise), under the roots. */
	const newWorktree = (extra: Partial<Parameters<typeof createWorktree>[0]> = {}) =>
		createWorktree({
			baseRepository: base,
			sessionId: randomUUID(),
			allowedRoots: roots,
			...extra,
		});
	/** The error newWorktree fails with. */
	const refusal = (extra: Partial<Parameters<typeof createWorktree>[0]>) =>
		newWorktree(extra).catch((e) => e);

	it('creates 8 worktrees at once from one base repository: distinct folders, each on its own new branch', async () => {
		const sessions = Array.from({ length: 8 }, () => randomUUID());
		const created = await Promise.all(sessions.map((sessionId) => newWorktree({ sessionId })));

		expect(new Set(created.map((w) => w.path)).size).toBe(8);
		expect(new Set(created.map((w) => w.branch)).size).toBe(8);
		created.forEach((worktree, i) => {
			expect(worktree.path).toBe(
				path.join(tmp.dir, 'root', '.claude-worktrees', 'app', sessions[i]),
			);
			expect(worktree.branch).toBe(`claude/${sessions[i].slice(0, 8)}`);
			expect(worktree.baseRepository).toBe(base);
			// Each folder is really checked out on its own branch.
			expect(git(worktree.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(worktree.branch);
			expect(existsSync(path.join(worktree.path, 'README.md'))).toBe(true);
		});
		const listed = git(base, 'worktree', 'list', '--porcelain');
		for (const worktree of created) expect(listed).toContain(`worktree ${worktree.path}`);
	});

	it('uses a given branch name when it does not exist yet, from a subfolder of the repository, in worktreesDir', async () => {
		const worktreesDir = path.join(tmp.dir, 'elsewhere');
		const sessionId = randomUUID();
		const worktree = await createWorktree({
			baseRepository: path.join(base, 'src'),
			sessionId,
			branch: 'feature/from-n8n',
			worktreesDir,
			allowedRoots: roots,
		});
		expect(worktree).toEqual({
			path: path.join(worktreesDir, sessionId),
			branch: 'feature/from-n8n',
			baseRepository: base,
		});
		expect(git(worktree.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('feature/from-n8n');
	});

	it('refuses a branch that already exists, and a session folder that already exists', async () => {
		const error = await refusal({ branch: 'main' });
		expect(error).toBeInstanceOf(WorkspaceError);
		expect(error.message).toMatch(/Branch "main" already exists/);

		const sessionId = randomUUID();
		await newWorktree({ sessionId });
		const again = await refusal({ sessionId });
		expect(again.code).toBe('already_exists');
	});

	it('falls back to the full session id when the short branch name is taken', async () => {
		const sessionId = randomUUID();
		git(base, 'branch', `claude/${sessionId.slice(0, 8)}`);
		const worktree = await newWorktree({ sessionId });
		expect(worktree.branch).toBe(`claude/${sessionId}`);
	});

	it('refuses base repositories outside the roots, folders that are not repositories, and empty repositories', async () => {
		const outside = makeRepo(path.join(tmp.dir, 'outside-repo'));
		expect((await refusal({ baseRepository: outside })).code).toBe('outside_roots');
		const plain = path.join(root, 'plain');
		mkdirSync(plain);
		expect((await refusal({ baseRepository: plain })).message).toMatch(
			/not inside a git repository/,
		);
		const empty = path.join(root, 'empty');
		mkdirSync(empty);
		git(empty, 'init', '-q');
		expect((await refusal({ baseRepository: empty })).message).toMatch(/no commits yet/);
	});

	it('refuses injected branch names and session ids; no command runs', async () => {
		const marker = pwnedMarker();
		const hostile = [
			{ branch: `--upload-pack=touch ${marker}` },
			{ branch: `$(touch ${marker})` },
			{ branch: `x;touch ${marker}` },
			{ branch: `\`touch ${marker}\`` },
			{ sessionId: `../../etc` },
			{ sessionId: `$(touch ${marker})` },
		];
		for (const override of hostile) {
			const error = await refusal(override);
			expect(error).toBeInstanceOf(WorkspaceError);
		}
		expect(existsSync(marker)).toBe(false);
		expect(git(base, 'branch', '--list', '*touch*')).toBe('');
	});

	it('retries while another process holds a git lock', async () => {
		const sessionId = randomUUID();
		const branch = `claude/${sessionId.slice(0, 8)}`;
		// What a concurrent git in another process leaves while it writes the same ref.
		const lock = path.join(base, '.git', 'refs', 'heads', `${branch}.lock`);
		mkdirSync(path.dirname(lock), { recursive: true });
		writeFileSync(lock, '');
		setTimeout(() => rmSync(lock), 400);
		const worktree = await newWorktree({ sessionId });
		expect(worktree.branch).toBe(branch);
	});

	describe('cleanupWorktree', () => {
		it('removes a clean worktree whose commits are on another branch, and keeps the branch', async () => {
			const worktree = await newWorktree();
			const result = await cleanupWorktree(worktree.path);
			expect(result).toEqual({
				removed: true,
				path: worktree.path,
				branch: worktree.branch,
				reasons: [],
			});
			expect(existsSync(worktree.path)).toBe(false);
			expect(git(base, 'branch', '--list', worktree.branch)).toContain(worktree.branch);
		});

		it('refuses uncommitted changes and commits that exist nowhere else, saying why; force removes', async () => {
			const worktree = await newWorktree();
			writeFileSync(path.join(worktree.path, 'draft.txt'), 'wip');
			const dirty = await cleanupWorktree(worktree.path, { force: false });
			expect(dirty.removed).toBe(false);
			expect(dirty.reasons).toEqual([
				expect.stringMatching(/1 uncommitted change\(s\): draft\.txt/),
			]);

			commitFile(worktree.path, 'draft.txt', 'done');
			const unpushed = await cleanupWorktree(worktree.path);
			expect(unpushed.removed).toBe(false);
			expect(unpushed.reasons).toEqual([
				expect.stringMatching(/1 commit\(s\) on "claude\/.*" are on no other branch or remote/),
			]);
			expect(existsSync(worktree.path)).toBe(true);

			// Once another ref holds the commit (as after a push), it may go.
			git(base, 'branch', `backup-${path.basename(worktree.path)}`, worktree.branch);
			expect((await cleanupWorktree(worktree.path)).removed).toBe(true);

			const forced = await newWorktree();
			writeFileSync(path.join(forced.path, 'draft.txt'), 'wip');
			expect((await cleanupWorktree(forced.path, { force: true })).removed).toBe(true);
			expect(existsSync(forced.path)).toBe(false);
		});

		it('never removes a main repository folder', async () => {
			const error = await cleanupWorktree(base, { force: true }).catch((e) => e);
			expect(error).toBeInstanceOf(WorkspaceError);
			expect(error.message).toMatch(/not a session worktree/);
			expect(existsSync(path.join(base, 'README.md'))).toBe(true);
		});
	});

	it('reopens an existing worktree, and says clearly when it was deleted', async () => {
		const worktree = await newWorktree();
		await expect(reopenWorktree(worktree.path, roots)).resolves.toBe(worktree.path);
		await expect(
			reopenWorktree(worktree.path, [path.join(tmp.dir, 'other')]),
		).rejects.toMatchObject({ code: 'outside_roots' });
		rmSync(worktree.path, { recursive: true, force: true });
		await expect(reopenWorktree(worktree.path, roots)).rejects.toMatchObject({
			code: 'not_found',
			message: expect.stringMatching(/no longer exists/),
		});
	});
});
