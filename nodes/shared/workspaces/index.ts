import { existsSync } from 'node:fs';
import os from 'node:os';
import { RUN_WORKSPACE_TYPES } from '../protocol/sessions';
import type { PreparedWorkspace, ProcessLauncher, WorkspaceType } from '../runner/types';
import { createE2bWorkspace, reconnectE2bWorkspace, type E2bWorkspace } from './e2b';
import type { E2bSdk } from './e2b-sdk';
import { WorkspaceError } from './errors';
import { cloneGithubRepository, reopenClone, type CloneGithubOptions } from './github';
import { resolveFolderInRoots } from './local';
import { createWorktree, reopenWorktree } from './worktree';

// Where a session runs: the node asks for a workspace by type and gets a folder plus the launcher that
// starts claude there. Everything a user typed is validated inside the type-specific modules.

export interface WorkspaceRequest {
	type: WorkspaceType;
	sessionId: string;
	/** local: the folder to run in (must be inside an allowed root). worktree: accepted as the base repository. */
	workspacePath?: string;
	/** worktree: a folder inside the git repository to branch from. */
	baseRepository?: string;
	/** github / e2b: `owner/repo` or https://github.com/owner/repo. */
	repository?: string;
	/** worktree: the new branch (default `claude/<id>`); github / e2b: checked out, or created if not on the remote. */
	branch?: string;
	githubToken?: string;
	/** github / e2b: clone with `--depth 1` (default true). */
	shallow?: boolean;
	e2b?: { apiKey: string; template?: string; idleTimeoutMs?: number };
}

export interface WorkspaceDeps {
	/** Folders that local workspaces and worktree base repositories must be inside (symlinks resolved). */
	allowedRoots: string[];
	/** GitHub session folders: `<workspacesDir>/<sessionId>`. */
	workspacesDir: string;
	/** Repository mirrors: `<cacheDir>/<owner>/<repo>.git`. */
	cacheDir: string;
	/** The runner's local ProcessLauncher (nodes/shared/runner/local-launcher.ts), used for every non-E2B type. */
	localLauncher: ProcessLauncher;
	/** Default https://github.com; tests and GitHub mirrors point it elsewhere. */
	remoteBaseUrl?: string;
	/** Default: the real `e2b` SDK. */
	e2bSdk?: E2bSdk;
	/** PUBLIC_URL of the service, for hooks called from inside E2B sandboxes. */
	publicUrl?: string;
	/** Folder for worktrees; default `<base>/../.claude-worktrees/<repo folder name>`. */
	worktreesDir?: string;
}

/** What the service stores about a session's workspace, enough to find it again on Resume. */
export interface StoredWorkspace {
	type: WorkspaceType;
	path: string;
	branch?: string;
	repository?: string;
	sandboxId?: string;
	/** e2b only: the key is not stored by the service, the Resume node passes it from its credential. */
	e2b?: { apiKey: string; idleTimeoutMs?: number };
	/** github: to clone the repository again when this worker does not have the session's folder. */
	sessionId?: string;
	githubToken?: string;
	shallow?: boolean;
}

/**
 * Another worker ran the earlier turns, and the folder is not here. Local folders and worktrees cannot be made
 * again: they must be on storage every worker shares, at the same path.
 */
function notOnThisWorker(kind: string, folder: string, cause?: unknown): WorkspaceError {
	return new WorkspaceError(
		`The ${kind} ${JSON.stringify(folder)} of this session does not exist on this worker (host ${os.hostname()}): ` +
			'it was removed or moved, or it is on the disk of another worker. Local-folder and worktree sessions need storage that every n8n worker shares, mounted at the same path; ' +
			'mount it on this worker (or restore the folder) to resume, or start a new session.',
		'not_found',
		cause === undefined ? undefined : { cause },
	);
}

