import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A git repository with one commit: what the templates' worktree sessions branch from. */
export function createBaseRepository(dir: string): string {
	fs.mkdirSync(dir, { recursive: true });
	fs.writeFileSync(path.join(dir, 'README.md'), '# e2e app\n\nThe repository Claude sessions branch from in the e2e suite.\n');
	const git = (...args: string[]) =>
		execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.test', '-c', 'init.defaultBranch=main', ...args], {
			cwd: dir,
			stdio: 'pipe',
			timeout: 30_000,
		});
	git('init', '-q');
	git('add', 'README.md');
	git('commit', '-q', '-m', 'initial commit');
	return dir;
}
