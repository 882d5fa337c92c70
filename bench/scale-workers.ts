// Scale: completed runs per minute through real n8n 2.41.1 in queue mode with one worker, then with two, and the
// CPU seconds each run cost the workers (n8n plus the claude processes they started, from /proc). No target: this
// is the baseline for more machines. Runs go Webhook → Claude Session Start (a local folder on the shared root),
// the real claude CLI against the loopback fake Anthropic API; SCALE_CLIENTS requests are kept in flight.
//
//   npm run bench:scale                                   60 s per phase, 8 requests in flight
//   SCALE_SECONDS=30 SCALE_CLIENTS=4 npm run bench:scale
//
// It runs under jest (scale-workers.test.ts), like the e2e suites, so the stack is the one they use.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { descendants } from '../scripts/n8n/n8n-queue';
import { START_PATH, startQueueStack } from '../test/e2e-n8n/queue-stack';

const SECONDS = Number(process.env.SCALE_SECONDS ?? 60);
const CLIENTS = Number(process.env.SCALE_CLIENTS ?? 8);
const TICKS = 100; // USER_HZ on Linux

/** utime + stime of a process and of its reaped children (cutime + cstime), in seconds; 0 once it is gone. */
function cpuSeconds(pid: number): number {
	try {
		const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		// Fields 14-17 of stat(5), counted from the state field (index 0 = field 3).
		return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS;
	} catch {
		return 0;
	}
}

/** CPU of the workers and everything below them that is still running (what has exited is in their cutime). */
function workersCpu(pids: number[]): number {
	let total = 0;
	for (const pid of pids) {
		total += cpuSeconds(pid);
		for (const child of descendants(pid)) total += cpuSeconds(child);
	}
	return total;
}

async function phase(workers: number) {
	const stack = await startQueueStack({ workers });
	try {
		const pids = stack.cluster.workers
			.map((w) => w.pid)
			.filter((p): p is number => p !== undefined);
		// One warm-up run per worker: the first claude start reads its binary from disk.
		await Promise.all(
			pids.map((_, i) =>
				stack.post(START_PATH, { prompt: 'warm up', folder: mkdir(stack.sharedRoot, `warm-${i}`) }),
			),
		);
		const cpu0 = workersCpu(pids);
		const t0 = Date.now();
		const end = t0 + SECONDS * 1000;
		let completed = 0;
		let failed = 0;
		let n = 0;
		await Promise.all(
			Array.from({ length: CLIENTS }, async () => {
				while (Date.now() < end) {
					const folder = mkdir(stack.sharedRoot, `run-${n++}`);
					const res = await stack.post(START_PATH, {
						prompt: 'scale [[bash:echo ok > ok.txt]] [[read:ok.txt]]',
						folder,
					});
					if (res.status === 200 && res.body?.status === 'completed') completed++;
					else failed++;
				}
			}),
		);
		const elapsed = (Date.now() - t0) / 1000;
		const cpu = workersCpu(pids) - cpu0;
		return {
			workers,
			seconds: Math.round(elapsed),
			completed,
			failed,
			runsPerMinute: +((completed / elapsed) * 60).toFixed(1),
			cpuSecondsPerRun: completed ? +(cpu / completed).toFixed(2) : null,
		};
	} finally {
		await stack.stop();
	}
}

function mkdir(root: string, name: string): string {
	const dir = path.join(root, name);
	fs.mkdirSync(dir, { recursive: true });
	return dir;
}

/** Both phases, one after the other; prints a line per phase and a summary. */
export async function runScale() {
	const results = [];
	for (const workers of [1, 2]) {
		const r = await phase(workers);
		process.stdout.write(`[bench:scale] ${JSON.stringify(r)}\n`);
		results.push(r);
	}
	process.stdout.write(
		`\nbench:scale on ${os.cpus().length} cores, ${SECONDS} s per phase, ${CLIENTS} requests in flight, load average ${os
			.loadavg()
			.map((l) => l.toFixed(1))
			.join(' ')}\n` +
			results
				.map(
					(r) =>
						`  ${r.workers} worker(s): ${r.runsPerMinute} completed runs/min (${r.completed} completed, ${r.failed} failed), ${r.cpuSecondsPerRun} CPU s per run`,
				)
				.join('\n') +
			'\n',
	);
	return results;
}
