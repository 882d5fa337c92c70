import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

const LOG_LIMIT = 4 * 1024 * 1024;

// Every group we start, so a crashed test file still leaves nothing running when its worker exits.
const liveGroups = new Set<number>();
process.once('exit', () => {
	for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
});

/** Appends a process's output to memory (bounded) and to a file that outlives the instance for post-mortems. */
export class LogSink {
	private text = '';

	constructor(private readonly file: string) {}

	write(chunk: string): void {
		this.text += chunk;
		if (this.text.length > LOG_LIMIT) this.text = this.text.slice(this.text.length - LOG_LIMIT);
		try {
			fs.appendFileSync(this.file, chunk);
		} catch {
			// The folder was removed by stop(); the in-memory copy is still there for logs().
		}
	}

	toString(): string {
		return this.text;
	}

	tail(lines = 40): string {
		return this.text.trimEnd().split('\n').slice(-lines).join('\n');
	}
}

export interface SpawnedGroup {
	child: ChildProcess;
	exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
	isRunning(): boolean;
}

/** Spawns a process as leader of its own group, so stopping it also stops n8n's task-runner children. */
export function spawnGroup(
	cmd: string,
	args: string[],
	opts: { cwd: string; env: Record<string, string>; log: LogSink },
): SpawnedGroup {
	const child = spawn(cmd, args, {
		cwd: opts.cwd,
		env: opts.env,
		detached: true,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	const pgid = child.pid;
	if (pgid === undefined) throw new Error(`could not start ${cmd}`);
	liveGroups.add(pgid);
	let running = true;
	child.stdout?.on('data', (d: Buffer) => opts.log.write(d.toString()));
	child.stderr?.on('data', (d: Buffer) => opts.log.write(d.toString()));
	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
		child.on('exit', (code, signal) => {
			running = false;
			resolve({ code, signal });
		});
	});
	return { child, exited, isRunning: () => running };
}

/** SIGTERM the whole group, wait for it to be empty, SIGKILL what is left after `graceMs`. */
export async function stopGroup(group: SpawnedGroup, graceMs = 20_000): Promise<void> {
	const pgid = group.child.pid;
	if (pgid === undefined) return;
	signalGroup(pgid, 'SIGTERM');
	if (!(await waitGroupGone(pgid, graceMs))) {
		signalGroup(pgid, 'SIGKILL');
		if (!(await waitGroupGone(pgid, 5_000)))
			throw new Error(`process group ${pgid} survived SIGKILL`);
	}
	await group.exited;
	liveGroups.delete(pgid);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pgid, signal);
	} catch {
		// ESRCH: the group is already gone.
	}
}

async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (!groupExists(pgid)) return true;
		await sleep(100);
	}
	return !groupExists(pgid);
}

/** True while any live (non-zombie) process is in the group; zombies hold no port or file and cannot be killed. */
export function groupExists(pgid: number): boolean {
	if (!fs.existsSync('/proc/self/stat')) return signalZero(pgid);
	for (const entry of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		let stat: string;
		try {
			stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
		} catch {
			continue;
		}
		// Fields after the parenthesised command name: state, ppid, pgrp, ...
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
	}
	return false;
}

function signalZero(pgid: number): boolean {
	try {
		process.kill(-pgid, 0);
		return true;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === 'EPERM';
	}
}