export async function prepareWorkspace(
	request: WorkspaceRequest,
	deps: WorkspaceDeps,
): Promise<PreparedWorkspace> {
	switch (request.type) {
		case 'local': {
			refuseFields(request, ['repository', 'branch', 'baseRepository'], 'local');
			if (!request.workspacePath)
				throw new WorkspaceError(
					'Workspace folder is empty: a local session needs the folder to run in.',
				);
			const path = await resolveFolderInRoots(request.workspacePath, deps.allowedRoots);
			return { type: 'local', path, launcher: deps.localLauncher };
		}
		case 'worktree': {
			const base = request.baseRepository || request.workspacePath;
			if (!base)
				throw new WorkspaceError(
					'Base repository is empty: a worktree session needs the folder of a git repository.',
				);
			const worktree = await createWorktree({
				baseRepository: base,
				sessionId: request.sessionId,
				branch: request.branch || undefined,
				worktreesDir: deps.worktreesDir,
				allowedRoots: deps.allowedRoots,
			});
			return {
				type: 'worktree',
				path: worktree.path,
				branch: worktree.branch,
				launcher: deps.localLauncher,
			};
		}
		case 'github': {
			if (!request.repository)
				throw new WorkspaceError('Repository is empty: a GitHub session needs owner/repo.');
			return githubClone(
				{
					repository: request.repository,
					sessionId: request.sessionId,
					branch: request.branch || undefined,
					token: request.githubToken || undefined,
					shallow: request.shallow,
				},
				deps,
			);
		}
		case 'e2b': {
			if (!request.e2b?.apiKey)
				throw new WorkspaceError('E2B API key is missing: add it to the E2B settings of the node.');
			const sandbox = await createE2bWorkspace({
				sessionId: request.sessionId,
				apiKey: request.e2b.apiKey,
				template: request.e2b.template || undefined,
				idleTimeoutMs: request.e2b.idleTimeoutMs,
				repository: request.repository || undefined,
				branch: request.branch || undefined,
				githubToken: request.githubToken || undefined,
				shallow: request.shallow,
				remoteBaseUrl: deps.remoteBaseUrl,
				publicUrl: deps.publicUrl,
				sdk: deps.e2bSdk,
			});
			return fromSandbox(sandbox);
		}
		default:
			throw new WorkspaceError(
				`Workspace type ${JSON.stringify((request as { type: unknown }).type)} is not known; use ${RUN_WORKSPACE_TYPES.slice(0, -1).join(', ')} or ${RUN_WORKSPACE_TYPES.at(-1)}.`,
			);
	}
}

/** Finds a session's workspace again for Resume, or says clearly why it cannot. */
export async function reopenWorkspace(
	stored: StoredWorkspace,
	deps: WorkspaceDeps,
): Promise<PreparedWorkspace> {
	const { branch, repository } = stored;
	switch (stored.type) {
		case 'local': {
			const path = await resolveFolderInRoots(stored.path, deps.allowedRoots).catch(
				(error: unknown) => {
					if (error instanceof WorkspaceError && error.code === 'not_found')
						throw notOnThisWorker('workspace folder', stored.path, error);
					throw error;
				},
			);
			return { type: 'local', path, launcher: deps.localLauncher };
		}
		case 'worktree':
			if (!existsSync(stored.path)) throw notOnThisWorker('worktree folder', stored.path);
			return {
				type: 'worktree',
				path: await reopenWorktree(stored.path, deps.allowedRoots),
				branch,
				launcher: deps.localLauncher,
			};
		case 'github':
			if (!existsSync(stored.path)) return recloneGithub(stored, deps);
			return {
				type: 'github',
				path: await reopenClone(stored.path, deps.workspacesDir),
				branch,
				repository,
				launcher: deps.localLauncher,
			};
		case 'e2b': {
			if (!stored.sandboxId)
				throw new WorkspaceError(
					'This session has no E2B sandbox id recorded, so it cannot be resumed in its sandbox.',
					'not_found',
				);
			if (!stored.e2b?.apiKey)
				throw new WorkspaceError(
					'E2B API key is missing: the Resume node needs the same E2B credential as the session.',
				);
			const sandbox = await reconnectE2bWorkspace({
				sandboxId: stored.sandboxId,
				path: stored.path,
				apiKey: stored.e2b.apiKey,
				idleTimeoutMs: stored.e2b.idleTimeoutMs,
				publicUrl: deps.publicUrl,
				sdk: deps.e2bSdk,
				repository,
				branch,
			});
			return fromSandbox(sandbox);
		}
		default:
			throw new WorkspaceError(
				`Stored workspace type ${JSON.stringify((stored as { type: unknown }).type)} is not known.`,
			);
	}
}

