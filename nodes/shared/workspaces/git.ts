import { simpleGit, type SimpleGit } from 'simple-git';
import { WorkspaceError, type WorkspaceErrorCode } from './errors';

// Every git call in the workspaces goes through here: simple-git spawns git with an argument array
// (no shell), keeps its `unsafe` guards at their defaults (they refuse --upload-pack, -c core.sshCommand,
// ext:: and friends even if a value slipped through our validators), and gets an environment that
// never prompts.

// simple-git strips or refuses these when they arrive through .env(); we drop them ourselves so the
// ambient environment of n8n (a GIT_DIR from a hook, an EDITOR) never leaks into a session's git.
const GUARDED_ENV = new Set(['editor', 'pager', 'prefix', 'ssh_askpass', 'visual']);

function gitEnvironment(): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [key, value] of Object.entries(process.env)) {
		const lower = key.toLowerCase();
		if (lower.startsWith('git_') || GUARDED_ENV.has(lower)) continue;
		env[key] = value;
	}
	// A credential prompt would hang a headless run forever; fail instead.
	env.GIT_TERMINAL_PROMPT = '0';
	env.GCM_INTERACTIVE = 'never';
	// Messages are matched (lock files, missing branches), so they must not be translated.
	env.LC_ALL = 'C';
	env.LANG = 'C';
	return env;
}

export interface GitOptions {
	/** Extra environment variables (not GIT_*), e.g. a secret that `--config-env` points git at. */
	env?: Record<string, string>;
}

export function gitAt(baseDir: string, options: GitOptions = {}): SimpleGit {
	return simpleGit({
		baseDir,
		allowEnvironment: ['GIT_TERMINAL_PROMPT'],
		maxConcurrentProcesses: 4,
	}).env({ ...gitEnvironment(), ...options.env });
}

/** Wraps a git failure into a WorkspaceError, with any secret removed from git's own words. */
export function gitFailure(
	what: string,
	error: unknown,
	secrets: string[] = [],
	code: WorkspaceErrorCode = 'git_failed',
): WorkspaceError {
	let detail = (error instanceof Error ? error.message : String(error)).trim();
	for (const secret of secrets) if (secret) detail = detail.split(secret).join('***');
	return new WorkspaceError(`${what}: ${detail || 'git failed without a message'}`, code, {
		cause: error,
	});
}
