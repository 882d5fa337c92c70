import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { SimpleGit } from 'simple-git';
import { WorkspaceError } from './errors';
import { gitAt, gitFailure } from './git';
import {
	describeRoots,
	existingPath,
	isInside,
	pathExists as exists,
	resolveAllowedRoots,
	resolveFolderInRoots,
} from './local';
import { retryWhileLocked, withKeyLock } from './locks';
import { validateAbsolutePath, validateBranch, validateSessionId } from './validate';

// A worktree session gets its own folder and its own new branch, so parallel sessions on one
// repository never edit the same files or commit to the same branch.

export interface CreateWorktreeOptions {
	/** A folder inside a git repository under one of the allowed roots. */
	baseRepository: string;
	sessionId: string;
	/** A new branch name; defaults to `claude/<first 8 characters of the session id>`. */
	branch?: string;
	/** Folder that holds the worktrees; defaults to `<base>/../.claude-worktrees/<repo folder name>`. */
	worktreesDir?: string;
	allowedRoots: readonly string[];
}

export interface CreatedWorktree {
	/** Real path of the new worktree: `<worktreesDir>/<sessionId>`. */
	path: string;
	branch: string;
	/** Real path of the base repository's top folder. */
	baseRepository: string;
}

export async function createWorktree(options: CreateWorktreeOptions): Promise<CreatedWorktree> {
	const sessionId = validateSessionId(options.sessionId);
	const requestedBranch = options.branch ? validateBranch(options.branch) : undefined;
	const folder = await resolveFolderInRoots(
		options.baseRepository,
		options.allowedRoots,
		'Base repository',
	);
	const base = await topLevelOf(folder, options.baseRepository);
	const roots = await resolveAllowedRoots(options.allowedRoots);
	if (!roots.roots.some((root) => isInside(base, root))) {
		throw new WorkspaceError(
			`Base repository ${JSON.stringify(options.baseRepository)} belongs to the git repository ${JSON.stringify(base)}, ` +
				`which is outside the allowed roots (${describeRoots(roots)}). Pick the repository's top folder inside a root.`,
			'outside_roots',
		);
	}
	const worktreesDir = options.worktreesDir
		? validateAbsolutePath(options.worktreesDir, 'Worktrees folder')
		: path.join(path.dirname(base), '.claude-worktrees', path.basename(base));
	const target = path.join(worktreesDir, sessionId);
	const git = gitAt(base);
	const commonDir = await commonDirOf(git);

	// git worktree add writes the shared .git (worktree admin folder, branch ref): one at a time per repository.
	return withKeyLock(`git:${commonDir}`, async () => {
		if (await exists(target)) {
			throw new WorkspaceError(
				`The worktree folder ${JSON.stringify(target)} already exists; each session needs its own. Use a new session id.`,
				'already_exists',
			);
		}
		const head = await git
			.raw(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'])
			.catch(() => '');
		if (!head.trim()) {
			throw new WorkspaceError(
				`Base repository ${JSON.stringify(base)} has no commits yet; a worktree needs one to branch from. Commit something first.`,
			);
		}
		const branch = await chooseBranch(git, sessionId, requestedBranch);
		await fs.mkdir(worktreesDir, { recursive: true });
		try {
			await retryWhileLocked(() => git.raw(['worktree', 'add', '-b', branch, target, 'HEAD']));
		} catch (error) {
			throw gitFailure(
				`Could not create a worktree for ${JSON.stringify(base)} at ${JSON.stringify(target)}`,
				error,
			);
		}
		return { path: await fs.realpath(target), branch, baseRepository: base };
	});
}

async function chooseBranch(
	git: SimpleGit,
	sessionId: string,
	requested: string | undefined,
): Promise<string> {
	if (requested) {
		if (await branchExists(git, requested)) {
			throw new WorkspaceError(
				`Branch ${JSON.stringify(requested)} already exists in the base repository. A worktree session starts a new branch: ` +
					'choose a name that does not exist yet, or leave the branch empty.',
				'already_exists',
			);
		}
		return requested;
	}
	// The short form reads well in `git branch`; the full id is the fallback when two ids share a prefix.
	for (const candidate of [`claude/${sessionId.slice(0, 8)}`, `claude/${sessionId}`]) {
		if (!(await branchExists(git, candidate))) return candidate;
	}
	throw new WorkspaceError(
		`Branch claude/${sessionId} already exists; this session id was used before. Use a new session id.`,
		'already_exists',
	);
}

async function branchExists(git: SimpleGit, branch: string): Promise<boolean> {
	const ref = `refs/heads/${branch}`;
	const out = await git.raw(['for-each-ref', '--format=%(refname)', ref]);
	return out.split('\n').includes(ref);
}

export interface CleanupWorktreeOptions {
	/** Remove even with uncommitted changes or commits that exist nowhere else. */
	force?: boolean;
	/** Check only: say whether it would be removed (`removed` stays false, `reasons` empty) and change nothing. */
	dryRun?: boolean;
}

export interface CleanupWorktreeResult {
	removed: boolean;
	path: string;
	branch?: string;
	/** Why the worktree was kept (empty when removed). */
	reasons: string[];
}

/**
 * Removes a session worktree (its folder and git's record of it). The branch is kept: it is where the
 * session's commits live. Without `force`, a worktree with uncommitted changes, or with commits that no
 * other branch or remote has, is kept and the reasons are returned.
 */
export async function cleanupWorktree(
	worktreePath: string,
	options: CleanupWorktreeOptions = { force: false },
): Promise<CleanupWorktreeResult> {
	const { requested, real } = await existingPath(
		worktreePath,
		'Worktree folder',
		(given) => `Worktree folder ${JSON.stringify(given)} does not exist (already removed?).`,
	);
	const git = gitAt(real);
	const [gitDir, commonDir] = await Promise.all([
		absoluteRevParse(git, '--git-dir'),
		commonDirOf(git),
	]).catch((error) => {
		throw gitFailure(
			`Folder ${JSON.stringify(requested)} is not a git worktree`,
			error,
			[],
			'invalid_input',
		);
	});
	const top = await fs.realpath((await git.raw(['rev-parse', '--show-toplevel'])).trim());
	if (gitDir === commonDir || top !== real) {
		throw new WorkspaceError(
			`Folder ${JSON.stringify(requested)} is not a session worktree (it is a repository's main folder or a subfolder); nothing was removed.`,
			'invalid_input',
		);
	}
	const abbrev = (await git.raw(['rev-parse', '--abbrev-ref', 'HEAD'])).trim();
	const branch = abbrev === 'HEAD' ? undefined : abbrev;

	if (!options.force) {
		const reasons: string[] = [];
		const changes = (await git.raw(['status', '--porcelain=v1', '--untracked-files=normal']))
			.split('\n')
			.filter(Boolean);
		if (changes.length > 0) {
			const sample = changes
				.slice(0, 5)
				.map((line) => line.slice(3))
				.join(', ');
			reasons.push(
				`${changes.length} uncommitted change(s): ${sample}${changes.length > 5 ? ', …' : ''}`,
			);
		}
		const notElsewhere = branch
			? ['rev-list', '--count', 'HEAD', '--not', `--exclude=${branch}`, '--branches', '--remotes']
			: ['rev-list', '--count', 'HEAD', '--not', '--branches', '--remotes'];
		const unpushed = Number((await git.raw(notElsewhere)).trim());
		if (unpushed > 0) {
			reasons.push(
				`${unpushed} commit(s) on ${branch ? JSON.stringify(branch) : 'a detached HEAD'} are on no other branch or remote: push or merge them first`,
			);
		}
		if (reasons.length > 0) return { removed: false, path: real, branch, reasons };
	}
	if (options.dryRun) return { removed: false, path: real, branch, reasons: [] };

	const mainFolder = await mainWorktreeOf(git);
	await withKeyLock(`git:${commonDir}`, () =>
		retryWhileLocked(() =>
			gitAt(mainFolder).raw(['worktree', 'remove', ...(options.force ? ['--force'] : []), real]),
		),
	).catch((error) => {
		throw gitFailure(`Could not remove worktree ${JSON.stringify(real)}`, error);
	});
	return { removed: true, path: real, branch, reasons: [] };
}

async function topLevelOf(folder: string, shown: string): Promise<string> {
	try {
		return await fs.realpath((await gitAt(folder).raw(['rev-parse', '--show-toplevel'])).trim());
	} catch (error) {
		throw gitFailure(
			`Base repository ${JSON.stringify(shown)} is not inside a git repository with a working folder (run git init and commit, or pick another folder)`,
			error,
			[],
			'invalid_input',
		);
	}
}

async function commonDirOf(git: SimpleGit): Promise<string> {
	return absoluteRevParse(git, '--git-common-dir');
}

async function absoluteRevParse(git: SimpleGit, flag: string): Promise<string> {
	return fs.realpath((await git.raw(['rev-parse', '--path-format=absolute', flag])).trim());
}

async function mainWorktreeOf(git: SimpleGit): Promise<string> {
	const first = (await git.raw(['worktree', 'list', '--porcelain'])).split('\n')[0] ?? '';
	if (!first.startsWith('worktree '))
		throw new WorkspaceError('git worktree list gave no main worktree.', 'git_failed');
	return first.slice('worktree '.length);
}

/** Checks a stored worktree still exists and still belongs to a repository under the allowed roots. */
export async function reopenWorktree(
	storedPath: string,
	allowedRoots: readonly string[],
): Promise<string> {
	const { requested, real } = await existingPath(
		storedPath,
		'Worktree folder',
		(given) =>
			`The worktree folder ${JSON.stringify(given)} of this session no longer exists (it was removed or moved). ` +
			'Start a new session, or recreate the worktree to resume.',
	);
	let commonDir: string;
	try {
		commonDir = await commonDirOf(gitAt(real));
	} catch (error) {
		throw gitFailure(
			`The worktree folder ${JSON.stringify(requested)} is no longer a git worktree`,
			error,
			[],
			'not_found',
		);
	}
	const roots = await resolveAllowedRoots(allowedRoots);
	if (!roots.roots.some((root) => isInside(commonDir, root))) {
		throw new WorkspaceError(
			`The worktree ${JSON.stringify(requested)} belongs to a repository outside the allowed roots (${describeRoots(roots)}).`,
			'outside_roots',
		);
	}
	return real;
}
