import type { CommandHandle, CommandStartOpts, SandboxConnectOpts, SandboxOpts } from 'e2b';

// The part of the `e2b` SDK (2.x, the maintained package; `@e2b/sdk` is its superseded name) that the
// workspaces use. Declared as a seam so tests put a fake of E2B's cloud here; the real `Sandbox` class
// satisfies it as is (`realE2bSdk` below returns it, so the compiler checks that).

export type E2bCommandHandle = Pick<CommandHandle, 'pid' | 'wait' | 'kill'>;

export interface E2bSandbox {
	readonly sandboxId: string;
	readonly commands: {
		run(cmd: string, opts: CommandStartOpts & { background: true }): Promise<E2bCommandHandle>;
	};
	/** Read and write files inside the sandbox (the session's conversation lives there). */
	readonly files: {
		read(path: string, opts: { format: 'bytes' }): Promise<Uint8Array>;
		/** Creates missing parent folders, overwrites an existing file. */
		write(path: string, data: ArrayBuffer): Promise<unknown>;
	};
	/** Sandbox life from now, in ms (E2B caps it: 1 h on Hobby, 24 h on Pro). */
	setTimeout(timeoutMs: number): Promise<void>;
	kill(): Promise<boolean>;
}

export interface E2bSdk {
	create(opts: SandboxOpts): Promise<E2bSandbox>;
	connect(sandboxId: string, opts: SandboxConnectOpts): Promise<E2bSandbox>;
}

/** The real SDK, loaded on first use so n8n does not load it for local sessions. */
export const realE2bSdk: E2bSdk = {
	async create(opts) {
		const { Sandbox } = await import('e2b');
		return Sandbox.create(opts);
	},
	async connect(sandboxId, opts) {
		const { Sandbox } = await import('e2b');
		return Sandbox.connect(sandboxId, opts);
	},
};

/** Errors the SDK throws when a sandbox id no longer exists (expired, killed) or never did. */
export function isSandboxGone(error: unknown): boolean {
	if (!(error instanceof Error)) return false;
	const status = (error as { statusCode?: unknown }).statusCode;
	return (
		error.name === 'SandboxNotFoundError' ||
		error.name === 'NotFoundError' ||
		status === 404 ||
		/not (be )?found|not running anymore|does ?n[o']t exist/i.test(error.message)
	);
}

/** A `files.read` of a path that does not exist (2.x: FileNotFoundError; older: NotFoundError about the path). */
export function isFileMissing(error: unknown): boolean {
	if (!(error instanceof Error)) return false;
	return (
		error.name === 'FileNotFoundError' ||
		(error.name === 'NotFoundError' && !/sandbox/i.test(error.message))
	);
}

export function isAuthenticationError(error: unknown): boolean {
	if (!(error instanceof Error)) return false;
	return (
		error.name === 'AuthenticationError' || (error as { statusCode?: unknown }).statusCode === 401
	);
}

/** A CommandExitError (non-zero exit) as the SDK's `wait()` throws it, recognised by shape. */
export function exitResultOf(error: unknown): { exitCode: number; error?: string } | undefined {
	if (typeof error !== 'object' || error === null) return undefined;
	const { exitCode, error: message } = error as { exitCode?: unknown; error?: unknown };
	if (typeof exitCode !== 'number') return undefined;
	return { exitCode, error: typeof message === 'string' ? message : undefined };
}
