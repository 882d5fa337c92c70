import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

// Real repositories for the tests, made with the real git binary: one identity, no system or user config (a
// developer's hooks, signing or default branch must not change what a test sees).

const IDENTITY = {
	GIT_AUTHOR_NAME: 'Test',
	GIT_AUTHOR_EMAIL: 'test@example.invalid',
	GIT_COMMITTER_NAME: 'Test',
	GIT_COMMITTER_EMAIL: 'test@example.invalid',
	GIT_CONFIG_NOSYSTEM: '1',
	GIT_CONFIG_GLOBAL: '/dev/null',
};

/** Runs git in `cwd` and returns its trimmed stdout; throws with git's stderr when it fails. Bounded: 60 s. */
export function git(cwd: string, ...args: string[]): string {
	return execFileSync('git', args, {
		cwd,
		env: { ...process.env, ...IDENTITY },
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'pipe'],
		timeout: 60_000,
	}).trim();
}

export function commitFile(
	repo: string,
	name: string,
	content: string | Buffer,
	message = `add ${name}`,
): void {
	mkdirSync(path.dirname(path.join(repo, name)), { recursive: true });
	writeFileSync(path.join(repo, name), content);
	git(repo, 'add', '--', name);
	git(repo, 'commit', '-q', '-m', message);
}

/** A work repository on `main` with one commit, its README.md. */
export function makeRepo(dir: string, readme = '# test\n'): string {
	mkdirSync(dir, { recursive: true });
	git(dir, 'init', '-q', '-b', 'main');
	commitFile(dir, 'README.md', readme, 'initial');
	return dir;
}

/** `makeRepo`, pushed to a new bare repository `origin` (its remote "origin"). */
export function makeRepoWithOrigin(
	dir: string,
	origin: string,
	readme?: string,
): { path: string; origin: string } {
	makeRepo(dir, readme);
	mkdirSync(path.dirname(origin), { recursive: true });
	git(path.dirname(origin), 'init', '-q', '--bare', '-b', 'main', origin);
	git(dir, 'remote', 'add', 'origin', origin);
	git(dir, 'push', '-q', 'origin', 'main');
	return { path: dir, origin };
}

/** A bare clone of `repo` at `<remotes>/<owner>/<name>.git`: what a file:// remote base serves as GitHub's `owner/name`. */
export function bareClone(repo: string, remotes: string, repository: string): string {
	const bare = path.join(remotes, `${repository}.git`);
	mkdirSync(path.dirname(bare), { recursive: true });
	git(remotes, 'clone', '-q', '--bare', repo, bare);
	return bare;
}

export interface RemoteFixture {
	/** Holds `<owner>/<name>.git`, the folder a file:// or http remote base points at. */
	root: string;
	bare: string;
	/** A work clone to add commits to the remote with `pushCommit`. */
	work: string;
	pushCommit(name: string, content: string): void;
}

/**
 * A bare repository `<root>/<owner>/<name>.git` with `commits` commits on main (each adding a file of
 * `bytesPerCommit` random bytes, so clone times mean something) and a branch `feature/existing`.
 */
export function makeRemote(
	root: string,
	owner: string,
	name: string,
	commits = 3,
	bytesPerCommit = 64,
): RemoteFixture {
	const bare = path.join(root, owner, `${name}.git`);
	mkdirSync(path.dirname(bare), { recursive: true });
	git(root, 'init', '-q', '--bare', '-b', 'main', bare);
	const work = path.join(root, `.work-${owner}-${name}`);
	if (existsSync(work)) rmSync(work, { recursive: true, force: true });
	makeRepo(work);
	for (let i = 1; i < commits; i++)
		commitFile(work, `data/file-${i}.bin`, randomBytes(bytesPerCommit), `commit ${i}`);
	git(work, 'remote', 'add', 'origin', bare);
	git(work, 'push', '-q', 'origin', 'main');
	git(work, 'push', '-q', 'origin', 'main:refs/heads/feature/existing');
	return {
		root,
		bare,
		work,
		pushCommit(file: string, content: string) {
			commitFile(work, file, content);
			git(work, 'push', '-q', 'origin', 'main');
		},
	};
}
