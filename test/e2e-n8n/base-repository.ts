import { makeRepo } from '../support/git';

/** A git repository with one commit: what the templates' worktree sessions branch from. */
export function createBaseRepository(dir: string): string {
	return makeRepo(
		dir,
		'# e2e app\n\nThe repository Claude sessions branch from in the e2e suite.\n',
	);
}
