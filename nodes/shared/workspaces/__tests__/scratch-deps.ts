import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ProcessLauncher } from '../../runner/types';
import type { WorkspaceDeps } from '../index';

/**
 * Workspace deps inside the scratch folder `dir`, for suites that prepare workspaces and launch nothing: `root` the
 * one allowed root, GitHub read from `<dir>/remotes` (file://), clones and mirrors in `<dir>/workspaces` and
 * `<dir>/cache`.
 */
export function scratchDeps(
	dir: string,
	root: string,
	extra: Partial<WorkspaceDeps> = {},
): WorkspaceDeps {
	const localLauncher: ProcessLauncher = {
		launch: () => Promise.reject(new Error('nothing is launched here')),
	};
	return {
		allowedRoots: [root],
		workspacesDir: path.join(dir, 'workspaces'),
		cacheDir: path.join(dir, 'cache'),
		localLauncher,
		remoteBaseUrl: pathToFileURL(path.join(dir, 'remotes')).href,
		...extra,
	};
}
