import os from 'node:os';
import path from 'node:path';

// Where sessions may run is decided by whoever runs n8n, not by workflow authors: it comes from n8n's
// environment. Defaults keep everything under the n8n user's home. The nodes read these variables and the
// service's `doctor` checks them, so both read them here.
export interface OrchestratorSettings {
	allowedRoots: string[];
	workspacesDir: string;
	cacheDir: string;
	worktreesDir?: string;
	githubBaseUrl?: string;
	e2bApiKey?: string;
}

export function orchestratorSettings(env: NodeJS.ProcessEnv = process.env): OrchestratorSettings {
	const home = env.CLAUDE_ORCHESTRATOR_HOME || path.join(os.homedir(), '.claude-orchestrator');
	const list = (value: string | undefined) =>
		(value ?? '')
			.split(path.delimiter)
			.flatMap((v) => v.split(','))
			.map((v) => v.trim())
			.filter(Boolean);
	const roots = list(env.CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS);
	return {
		allowedRoots: roots.length ? roots : [path.join(home, 'projects')],
		workspacesDir: env.CLAUDE_ORCHESTRATOR_WORKSPACES_DIR || path.join(home, 'workspaces'),
		cacheDir: env.CLAUDE_ORCHESTRATOR_CACHE_DIR || path.join(home, 'cache'),
		worktreesDir: env.CLAUDE_ORCHESTRATOR_WORKTREES_DIR || undefined,
		githubBaseUrl: env.CLAUDE_ORCHESTRATOR_GITHUB_URL || undefined,
		e2bApiKey: env.E2B_API_KEY || undefined,
	};
}
