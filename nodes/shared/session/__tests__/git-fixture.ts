import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: 'pipe' }).toString().trim();

/** A git repository with one commit (README.md) on main: the base for worktrees and bare "GitHub" remotes. */
export function makeRepo(dir: string): string {
	fs.mkdirSync(dir, { recursive: true });
	git(dir, 'init', '-q', '-b', 'main');
	fs.writeFileSync(path.join(dir, 'README.md'), '# app\n');
	git(dir, '-c', 'user.email=t@t', '-c', 'user.name=t', 'add', '.');
	git(dir, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init');
	return dir;
}
