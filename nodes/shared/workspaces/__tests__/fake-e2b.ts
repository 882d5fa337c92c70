import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { CommandResult, CommandStartOpts, SandboxConnectOpts, SandboxOpts } from 'e2b';
import type { E2bCommandHandle, E2bSandbox, E2bSdk } from '../e2b-sdk';

// A fake of E2B's cloud at the SDK seam. It keeps the SDK's shapes and behaviour where our code depends
// on them: `commands.run` hands the command string to `bash -c` (envd uses `/bin/bash -l -c`), chunks go
// to onStdout/onStderr as they arrive, `wait()` throws the SDK's CommandExitError on a non-zero exit and
// reports a signal death as exit code -1 with Go's "signal: interrupt" text, the SDK's default 60 s
// command timeout applies unless timeoutMs is 0, and a sandbox dies when its timeout runs out (then
// connect throws SandboxNotFoundError). Processes are real, run on this machine, in a per-sandbox home.

// The SDK's error classes, same names and shapes. They are redeclared because the SDK bundle cannot be
// loaded under Jest on Node 20 (it requires chalk 5, an ES module; plain Node >= 20.19 loads it fine).
/** A subclass of `base` whose errors carry `name`, as the SDK's do (a mixin: TypeScript wants `any[]` arguments). */
function named<B extends new (...args: any[]) => Error>(base: B, name: string) {
	return class extends base {
		override name = name;
	};
}
const SandboxError = named(Error, 'SandboxError');
const SandboxNotFoundError = named(SandboxError, 'SandboxNotFoundError');
const NotFoundError = named(SandboxError, 'NotFoundError');
const FileNotFoundError = named(NotFoundError, 'FileNotFoundError');
const TimeoutError = named(SandboxError, 'TimeoutError');
const AuthenticationError = named(Error, 'AuthenticationError');
class CommandExitError extends SandboxError implements CommandResult {
	override name = 'CommandExitError';
	constructor(private readonly result: CommandResult) {
		super(result.error);
	}
	get exitCode(): number {
		return this.result.exitCode;
	}
	get error(): string | undefined {
		return this.result.error;
	}
	get stdout(): string {
		return this.result.stdout;
	}
	get stderr(): string {
		return this.result.stderr;
	}
}

export interface RecordedCommand {
	cmd: string;
	opts: Omit<CommandStartOpts, 'onStdout' | 'onStderr'>;
	pid?: number;
}

export class FakeE2bCloud implements E2bSdk {
	readonly sandboxes = new Map<string, FakeSandbox>();
	readonly createCalls: SandboxOpts[] = [];
	readonly connectCalls: Array<{ sandboxId: string; opts: SandboxConnectOpts }> = [];

	constructor(
		private readonly homesDir: string,
		readonly apiKey = 'e2b_test_key',
	) {}

	async create(opts: SandboxOpts): Promise<FakeSandbox> {
		this.createCalls.push(opts);
		this.authenticate(opts.apiKey);
		const sandboxId = `fake${randomBytes(6).toString('hex')}`;
		const home = path.join(this.homesDir, sandboxId, 'home', 'user');
		mkdirSync(home, { recursive: true });
		const sandbox = new FakeSandbox(sandboxId, home, opts.timeoutMs ?? 300_000);
		this.sandboxes.set(sandboxId, sandbox);
		return sandbox;
	}

	async connect(sandboxId: string, opts: SandboxConnectOpts): Promise<FakeSandbox> {
		this.connectCalls.push({ sandboxId, opts });
		this.authenticate(opts.apiKey);
		const sandbox = this.sandboxes.get(sandboxId);
		if (!sandbox || !sandbox.alive)
			throw new SandboxNotFoundError(`Paused sandbox ${sandboxId} not found`);
		// As documented: connecting only ever lengthens a running sandbox's timeout.
		if (opts.timeoutMs !== undefined && opts.timeoutMs > sandbox.remainingMs())
			sandbox.schedule(opts.timeoutMs);
		return sandbox;
	}

	private authenticate(apiKey: string | undefined): void {
		if (apiKey !== this.apiKey) throw new AuthenticationError('Invalid API key');
	}
}

export class FakeSandbox implements E2bSandbox {
	alive = true;
	readonly timeoutCalls: number[] = [];
	readonly commandsRun: RecordedCommand[] = [];
	readonly killedPids: number[] = [];
	private readonly processes = new Set<ChildProcess>();
	private expiry?: NodeJS.Timeout;
	private expiresAt = 0;

	readonly commands = {
		run: (cmd: string, opts: CommandStartOpts & { background: true }): Promise<E2bCommandHandle> =>
			this.run(cmd, opts),
	};

	// Paths in this fake sandbox are paths on this machine (its home is a folder here); the SDK's files API
	// creates missing parent folders on write and throws FileNotFoundError for a missing file.
	readonly files = {
		read: async (file: string, opts: { format: 'bytes' }): Promise<Uint8Array> => {
			this.ensureAlive();
			if (opts.format !== 'bytes') throw new Error(`the fake reads bytes only, not ${opts.format}`);
			return readFile(file).catch((error: NodeJS.ErrnoException) => {
				throw error.code === 'ENOENT' ? new FileNotFoundError(`file '${file}' not found`) : error;
			});
		},
		write: async (file: string, data: ArrayBuffer): Promise<{ path: string }> => {
			this.ensureAlive();
			this.filesWritten.push(file);
			await mkdir(path.dirname(file), { recursive: true });
			await writeFile(file, Buffer.from(data));
			return { path: file };
		},
	};
	readonly filesWritten: string[] = [];

