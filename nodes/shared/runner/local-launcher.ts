// Starts a process on this machine, in its own process group, so a cancel reaches claude and everything it
// started (Bash tool shells, MCP servers, hook commands).
import { spawn, type ChildProcess } from 'node:child_process';
import type { LaunchSpec, ProcessLauncher, RunningProcess } from './types';
import { Fanout } from './fanout';
import { LineSplitter } from './line-splitter';

type Signal = 'SIGINT' | 'SIGTERM' | 'SIGKILL';

// A grandchild that inherited stdout could keep the pipe open long after claude exited; don't wait forever.
const OUTPUT_DRAIN_AFTER_EXIT_MS = 2_000;

export class LocalProcess implements RunningProcess {
	readonly exited: Promise<{ code: number | null; signal: string | null }>;
	private readonly lines = new Fanout<string>();
	private readonly stderr = new Fanout<string>();

	constructor(private readonly child: ChildProcess) {
		const splitter = new LineSplitter((line) => this.lines.emit(line));
		const stdoutDone = new Promise<void>((resolve) => {
			child.stdout?.on('data', (chunk: Buffer) => splitter.push(chunk));
			child.stdout?.once('close', () => {
				splitter.end();
				resolve();
			});
			if (!child.stdout) resolve();
		});
		const stderrDone = new Promise<void>((resolve) => {
			child.stderr?.setEncoding('utf8');
			child.stderr?.on('data', (chunk: string) => this.stderr.emit(chunk));
			child.stderr?.once('close', () => resolve());
			if (!child.stderr) resolve();
		});
		this.exited = new Promise((resolve) => {
			child.once('exit', (code, signal) => {
				const outcome = { code, signal };
				const timer = setTimeout(() => {
					child.stdout?.destroy();
					child.stderr?.destroy();
					resolve(outcome);
				}, OUTPUT_DRAIN_AFTER_EXIT_MS);
				void Promise.all([stdoutDone, stderrDone]).then(() => {
					clearTimeout(timer);
					resolve(outcome);
				});
			});
		});
	}

	get pid(): number | undefined {
		return this.child.pid;
	}

	onLine(listener: (line: string) => void): void {
		this.lines.add(listener);
	}

	onStderr(listener: (chunk: string) => void): void {
		this.stderr.add(listener);
	}

	signal(signal: Signal): void {
		const { pid } = this.child;
		if (pid === undefined) return;
		try {
			// A negative pid addresses the process group that `detached: true` created, led by this child.
			process.kill(-pid, signal);
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
			try {
				this.child.kill(signal);
			} catch {
				// Nothing left to signal.
			}
		}
	}
}

export class LocalLauncher implements ProcessLauncher {
	launch(spec: LaunchSpec): Promise<RunningProcess> {
		return new Promise((resolve, reject) => {
			let child: ChildProcess;
			try {
				child = spawn(spec.command, spec.args, {
					cwd: spec.cwd,
					env: spec.env,
					detached: true,
					// stdin is /dev/null: `-p --resume` without a prompt would otherwise wait for input.
					stdio: ['ignore', 'pipe', 'pipe'],
					shell: false,
				});
			} catch (error) {
				reject(error);
				return;
			}
			const running = new LocalProcess(child);
			child.once('spawn', () => resolve(running));
			child.once('error', (error) => reject(error));
		});
	}
}

export const localLauncher: ProcessLauncher = new LocalLauncher();
