import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

// Real repositories for the tests, made with the real git binary.

const IDENTITY = {
	GIT_AUTHOR_NAME: 'Test',
	GIT_AUTHOR_EMAIL: 'test@example.invalid',
	GIT_COMMITTER_NAME: 'Test',
	GIT_COMMITTER_EMAIL: 'test@example.invalid',
	GIT_CONFIG_NOSYSTEM: '1',
	GIT_CONFIG_GLOBAL: '/dev/null',
};

export function git(cwd: string, ...args: string[]): string {
	return execFileSync('git', args, { cwd, env: { ...process.env, ...IDENTITY }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A fresh, real-path temp folder and a function that removes it. */
export function tempDir(prefix: string): { dir: string; remove(): void } {
	const dir = realpathSync(mkdtempSync(path.join(tmpdir(), `${prefix}-`)));
	return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A marker path that an injected command would create; tests assert it never appears. */
export function pwnedMarker(): string {
	return path.join(tmpdir(), `pwned-${randomBytes(6).toString('hex')}`);
}

export function commitFile(repo: string, name: string, content: string | Buffer, message = `add ${name}`): void {
	mkdirSync(path.dirname(path.join(repo, name)), { recursive: true });
	writeFileSync(path.join(repo, name), content);
	git(repo, 'add', '--', name);
	git(repo, 'commit', '-q', '-m', message);
}

/** A work repository on `main` with one commit. */
export function makeRepo(dir: string): string {
	mkdirSync(dir, { recursive: true });
	git(dir, 'init', '-q', '-b', 'main');
	commitFile(dir, 'README.md', '# test\n', 'initial');
	return dir;
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
export function makeRemote(root: string, owner: string, name: string, commits = 3, bytesPerCommit = 64): RemoteFixture {
	const bare = path.join(root, owner, `${name}.git`);
	mkdirSync(path.dirname(bare), { recursive: true });
	git(root, 'init', '-q', '--bare', '-b', 'main', bare);
	const work = path.join(root, `.work-${owner}-${name}`);
	if (existsSync(work)) rmSync(work, { recursive: true, force: true });
	makeRepo(work);
	for (let i = 1; i < commits; i++) commitFile(work, `data/file-${i}.bin`, randomBytes(bytesPerCommit), `commit ${i}`);
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
