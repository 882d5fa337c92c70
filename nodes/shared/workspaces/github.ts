import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkspaceError } from './errors';
import { gitAt, gitFailure } from './git';
import { existingPath, isInside, pathExists as exists } from './local';
import { retryWhileLocked, withKeyLock } from './locks';
import {
	validateAbsolutePath,
	validateBranch,
	validateRemoteBaseUrl,
	validateRepository,
	validateSessionId,
	validateToken,
} from './validate';

// A GitHub session clones into its own folder. Clones go through a local mirror per repository, so
// the network is paid once; later sessions fetch only what changed and copy locally.
//
// The token never touches disk and never appears on a command line: git gets
// `--config-env=http.<remote>/.extraheader=<variable>` and the header itself in that environment
// variable, so it is set for that one git process only (not .git/config, not the remote URL, not argv,
// which any local user can read with ps). simple-git keeps its unsafe guards at their defaults: they
// refuse GIT_CONFIG_COUNT/GIT_CONFIG_PARAMETERS but allow --config-env for this key.

export const DEFAULT_REMOTE_BASE_URL = 'https://github.com';

export interface CloneGithubOptions {
	/** `owner/repo` or https://github.com/owner/repo(.git). */
	repository: string;
	sessionId: string;
	/** Checked out if it exists on the remote, otherwise created locally from the default branch. */
	branch?: string;
	token?: string;
	/** `--depth 1` (default true). */
	shallow?: boolean;
	/** Where `<owner>/<repo>.git` is fetched from; default https://github.com. */
	remoteBaseUrl?: string;
	/** Holds the mirrors: `<cacheDir>/<owner>/<repo>.git`. */
	cacheDir: string;
	/** Holds the session folders: `<workspacesDir>/<sessionId>`. */
	workspacesDir: string;
}

export interface ClonedRepository {
	path: string;
	/** `owner/repo`. */
	repository: string;
	branch: string;
	/** `created` the first time this machine saw the repository, `updated` when the mirror was reused. */
	mirror: 'created' | 'updated';
}

export async function cloneGithubRepository(
	options: CloneGithubOptions,
): Promise<ClonedRepository> {
	const repo = validateRepository(options.repository);
	const sessionId = validateSessionId(options.sessionId);
	const branch = options.branch ? validateBranch(options.branch) : undefined;
	const token = options.token ? validateToken(options.token, 'GitHub token') : undefined;
	const base = validateRemoteBaseUrl(options.remoteBaseUrl ?? DEFAULT_REMOTE_BASE_URL);
	const cacheDir = validateAbsolutePath(options.cacheDir, 'Clone cache folder');
	const workspacesDir = validateAbsolutePath(options.workspacesDir, 'Workspaces folder');
	const remoteUrl = `${base}/${repo.owner}/${repo.name}.git`;
	const auth = gitAuth(base, token);
	const secrets = token ? [token, auth.encoded] : [];

	await fs.mkdir(workspacesDir, { recursive: true });
	const target = path.join(workspacesDir, sessionId);
	// Claiming the folder with a plain mkdir is atomic: a second request for the same session fails here
	// instead of cloning over (or, on failure, deleting) the first one's folder.
	try {
		await fs.mkdir(target);
	} catch {
		throw new WorkspaceError(
			`The session folder ${JSON.stringify(target)} already exists; each session needs its own. Use a new session id.`,
			'already_exists',
		);
	}

	const mirrorPath = path.join(cacheDir, repo.owner, `${repo.name}.git`);
	try {
		// The session copy is taken under the same lock, so another session's fetch never prunes refs under it.
		return await withKeyLock(`mirror:${mirrorPath}`, async () => {
			const mirror = await refreshMirror(mirrorPath, remoteUrl, auth, secrets, repo.fullName);
			const onRemote = branch ? await refExists(mirrorPath, `refs/heads/${branch}`) : false;
			const args = ['clone'];
			if (options.shallow !== false) args.push('--depth', '1');
			if (branch && onRemote) args.push('--branch', branch);
			// file:// (not a plain path) so --depth is honoured and nothing is hard-linked to the mirror.
			args.push('--', pathToFileURL(mirrorPath).href, target);
			await gitAt(workspacesDir).raw(args);

			const git = gitAt(target);
			if (branch && !onRemote) await git.raw(['checkout', '-b', branch]);
			await git.raw(['remote', 'set-url', 'origin', remoteUrl]);
			const checkedOut = (await git.raw(['rev-parse', '--abbrev-ref', 'HEAD'])).trim();
			return {
				path: await fs.realpath(target),
				repository: repo.fullName,
				branch: checkedOut,
				mirror,
			};
		});
	} catch (error) {
		await fs.rm(target, { recursive: true, force: true });
		if (error instanceof WorkspaceError) throw error;
		throw gitFailure(`Could not create the session copy of ${repo.fullName}`, error, secrets);
	}
}

