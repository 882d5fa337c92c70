// Two costs of the dashboard's newer parts, against the real service:
//   - search: GET /api/v1/sessions?search=… over 100,000 tool calls (first page of 50), for a word in one tool
//     output, in 1% of them, and in every one; target: first page ≤ 200 ms;
//   - live streams: the service's CPU and memory (read from /proc for the service process alone) with 0 and 100
//     open streams (GET /api/v1/stream: 50 on the list, 50 on session pages), idle and while 100 hook events per
//     second arrive, and how long an event takes from its hook's answer to a stream.
// Runs on embedded PGlite by default; BENCH_DATABASE_URL=postgres://… uses a scratch PostgreSQL database.
// Run: npm run bench:dashboard (after the render benchmark), or node dist/bench/dashboard-live-search.js
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../service/src/db';
import { createScratchDatabase } from '../test/support/scratch-database';
import { openStream } from '../test/support/sse';
import { sleep } from '../test/support/wait';
import { freePort } from '../scripts/n8n/free-port';

const TOOL_CALLS = Number(process.env.BENCH_TOOL_CALLS ?? 100_000);
const SESSIONS = 2_000;
const STREAMS = Number(process.env.BENCH_STREAMS ?? 100);
const RATE = Number(process.env.BENCH_EVENTS_PER_S ?? 100);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 10_000);
const SEARCH_TARGET_MS = 200;
const API_KEY = 'bench-api-key-0123456789abcdef';
const HOT_SESSIONS = 10;
const CLK_TCK = 100;

async function seed(dataDir: string, databaseUrl: string | undefined) {
	const db = await openDatabase({ databaseUrl, dataDir });
	try {
		await db.query(
			`INSERT INTO sessions (id, status, workspace_type, repository, prompt, created_at)
			SELECT md5('search-session-' || i)::uuid, 'completed', 'local', 'acme/repo-' || (i % 40), 'Task ' || i || ': keep the build green',
				now() - i * interval '5 minutes'
			FROM generate_series(1, $1::int) AS i`,
			[SESSIONS],
		);
		// Outputs that read like test runs; "quetzalfault" is in one output only, "flakybanana" in 1%, "passed" in all.
		await db.query(
			`INSERT INTO tool_calls (session_id, tool_use_id, tool_name, input, response, status, started_at, finished_at)
			SELECT md5('search-session-' || (1 + i % $2::int))::uuid, 'toolu_search_' || i, (ARRAY['Bash','Read','Grep','Edit'])[1 + i % 4],
				jsonb_build_object('command', 'npm test -- --shard=' || i),
				jsonb_build_object('stdout', 'PASS src/module-' || (i % 300) || '.test.ts' || chr(10) || i % 97 || ' tests passed in ' || i % 13 || ' s'
					|| CASE WHEN i = 4242 THEN chr(10) || 'Error: quetzalfault while reading the lockfile' ELSE '' END
					|| CASE WHEN i % 100 = 7 THEN chr(10) || 'warning: flakybanana retried twice' ELSE '' END, 'stderr', ''),
				'succeeded', now() - i * interval '3 seconds', now() - i * interval '3 seconds' + interval '200 ms'
			FROM generate_series(1, $1::int) AS i`,
			[TOOL_CALLS, SESSIONS],
		);
		await db.query('DELETE FROM dashboard_changes');
		await db.query('ANALYZE');
		await db.query('CHECKPOINT');
	} finally {
		await db.close();
	}
}

function startServiceProcess(
	env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
	const entry = path.resolve(__dirname, '../service/src/index.js');
	const child = spawn(process.execPath, [entry], {
		env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
		stdio: ['ignore', 'pipe', 'inherit'],
	});
	return new Promise((resolve, reject) => {
		let out = '';
		child.stdout!.on('data', (chunk: Buffer) => {
			out += chunk.toString();
			const m = /service: (http:\/\/\S+)/.exec(out);
			if (m) resolve({ child, url: m[1] });
		});
		child.once('exit', (code) => reject(new Error(`service exited with ${code}: ${out}`)));
	});
}

/** CPU seconds used so far and resident memory of one process, from /proc. */
function usage(pid: number) {
	const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
	const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
	return { cpu, rssMb: rssKb / 1024 };
}

