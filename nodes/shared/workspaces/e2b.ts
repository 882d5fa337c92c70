import type { E2bSandbox, E2bSdk } from './e2b-sdk';
import { exitResultOf, isAuthenticationError, isSandboxGone, realE2bSdk } from './e2b-sdk';
import { E2bLauncher, keepAlive } from './e2b-launcher';
import { WorkspaceError } from './errors';
import { DEFAULT_REMOTE_BASE_URL, gitAuthEnv } from './github';
import { shellQuote } from './shell-quote';
import {
	validateBranch,
	validateRemoteBaseUrl,
	validateRepository,
	validateSandboxId,
	validateSandboxPath,
	validateSessionId,
	validateToken,
} from './validate';

// An E2B workspace is a whole sandbox per session: claude runs in it, the repository is cloned in it,
// and it stays alive for `idleTimeoutMs` after the last run so Claude Resume can continue there.

export const DEFAULT_E2B_IDLE_TIMEOUT_MS = 15 * 60_000;
/** Setup commands (clone, mkdir) get this long; claude itself runs without a limit. */
const SETUP_TIMEOUT_MS = 10 * 60_000;

export interface CreateE2bWorkspaceOptions {
	sessionId: string;
	apiKey: string;
	/** Template with claude installed; E2B's default (`base`) has no claude. */
	template?: string;
	idleTimeoutMs?: number;
	/** `owner/repo` to clone inside the sandbox. */
	repository?: string;
	branch?: string;
	githubToken?: string;
	shallow?: boolean;
	remoteBaseUrl?: string;
	publicUrl?: string;
	sdk?: E2bSdk;
}

export interface E2bWorkspace {
	sandboxId: string;
	/** The working folder inside the sandbox. */
	path: string;
	repository?: string;
	branch?: string;
	launcher: E2bLauncher;
}

export async function createE2bWorkspace(
	options: CreateE2bWorkspaceOptions,
): Promise<E2bWorkspace> {
	// Everything is checked before a sandbox (which costs money) exists.
	const sessionId = validateSessionId(options.sessionId);
	const apiKey = validateToken(options.apiKey, 'E2B API key');
	const repo = options.repository ? validateRepository(options.repository) : undefined;
	const branch = options.branch ? validateBranch(options.branch) : undefined;
	if (branch && !repo)
		throw new WorkspaceError(
			'A branch was given without a repository to clone; add the repository or clear the branch.',
		);
	const token = options.githubToken
		? validateToken(options.githubToken, 'GitHub token')
		: undefined;
	const base = validateRemoteBaseUrl(options.remoteBaseUrl ?? DEFAULT_REMOTE_BASE_URL);
	const idle = validateIdle(options.idleTimeoutMs);
	const sdk = options.sdk ?? realE2bSdk;

	let sandbox: E2bSandbox;
	try {
		sandbox = await sdk.create({
			apiKey,
			timeoutMs: idle,
			metadata: {
				sessionId,
				createdBy: 'n8n-nodes-claude-orchestrator',
				...(repo ? { repository: repo.fullName } : {}),
			},
			...(options.template ? { template: options.template } : {}),
		});
	} catch (error) {
		throw sdkFailure(
			`Could not create an E2B sandbox${options.template ? ` from template ${JSON.stringify(options.template)}` : ''}`,
			error,
		);
	}

	const heartbeat = keepAlive(sandbox, idle);
	try {
		const home = (
			await runChecked(sandbox, `printf '%s' "$HOME"`, {}, 'read the sandbox home folder')
		).stdout.trim();
		const workdir = validateSandboxPath(`${home || '/home/user'}/workspace`);
		let checkedOut: string | undefined;
		if (repo) {
			const url = `${base}/${repo.owner}/${repo.name}.git`;
			// The token reaches git through its environment (GIT_CONFIG_*), never the URL or the command line.
			const envs = { GIT_TERMINAL_PROMPT: '0', ...gitAuthEnv(base, token) };
			const secrets = token
				? [token, Buffer.from(`x-access-token:${token}`).toString('base64')]
				: [];
			let onRemote = false;
			if (branch) {
				const probe = await run(
					sandbox,
					`git ls-remote --exit-code --heads ${shellQuote(url)} ${shellQuote(`refs/heads/${branch}`)}`,
					{ envs },
				);
				if (probe.exitCode !== 0 && probe.exitCode !== 2) {
					throw commandFailure(
						`Could not read ${repo.fullName} from inside the sandbox (check the GitHub token's access)`,
						probe,
						secrets,
						'auth_failed',
					);
				}
				onRemote = probe.exitCode === 0;
			}
			const clone = ['git', 'clone'];
			if (options.shallow !== false) clone.push('--depth', '1');
			if (branch && onRemote) clone.push('--branch', branch);
			clone.push('--', url, workdir);
			const cloned = await run(sandbox, clone.map(shellQuote).join(' '), { envs });
			if (cloned.exitCode !== 0) {
				throw commandFailure(
					`Could not clone ${repo.fullName} inside the sandbox (check the repository name and token)`,
					cloned,
					secrets,
					'auth_failed',
				);
			}
			if (branch && !onRemote) {
				await runChecked(
					sandbox,
					`git checkout -b ${shellQuote(branch)}`,
					{ cwd: workdir },
					`create branch ${branch}`,
				);
			}
			checkedOut = (
				await runChecked(
					sandbox,
					'git rev-parse --abbrev-ref HEAD',
					{ cwd: workdir },
					'read the branch',
				)
			).stdout.trim();
		} else {
			await runChecked(
				sandbox,
				`mkdir -p -- ${shellQuote(workdir)}`,
				{},
				'create the working folder',
			);
		}
		await sandbox.setTimeout(idle);
		return {
			sandboxId: sandbox.sandboxId,
			path: workdir,
			repository: repo?.fullName,
			branch: checkedOut,
			launcher: new E2bLauncher(sandbox, { idleTimeoutMs: idle, publicUrl: options.publicUrl }),
		};
	} catch (error) {
		// A sandbox nobody will use still bills until its timeout: remove it now.
		await sandbox.kill().catch(() => undefined);
		if (error instanceof WorkspaceError) throw error;
		throw sdkFailure(`Could not prepare E2B sandbox ${sandbox.sandboxId}`, error);
	} finally {
		heartbeat.stop();
	}
}