/**
 * A GitHub session whose folder is not on this worker (another worker ran the earlier turns, or it was cleaned
 * up): clone again through the mirror cache and check out the session's branch as the remote has it. What the
 * earlier worker never pushed is gone, and the run's output says so.
 */
async function recloneGithub(
	stored: StoredWorkspace,
	deps: WorkspaceDeps,
): Promise<PreparedWorkspace> {
	if (!stored.repository || !stored.sessionId) {
		throw new WorkspaceError(
			`The session folder ${JSON.stringify(stored.path)} does not exist on this worker (host ${os.hostname()}), and no repository is recorded to clone again.`,
			'not_found',
		);
	}
	const clone = await githubClone(
		{
			repository: stored.repository,
			sessionId: stored.sessionId,
			branch: stored.branch,
			token: stored.githubToken || undefined,
			shallow: stored.shallow,
		},
		deps,
	);
	return {
		...clone,
		notice:
			`The session folder ${JSON.stringify(stored.path)} was not on this worker (host ${os.hostname()}), so ${clone.repository} was cloned again ` +
			`and branch ${clone.branch} checked out as the remote has it. Uncommitted or unpushed work from the earlier turns could not be recovered.`,
	};
}

/** A clone of a GitHub repository in the session's folder (through this worker's mirror cache), run locally. */
async function githubClone(
	clone: Omit<CloneGithubOptions, 'remoteBaseUrl' | 'cacheDir' | 'workspacesDir'>,
	deps: WorkspaceDeps,
): Promise<PreparedWorkspace & { branch: string; repository: string }> {
	const { path, branch, repository } = await cloneGithubRepository({
		...clone,
		remoteBaseUrl: deps.remoteBaseUrl,
		cacheDir: deps.cacheDir,
		workspacesDir: deps.workspacesDir,
	});
	return { type: 'github', path, branch, repository, launcher: deps.localLauncher };
}

function fromSandbox(sandbox: E2bWorkspace): PreparedWorkspace {
	return {
		type: 'e2b',
		path: sandbox.path,
		sandboxId: sandbox.sandboxId,
		branch: sandbox.branch,
		repository: sandbox.repository,
		launcher: sandbox.launcher,
	};
}

function refuseFields(
	request: WorkspaceRequest,
	fields: Array<keyof WorkspaceRequest>,
	type: string,
): void {
	const given = fields.filter(
		(field) => typeof request[field] === 'string' && request[field] !== '',
	);
	if (given.length > 0) {
		throw new WorkspaceError(
			`A ${type} workspace runs in the folder as it is; ${given.join(' and ')} cannot be used with it. Clear them or pick another workspace type.`,
		);
	}
}

export { WorkspaceError } from './errors';
export type { WorkspaceErrorCode } from './errors';
export { cleanupWorktree, createWorktree } from './worktree';
export type {
	CleanupWorktreeOptions,
	CleanupWorktreeResult,
	CreateWorktreeOptions,
	CreatedWorktree,
} from './worktree';
export { cloneGithubRepository, gitAuthEnv, DEFAULT_REMOTE_BASE_URL } from './github';
export type { CloneGithubOptions, ClonedRepository } from './github';
export { createE2bWorkspace, reconnectE2bWorkspace, DEFAULT_E2B_IDLE_TIMEOUT_MS } from './e2b';
export type { CreateE2bWorkspaceOptions, ReconnectE2bOptions, E2bWorkspace } from './e2b';
export { E2bLauncher } from './e2b-launcher';
export type { E2bLauncherOptions } from './e2b-launcher';
export { realE2bSdk } from './e2b-sdk';
export type { E2bSdk, E2bSandbox, E2bCommandHandle } from './e2b-sdk';
export { hookUrlForSandbox } from './hook-url';
export type { HookUrlOptions } from './hook-url';
export { resolveFolderInRoots } from './local';
export { shellQuote, commandLine } from './shell-quote';
export {
	validateBranch,
	validateRepository,
	validateSessionId,
	validateSandboxId,
	validateAbsolutePath,
	validateSandboxPath,
	validateToken,
	validateRemoteBaseUrl,
} from './validate';
export type { GithubRepository } from './validate';