/** Creates the mirror on first use, otherwise fetches into it. Either way the caller's token is checked. */
async function refreshMirror(
	mirrorPath: string,
	remoteUrl: string,
	auth: GitAuth,
	secrets: string[],
	fullName: string,
): Promise<'created' | 'updated'> {
	// Fetching even when the mirror exists is also the access check: a session whose token cannot read a
	// private repository must not be served someone else's cached copy of it.
	if (await exists(path.join(mirrorPath, 'HEAD'))) {
		const git = gitAt(mirrorPath, { env: auth.env });
		try {
			await git.raw(['remote', 'set-url', 'origin', remoteUrl]);
			await retryWhileLocked(() => git.raw([...auth.args, 'remote', 'update', '--prune']));
		} catch (error) {
			throw describeFetchFailure(fullName, remoteUrl, error, secrets);
		}
		return 'updated';
	}
	await fs.mkdir(path.dirname(mirrorPath), { recursive: true });
	// Clone beside the final place and rename, so a crash or a second process never sees half a mirror.
	const partial = `${mirrorPath}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
	try {
		await gitAt(path.dirname(mirrorPath), { env: auth.env }).raw([
			...auth.args,
			'clone',
			'--mirror',
			'--',
			remoteUrl,
			partial,
		]);
	} catch (error) {
		await fs.rm(partial, { recursive: true, force: true });
		throw describeFetchFailure(fullName, remoteUrl, error, secrets);
	}
	try {
		await fs.rename(partial, mirrorPath);
	} catch (error) {
		// Another process finished first: its mirror is as good as ours.
		await fs.rm(partial, { recursive: true, force: true });
		if (!(await exists(path.join(mirrorPath, 'HEAD')))) throw error;
	}
	return 'created';
}

function describeFetchFailure(
	fullName: string,
	remoteUrl: string,
	error: unknown,
	secrets: string[],
): WorkspaceError {
	const message = error instanceof Error ? error.message : String(error);
	if (
		/could not read Username|Authentication failed|terminal prompts disabled|\b40[13]\b|not found|does not appear to be a git repository|Could not read from remote/i.test(
			message,
		)
	) {
		return gitFailure(
			`Could not read ${fullName} from ${remoteUrl}. Check the repository name and that the GitHub token has read access ` +
				'to it (a fine-grained token needs "Contents: read" for this repository; a private repository always needs a token)',
			error,
			secrets,
			'auth_failed',
		);
	}
	return gitFailure(`Could not fetch ${fullName} from ${remoteUrl}`, error, secrets);
}

async function refExists(gitDir: string, ref: string): Promise<boolean> {
	const out = await gitAt(gitDir).raw(['for-each-ref', '--format=%(refname)', ref]);
	return out.split('\n').includes(ref);
}

/** The variable that carries the header; any name outside git's own GIT_* namespace works. */
const AUTH_HEADER_ENV = 'CLAUDE_ORCHESTRATOR_GIT_AUTH_HEADER';

export interface GitAuth {
	/** Global git arguments (before the subcommand): name the variable, not the secret. */
	args: string[];
	env: Record<string, string>;
	encoded: string;
}

/**
 * Sends the token as a Basic auth header, scoped to the remote's address so git never offers it to
 * another host (a redirect, a submodule elsewhere). `x-access-token` works for classic, fine-grained
 * and GitHub App tokens.
 */
export function gitAuth(remoteBaseUrl: string, token: string | undefined): GitAuth {
	if (!token) return { args: [], env: {}, encoded: '' };
	const encoded = Buffer.from(`x-access-token:${token}`).toString('base64');
	return {
		args: [`--config-env=http.${remoteBaseUrl}/.extraheader=${AUTH_HEADER_ENV}`],
		env: { [AUTH_HEADER_ENV]: `Authorization: Basic ${encoded}` },
		encoded,
	};
}

/**
 * The same header as environment variables (GIT_CONFIG_COUNT/KEY/VALUE, git >= 2.31), for git processes
 * we do not start through simple-git: inside a sandbox, or claude's own `git push`. Scoped like above.
 */
export function gitAuthEnv(
	remoteBaseUrl: string,
	token: string | undefined,
): Record<string, string> {
	if (!token) return {};
	const encoded = Buffer.from(`x-access-token:${token}`).toString('base64');
	return {
		GIT_CONFIG_COUNT: '1',
		GIT_CONFIG_KEY_0: `http.${remoteBaseUrl}/.extraheader`,
		GIT_CONFIG_VALUE_0: `Authorization: Basic ${encoded}`,
	};
}

/** Checks a stored GitHub session folder still exists and is one of ours. */
export async function reopenClone(storedPath: string, workspacesDir: string): Promise<string> {
	const { requested, real } = await existingPath(
		storedPath,
		'Session folder',
		(given) =>
			`The session folder ${JSON.stringify(given)} no longer exists (it was deleted or cleaned up). ` +
			'Start a new session to clone the repository again.',
	);
	const root = await fs
		.realpath(validateAbsolutePath(workspacesDir, 'Workspaces folder'))
		.catch(() => workspacesDir);
	if (!isInside(real, root) || real === root) {
		throw new WorkspaceError(
			`The session folder ${JSON.stringify(requested)} is not inside the workspaces folder ${JSON.stringify(workspacesDir)}.`,
			'outside_roots',
		);
	}
	if (!(await exists(path.join(real, '.git')))) {
		throw new WorkspaceError(
			`The session folder ${JSON.stringify(requested)} is no longer a git clone.`,
			'not_found',
		);
	}
	return real;
}
