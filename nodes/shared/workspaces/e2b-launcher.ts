import type { LaunchSpec, ProcessLauncher, RunningProcess } from '../runner/types';
import type { E2bCommandHandle, E2bSandbox } from './e2b-sdk';
import { exitResultOf } from './e2b-sdk';
import { WorkspaceError } from './errors';
import { hookUrlForSandbox } from './hook-url';
import { Fanout } from '../runner/fanout';
import { LineSplitter } from '../runner/line-splitter';
import { commandLine } from './shell-quote';
import { validateSandboxPath } from './validate';

export interface E2bLauncherOptions {
	/** How long the sandbox stays alive after the last activity, so a Resume finds it. */
	idleTimeoutMs: number;
	/** PUBLIC_URL of the service, for hook URLs that must be reachable from inside the sandbox. */
	publicUrl?: string;
}

// Variables that describe the n8n host, not the sandbox: the sandbox's own (set by E2B and its login
// shell) must win, or claude would look for binaries under the host's PATH and write to the host's HOME.
const HOST_ONLY_ENV = new Set([
	'PATH',
	'HOME',
	'USER',
	'LOGNAME',
	'SHELL',
	'PWD',
	'OLDPWD',
	'SHLVL',
	'_',
	'TMPDIR',
	'TMP',
	'TEMP',
	'HOSTNAME',
]);

// envd reports a signal death as Go's ProcessState text, exit code -1.
const GO_SIGNAL_NAMES: Record<string, string> = {
	interrupt: 'SIGINT',
	terminated: 'SIGTERM',
	killed: 'SIGKILL',
	hangup: 'SIGHUP',
	quit: 'SIGQUIT',
	aborted: 'SIGABRT',
	'broken pipe': 'SIGPIPE',
};

/** Runs a command inside an E2B sandbox, behind the same interface as a local process. */
export class E2bLauncher implements ProcessLauncher {
	constructor(
		readonly sandbox: E2bSandbox,
		private readonly options: E2bLauncherOptions,
	) {}

	get sandboxId(): string {
		return this.sandbox.sandboxId;
	}

	/** The hook URL as claude inside this sandbox must call it. */
	hookUrl(url: string, serviceBaseUrl?: string): string {
		return hookUrlForSandbox(url, { publicUrl: this.options.publicUrl, serviceBaseUrl });
	}

	async launch(spec: LaunchSpec): Promise<RunningProcess> {
		const cwd = validateSandboxPath(spec.cwd);
		const line = commandLine(spec.command, spec.args);
		const lines = new Fanout<string>();
		const stderr = new Fanout<string>();
		const splitter = new LineSplitter((text) => lines.emit(text));
		const idle = this.options.idleTimeoutMs;

		// Reset the clock first: the sandbox may be close to its idle end when a Resume arrives.
		await this.sandbox.setTimeout(idle).catch((error: unknown) => {
			throw new WorkspaceError(
				`The E2B sandbox ${this.sandboxId} is not answering (${describe(error)}); it may have expired. Start a new session.`,
				'sandbox_gone',
				{ cause: error },
			);
		});
		const heartbeat = keepAlive(this.sandbox, idle);
		let handle: E2bCommandHandle;
		try {
			handle = await this.sandbox.commands.run(line, {
				background: true,
				cwd,
				envs: sandboxEnv(spec.env),
				onStdout: (data) => splitter.push(data),
				onStderr: (data) => stderr.emit(data),
				// The SDK's default ends a command after 60 s; a claude turn takes as long as it takes.
				timeoutMs: 0,
			});
		} catch (error) {
			heartbeat.stop();
			throw new WorkspaceError(
				`Could not start ${JSON.stringify(spec.command)} in E2B sandbox ${this.sandboxId}: ${describe(error)}`,
				'sandbox_failed',
				{ cause: error },
			);
		}

		const exited = handle
			.wait()
			.then(
				(result) => ({ code: result.exitCode, signal: null }),
				(error: unknown) => exitOf(error, (text) => stderr.emit(text)),
			)
			.then(async (status) => {
				splitter.end();
				heartbeat.stop();
				// From here the sandbox lives `idle` more ms, for a Resume, then E2B removes it.
				await this.sandbox.setTimeout(idle).catch(() => undefined);
				return status;
			});

		return {
			onLine: (listener) => lines.add(listener),
			onStderr: (listener) => stderr.add(listener),
			signal: (signal) => {
				this.sendSignal(handle, signal).catch((error: unknown) =>
					stderr.emit(
						`Could not send ${signal} inside E2B sandbox ${this.sandboxId}: ${describe(error)}\n`,
					),
				);
			},
			exited,
		};
	}

	private async sendSignal(
		handle: E2bCommandHandle,
		signal: 'SIGINT' | 'SIGTERM' | 'SIGKILL',
	): Promise<void> {
		if (signal === 'SIGKILL') {
			await handle.kill();
			return;
		}
		// The SDK only kills (SIGKILL); other signals are sent from inside the sandbox. The pid is a number
		// the SDK gave us, checked before it goes into the command.
		if (!Number.isSafeInteger(handle.pid) || handle.pid <= 0)
			throw new Error(`unexpected pid ${String(handle.pid)}`);
		const name = signal === 'SIGINT' ? 'INT' : 'TERM';
		const kill = await this.sandbox.commands.run(`kill -s ${name} -- ${handle.pid}`, {
			background: true,
			timeoutMs: 30_000,
		});
		await kill.wait();
	}
}

/** Extends the sandbox's life every third of the idle timeout while something runs in it. */
export function keepAlive(sandbox: E2bSandbox, idleMs: number): { stop(): void } {
	const timer = setInterval(
		() => {
			sandbox.setTimeout(idleMs).catch(() => undefined);
		},
		Math.max(20, Math.floor(idleMs / 3)),
	);
	timer.unref();
	return { stop: () => clearInterval(timer) };
}

export function sandboxEnv(env: Record<string, string>): Record<string, string> {
	const result: Record<string, string> = {};
	for (const [key, value] of Object.entries(env)) {
		if (!HOST_ONLY_ENV.has(key) && typeof value === 'string') result[key] = value;
	}
	return result;
}

function exitOf(
	error: unknown,
	report: (text: string) => void,
): { code: number | null; signal: string | null } {
	const exit = exitResultOf(error);
	if (exit) {
		const match = /^signal: (.+)$/.exec(exit.error ?? '');
		if (match)
			return { code: null, signal: GO_SIGNAL_NAMES[match[1]] ?? `SIG${match[1].toUpperCase()}` };
		return { code: exit.exitCode < 0 ? null : exit.exitCode, signal: null };
	}
	// Not an exit status: the connection to the sandbox broke (expired, killed, network).
	report(`Lost the E2B sandbox while the command ran: ${describe(error)}\n`);
	return { code: null, signal: null };
}

function describe(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}