	constructor(
		readonly sandboxId: string,
		readonly home: string,
		timeoutMs: number,
	) {
		this.schedule(timeoutMs);
	}

	async setTimeout(timeoutMs: number): Promise<void> {
		this.ensureAlive();
		this.timeoutCalls.push(timeoutMs);
		this.schedule(timeoutMs);
	}

	async kill(): Promise<boolean> {
		if (!this.alive) return false;
		this.die();
		return true;
	}

	remainingMs(): number {
		return Math.max(0, this.expiresAt - Date.now());
	}

	schedule(timeoutMs: number): void {
		if (this.expiry) clearTimeout(this.expiry);
		this.expiresAt = Date.now() + timeoutMs;
		this.expiry = setTimeout(() => this.die(), timeoutMs);
		this.expiry.unref();
	}

	private die(): void {
		this.alive = false;
		if (this.expiry) clearTimeout(this.expiry);
		for (const child of this.processes) child.kill('SIGKILL');
	}

	private ensureAlive(): void {
		if (!this.alive) throw new SandboxNotFoundError('Sandbox is probably not running anymore');
	}

	private async run(
		cmd: string,
		opts: CommandStartOpts & { background: true },
	): Promise<E2bCommandHandle> {
		this.ensureAlive();
		const { onStdout, onStderr, ...recorded } = opts;
		const record: RecordedCommand = { cmd, opts: recorded };
		this.commandsRun.push(record);
		// The real envd gives a command HOME, USER, LOGNAME plus the caller's envs; PATH here is the host's
		// so that bash, git and node are found.
		const child = spawn('/bin/bash', ['-c', cmd], {
			cwd: opts.cwd ?? this.home,
			env: {
				PATH: process.env.PATH ?? '/usr/bin:/bin',
				HOME: this.home,
				USER: 'user',
				LOGNAME: 'user',
				...opts.envs,
			},
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		await new Promise<void>((resolve, reject) => {
			child.once('spawn', resolve);
			child.once('error', (error) =>
				reject(new SandboxError(`failed to start command: ${error.message}`)),
			);
		});
		this.processes.add(child);
		record.pid = child.pid;
		return new FakeCommandHandle(child, this, onStdout, onStderr, opts.timeoutMs ?? 60_000);
	}

	/** Used by the handle's kill(): the SDK kills with SIGKILL. */
	recordKill(pid: number): void {
		this.killedPids.push(pid);
	}

	forget(child: ChildProcess): void {
		this.processes.delete(child);
	}
}

const GO_SIGNAL_TEXT: Record<string, string> = {
	SIGINT: 'interrupt',
	SIGTERM: 'terminated',
	SIGKILL: 'killed',
};

class FakeCommandHandle implements E2bCommandHandle {
	readonly pid: number;
	private readonly result: Promise<CommandResult>;
	private running = true;

	constructor(
		private readonly child: ChildProcess,
		private readonly sandbox: FakeSandbox,
		onStdout: CommandStartOpts['onStdout'],
		onStderr: CommandStartOpts['onStderr'],
		timeoutMs: number,
	) {
		this.pid = child.pid ?? -1;
		let stdout = '';
		let stderr = '';
		const outDecoder = new StringDecoder('utf8');
		const errDecoder = new StringDecoder('utf8');
		child.stdout?.on('data', (chunk: Buffer) => {
			const text = outDecoder.write(chunk);
			stdout += text;
			if (text) void onStdout?.(text);
		});
		child.stderr?.on('data', (chunk: Buffer) => {
			const text = errDecoder.write(chunk);
			stderr += text;
			if (text) void onStderr?.(text);
		});
		let timedOut = false;
		const timer =
			timeoutMs > 0
				? setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), timeoutMs)
				: undefined;
		this.result = new Promise<CommandResult>((resolve, reject) => {
			child.on('close', (code, signal) => {
				if (timer) clearTimeout(timer);
				this.running = false;
				sandbox.forget(child);
				if (timedOut) return reject(new TimeoutError('context deadline exceeded'));
				if (!sandbox.alive)
					return reject(new SandboxNotFoundError('Sandbox is probably not running anymore'));
				const result: CommandResult = signal
					? {
							exitCode: -1,
							error: `signal: ${GO_SIGNAL_TEXT[signal] ?? signal.toLowerCase()}`,
							stdout,
							stderr,
						}
					: {
							exitCode: code ?? -1,
							stdout,
							stderr,
							...(code ? { error: `exit status ${code}` } : {}),
						};
				if (result.exitCode !== 0) reject(new CommandExitError(result));
				else resolve(result);
			});
		});
		// wait() may never be called for some commands; keep an unobserved rejection from failing the run.
		this.result.catch(() => undefined);
	}

	wait(): Promise<CommandResult> {
		return this.result;
	}

	async kill(): Promise<boolean> {
		if (!this.running) return false;
		this.sandbox.recordKill(this.pid);
		return this.child.kill('SIGKILL');
	}
}