export interface ReconnectE2bOptions {
	sandboxId: string;
	path: string;
	apiKey: string;
	idleTimeoutMs?: number;
	publicUrl?: string;
	sdk?: E2bSdk;
	repository?: string;
	branch?: string;
}

/** For Resume: reconnects to the session's sandbox by id; a clear error if it expired. */
export async function reconnectE2bWorkspace(options: ReconnectE2bOptions): Promise<E2bWorkspace> {
	const sandboxId = validateSandboxId(options.sandboxId);
	const workdir = validateSandboxPath(options.path);
	const apiKey = validateToken(options.apiKey, 'E2B API key');
	const idle = validateIdle(options.idleTimeoutMs);
	const sdk = options.sdk ?? realE2bSdk;
	let sandbox: E2bSandbox;
	try {
		sandbox = await sdk.connect(sandboxId, { apiKey, timeoutMs: idle });
		await sandbox.setTimeout(idle);
	} catch (error) {
		if (isSandboxGone(error)) {
			throw new WorkspaceError(
				`The E2B sandbox ${sandboxId} of this session no longer exists: it expired after being idle longer than its idle timeout, ` +
					'or was stopped. Its files are gone with it; start a new session (raise the idle timeout to resume later).',
				'sandbox_gone',
				{ cause: error },
			);
		}
		throw sdkFailure(`Could not reconnect to E2B sandbox ${sandboxId}`, error);
	}
	const check = await run(sandbox, `test -d ${shellQuote(workdir)}`, {});
	if (check.exitCode !== 0) {
		throw new WorkspaceError(
			`The working folder ${workdir} no longer exists in E2B sandbox ${sandboxId}. Start a new session.`,
			'not_found',
		);
	}
	return {
		sandboxId,
		path: workdir,
		repository: options.repository,
		branch: options.branch,
		launcher: new E2bLauncher(sandbox, { idleTimeoutMs: idle, publicUrl: options.publicUrl }),
	};
}

interface CommandOutcome {
	exitCode: number;
	stdout: string;
	stderr: string;
}

async function run(
	sandbox: E2bSandbox,
	cmd: string,
	opts: { cwd?: string; envs?: Record<string, string> },
): Promise<CommandOutcome> {
	let stdout = '';
	let stderr = '';
	const handle = await sandbox.commands.run(cmd, {
		background: true,
		...opts,
		timeoutMs: SETUP_TIMEOUT_MS,
		onStdout: (data) => {
			stdout += data;
		},
		onStderr: (data) => {
			stderr += data;
		},
	});
	try {
		const result = await handle.wait();
		return { exitCode: result.exitCode, stdout, stderr };
	} catch (error) {
		const exit = exitResultOf(error);
		if (!exit) throw error;
		return { exitCode: exit.exitCode, stdout, stderr };
	}
}

/** Short commands (setup steps, not claude) with their output collected. */
export { run as runInSandbox };

async function runChecked(
	sandbox: E2bSandbox,
	cmd: string,
	opts: { cwd?: string; envs?: Record<string, string> },
	what: string,
): Promise<CommandOutcome> {
	const outcome = await run(sandbox, cmd, opts);
	if (outcome.exitCode !== 0)
		throw commandFailure(
			`Could not ${what} in E2B sandbox ${sandbox.sandboxId}`,
			outcome,
			[],
			'sandbox_failed',
		);
	return outcome;
}

function commandFailure(
	what: string,
	outcome: CommandOutcome,
	secrets: string[],
	code: 'auth_failed' | 'sandbox_failed',
): WorkspaceError {
	let detail = (outcome.stderr || outcome.stdout).trim();
	for (const secret of secrets) if (secret) detail = detail.split(secret).join('***');
	return new WorkspaceError(`${what}: ${detail || `exit code ${outcome.exitCode}`}`, code);
}

function sdkFailure(what: string, error: unknown): WorkspaceError {
	const message = error instanceof Error ? error.message : String(error);
	if (isAuthenticationError(error)) {
		return new WorkspaceError(
			`${what}: E2B refused the API key. Check the E2B API key field (keys start with e2b_).`,
			'auth_failed',
			{ cause: error },
		);
	}
	return new WorkspaceError(`${what}: ${message}`, 'sandbox_failed', { cause: error });
}

function validateIdle(value: number | undefined): number {
	if (value === undefined) return DEFAULT_E2B_IDLE_TIMEOUT_MS;
	if (!Number.isFinite(value) || value <= 0 || value > 24 * 3_600_000) {
		throw new WorkspaceError(
			`E2B idle timeout ${value} ms is out of range: use more than 0 and at most 24 hours (86400000 ms).`,
		);
	}
	return Math.floor(value);
}