/** The service's CPU (% of one core) and memory over a window while `during` runs. */
async function measure(pid: number, during: () => Promise<void>) {
	const before = usage(pid);
	const t = performance.now();
	let peak = before.rssMb;
	const sampler = setInterval(() => (peak = Math.max(peak, usage(pid).rssMb)), 250);
	await during();
	clearInterval(sampler);
	const after = usage(pid);
	return {
		cpuPct: ((after.cpu - before.cpu) / ((performance.now() - t) / 1000)) * 100,
		rssMb: after.rssMb,
		peakMb: Math.max(peak, after.rssMb),
	};
}

interface OpenStream {
	received: number;
	close(): void;
}

/** A live stream as the dashboard holds it, counting its change events. */
async function openChangeStream(url: string, onEvent: (data: any) => void): Promise<OpenStream> {
	const counter = { received: 0 };
	const stream = await openStream(
		url,
		{ Authorization: `Bearer ${API_KEY}` },
		{
			keep: false,
			onEvent: (e) => {
				if (e.event !== 'change') return;
				counter.received++;
				onEvent(e.data);
			},
		},
	);
	if (stream.status !== 200) throw new Error(`stream: HTTP ${stream.status}`);
	return {
		get received() {
			return counter.received;
		},
		close: stream.close,
	};
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const pct = (xs: number[], p: number) =>
	[...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;

async function main() {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-live-search-'));
	const scratch = process.env.BENCH_DATABASE_URL
		? await createScratchDatabase(process.env.BENCH_DATABASE_URL, 'orch_bench')
		: undefined;
	const kind = scratch ? 'postgres' : 'pglite';
	let service: { child: ChildProcess; url: string } | undefined;
	const streams: OpenStream[] = [];
	let failed = false;
	try {
		const seedStart = Date.now();
		await seed(path.join(dataDir), scratch?.url);
		process.stdout.write(
			`seeded ${SESSIONS} sessions and ${TOOL_CALLS} tool calls on ${kind} in ${Date.now() - seedStart} ms\n`,
		);
		const port = await freePort();
		service = await startServiceProcess({
			PORT: String(port),
			DATA_DIR: dataDir,
			API_KEY,
			...(scratch ? { DATABASE_URL: scratch.url } : {}),
		});
		const pid = service.child.pid!;
		const auth = { Authorization: `Bearer ${API_KEY}` };

		// Search: each query once cold, then 10 times.
		const lines: string[] = [
			'',
			`Dashboard search and live streams on ${kind} (service in its own process)`,
		];
		for (const [label, word, expectAtLeast] of [
			['a word in one tool output', 'quetzalfault', 1],
			['a word in 1% of tool outputs', 'flakybanana', 20],
			['a word in every tool output', 'passed', 50],
			['two words, each common', 'tests passed', 50],
		] as const) {
			const times: number[] = [];
			let found = 0;
			for (let i = 0; i < 11; i++) {
				const t = performance.now();
				const res = await fetch(
					`${service.url}/api/v1/sessions?limit=50&search=${encodeURIComponent(word)}`,
					{ headers: auth },
				);
				const body = (await res.json()) as { items: unknown[] };
				times.push(performance.now() - t);
				found = body.items.length;
			}
			if (found < expectAtLeast) throw new Error(`search for ${word} found ${found} sessions`);
			const over = times[0] > SEARCH_TARGET_MS || median(times.slice(1)) > SEARCH_TARGET_MS;
			failed ||= over;
			lines.push(
				`search first page, ${label} (${TOOL_CALLS} tool calls)`.padEnd(84) +
					`first ${Math.round(times[0])} ms   median ${Math.round(median(times.slice(1)))} ms   target ≤ ${SEARCH_TARGET_MS} ms: ${over ? 'MISSED' : 'met'}`,
			);
		}

		// Live streams.
		const hot = Array.from(
			{ length: HOT_SESSIONS },
			(_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
		);
		// Lag, measured apart from the load: one hook at a time, each waiting for its tool call on the first stream
		// (which sees every session), with all 100 streams open.
		let waitingFor: ((at: number) => void) | undefined;
		const onEvent = (c: any) => {
			if (c.kind === 'tool_call' && c.op === 'insert') waitingFor?.(performance.now());
		};
		let sent = 0; // hooks posted under load
		const load = async () => {
			const start = performance.now();
			const posts: Array<Promise<unknown>> = [];
			for (let n = 0; performance.now() - start < WINDOW_MS; n++) {
				const due = start + (n * 1000) / RATE;
				if (due > performance.now()) await sleep(due - performance.now());
				const sessionId = hot[n % HOT_SESSIONS];
				const toolUseId = `toolu_live_${sent++}`;
				posts.push(
					fetch(`${service!.url}/api/v1/hooks`, {
						method: 'POST',
						headers: { ...auth, 'content-type': 'application/json' },
						body: JSON.stringify({
							session_id: sessionId,
							hook_event_name: 'PreToolUse',
							cwd: '/srv/work',
							tool_name: 'Bash',
							tool_use_id: toolUseId,
							tool_input: { command: `echo ${n}` },
						}),
					}).then((res) => res.text()),
				);
			}
			await Promise.all(posts);
		};
		const idle = () => sleep(WINDOW_MS);

		const idle0 = await measure(pid, idle);
		// A first window warms the service up (the hot sessions are created, code paths compiled), so the two loaded
		// windows compare streams with no streams and not cold with warm.
		await load();
		const load0 = await measure(pid, load);
		for (let i = 0; i < STREAMS; i++) {
			const query = i % 2 === 0 ? '' : `?sessionId=${hot[i % HOT_SESSIONS]}`;
			streams.push(
				await openChangeStream(
					`${service.url}/api/v1/stream${query}`,
					i === 0 ? onEvent : () => undefined,
				),
			);
		}
		await sleep(1000);
		const idle100 = await measure(pid, idle);
		const before = streams.reduce((n, s) => n + s.received, 0);
		const sentBefore = sent;
		const load100 = await measure(pid, load);
		await sleep(500);
		const delivered = streams.reduce((n, s) => n + s.received, 0) - before;
		const lags: number[] = [];
		for (let n = 0; n < 30; n++) {
			const arrived = new Promise<number>((resolve) => (waitingFor = resolve));
			const res = await fetch(`${service.url}/api/v1/hooks`, {
				method: 'POST',
				headers: { ...auth, 'content-type': 'application/json' },
				body: JSON.stringify({
					session_id: hot[0],
					hook_event_name: 'PreToolUse',
					cwd: '/srv/work',
					tool_name: 'Bash',
					tool_use_id: `toolu_lag_${n}`,
					tool_input: {},
				}),
			});
			await res.text();
			const answered = performance.now();
			lags.push(Math.max(0, (await arrived) - answered));
			await sleep(50);
		}
		const row = (what: string, m: { cpuPct: number; rssMb: number; peakMb: number }) =>
			`${what.padEnd(70)}CPU ${m.cpuPct.toFixed(1).padStart(5)}% of a core   RSS ${m.rssMb.toFixed(0)} MB (peak ${m.peakMb.toFixed(0)} MB)`;
		lines.push(
			row('service idle, no streams', idle0),
			row(`service idle, ${STREAMS} open streams`, idle100),
			row(`service with ${RATE} hook events/s, no streams`, load0),
			row(`service with ${RATE} hook events/s, ${STREAMS} open streams`, load100),
			`${`events written to the ${STREAMS} streams in that window`.padEnd(70)}${delivered} (${sent - sentBefore} hooks posted)`,
			`${'hook answered → its change on a stream (30 in turn; 0 = already there)'.padEnd(70)}median ${median(lags).toFixed(0)} ms   p95 ${pct(lags, 0.95).toFixed(0)} ms`,
			'',
		);
		process.stdout.write(lines.join('\n'));
	} finally {
		for (const s of streams) s.close();
		if (service) {
			service.child.kill('SIGTERM');
			await new Promise((r) => service!.child.once('exit', r));
		}
		await scratch?.drop();
		fs.rmSync(dataDir, { recursive: true, force: true });
	}
	if (failed) process.exitCode = 1;
}

main().catch((err) => {
	process.stderr.write(
		`dashboard live/search benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`,
	);
	process.exit(1);
});
