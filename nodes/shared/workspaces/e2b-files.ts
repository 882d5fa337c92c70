import type { E2bSandbox } from './e2b-sdk';
import { isFileMissing } from './e2b-sdk';
import { sandboxEnv } from './e2b-launcher';
import { WorkspaceError } from './errors';
import { runInSandbox } from './e2b';

// Files the runner moves between the service and a sandbox: Claude Code's conversation of the session,
// kept inside the sandbox by the claude that runs there.

/** Claude Code's config folder inside the sandbox, as claude launched there with `env` sees it. */
export async function sandboxClaudeConfigDir(
	sandbox: E2bSandbox,
	env: Record<string, string>,
): Promise<string> {
	const outcome = await runInSandbox(
		sandbox,
		`printf '%s' "\${CLAUDE_CONFIG_DIR:-$HOME/.claude}"`,
		{ envs: sandboxEnv(env) },
	);
	const dir = outcome.stdout.trim();
	if (outcome.exitCode !== 0 || !dir.startsWith('/')) {
		throw new WorkspaceError(
			`Could not find Claude Code's config folder in E2B sandbox ${sandbox.sandboxId}: ${outcome.stderr.trim() || JSON.stringify(dir)}`,
			'sandbox_failed',
		);
	}
	return dir;
}

/** The file's bytes, or undefined when the sandbox has no such file. */
export async function readSandboxFile(
	sandbox: E2bSandbox,
	file: string,
): Promise<Buffer | undefined> {
	try {
		return Buffer.from(await sandbox.files.read(file, { format: 'bytes' }));
	} catch (error) {
		if (isFileMissing(error)) return undefined;
		throw error;
	}
}

export async function writeSandboxFile(
	sandbox: E2bSandbox,
	file: string,
	data: Buffer,
): Promise<void> {
	// A fresh ArrayBuffer holding exactly these bytes (a Buffer may be a view into a larger pool).
	await sandbox.files.write(file, Uint8Array.from(data).buffer);
}
