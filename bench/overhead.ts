// What the product adds to a Claude Code run: the same prompt (three tool calls, the real pinned `claude`
// CLI against the loopback fake Anthropic API) run alone (`claude -p … --output-format stream-json`) and through the
// product (startSession, and resumeSession by thread key: the code the nodes run), alternating in one run so a busy
// machine weighs on both sides alike. Medians and their ratio for Start and for Resume, on PostgreSQL and on the
// embedded database (PGlite); then the time from a Resume call (thread key given) to the claude process being
// started, p50/p95 over OVERHEAD_RESUMES resumes. Each product run is also split into before claude (call → spawn),
// claude (spawn → exit) and after (exit → return), with the service requests of one run on a timeline.
//
//   npm run bench:overhead
//   OVERHEAD_RUNS=5 OVERHEAD_DATABASES=pglite npm run bench:overhead
//   OVERHEAD_TELEMETRY=off npm run bench:overhead   (the product's runs without the cost-so-far export)
//
// The service runs as its own process (as it does beside n8n), on a scratch database next to BENCH_DATABASE_URL
// (default the machine's `test` database, dropped afterwards) or on PGlite in a temporary folder.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildClaudeArgs } from '../nodes/shared/runner/args';
import { buildHookSettings } from '../nodes/shared/runner/hook-settings';
import { LineSplitter } from '../nodes/shared/runner/line-splitter';
import { localLauncher } from '../nodes/shared/runner/local-launcher';
import type { LaunchSpec, ProcessLauncher, RunningProcess } from '../nodes/shared/runner/types';
import type { OrchestratorClient } from '../nodes/shared/session/client';
import { parseRunOptions } from '../nodes/shared/session/run-options';
import {
	resumeSession,
	startSession,
	type SessionOutput,
} from '../nodes/shared/session/session-run';
import { createScratchDatabase } from '../test/support/scratch-database';
import { startFakeAnthropic } from '../test/fakes/anthropic-api';
import { isolatedClaudeEnv } from '../test/fakes/claude-cli';
import { fetchClient } from '../nodes/shared/session/fetch-client';
import { cpuSample, cpuUsed, type CpuUse } from './cpu-accounting';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUNS = Number(process.env.OVERHEAD_RUNS ?? 10);
const RESUMES = Number(process.env.OVERHEAD_RESUMES ?? 20);
const DATABASES = (process.env.OVERHEAD_DATABASES ?? 'postgres,pglite')
	.split(',')
	.filter(Boolean) as Array<'postgres' | 'pglite'>;
const API_KEY = 'bench-api-key-0123456789abcdef';
// Issue #20's targets for this 2-core machine.
const TARGET = { ratio: 1.08, resumeToSpawnP95Ms: 100 };

// Built into dist-bench/bench: the checkout's own claude is two folders up.
const REPO = path.resolve(__dirname, '..', '..');
function claudeBinary(): string {
	const candidates = [
		path.join(REPO, 'node_modules', '.bin', 'claude'),
		path.join(REPO, 'node_modules', '@anthropic-ai', 'claude-code-linux-x64', 'claude'),
	];
	const found = candidates.find((p) => fs.existsSync(p) && fs.statSync(p).size > 1024 * 1024);
	if (!found)
		throw new Error(`no native claude binary at ${candidates.join(' or ')}; run npm install`);
	return found;
}

const PROMPT = (tag: string) =>
	`[[bash:echo ${tag} > a.txt]] [[write:b.txt::${tag}]] [[read:a.txt]]`;

interface Step {
	what: string;
	start: number;
	end: number;
}

/** Timestamps of one product run: its service requests, the spawn and the exit of claude. */
class Trace {
	t0 = performance.now();
	steps: Step[] = [];
	spawned?: number;
	exited?: number;
	returned?: number;
	reset() {
		this.t0 = performance.now();
		this.steps = [];
		this.spawned = this.exited = this.returned = undefined;
	}
	now() {
		return performance.now() - this.t0;
	}
}

function tracingClient(inner: OrchestratorClient, trace: Trace): OrchestratorClient {
	return {
		...inner,
		async request(method, p, body, qs) {
			const start = trace.now();
			try {
				return await inner.request(method, p, body, qs);
			} finally {
				const what = `${method} ${p.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, ':id').replace(/threads\/[^/]+/, 'threads/:key')}`;
				trace.steps.push({ what, start, end: trace.now() });
			}
		},
	};
}

function tracingLauncher(trace: Trace): ProcessLauncher {
	return {
		async launch(spec: LaunchSpec): Promise<RunningProcess> {
			const proc = await localLauncher.launch(spec);
			trace.spawned = trace.now();
			void proc.exited.then(() => (trace.exited = trace.now()));
			return proc;
		},
	};
}

/**
 * `claude -p … --output-format stream-json` on its own, stdout read to the end; resolves with its wall time.
 * With `hookUrl`: the product's hook settings, pointed at a server that answers every hook at once (what hooks
 * cost claude itself, apart from how fast the service answers them).
 */
function runAlone(
	cwd: string,
	env: Record<string, string>,
	prompt: string,
	sessionId: string,
	resume: boolean,
	hookUrl?: string,
): Promise<number> {
	const settings = hookUrl
		? (buildHookSettings({ hookUrl, tokenEnvVar: 'BENCH_HOOK_TOKEN' }) as unknown as Record<
				string,
				unknown
			>)
		: undefined;
	const args = buildClaudeArgs({ prompt, sessionId, resume, settings });
	if (hookUrl) env = { ...env, BENCH_HOOK_TOKEN: 'bench' };
	const t0 = performance.now();
	return new Promise((resolve, reject) => {
		const child = spawn(claudeBinary(), args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
		let result: { is_error?: boolean } | undefined;
		const splitter = new LineSplitter((line) => {
			if (!line.includes('"result"')) return;
			const record = JSON.parse(line) as { type?: string; is_error?: boolean };
			if (record.type === 'result') result = record;
		});
		let stderr = '';
		child.stdout.on('data', (c: Buffer) => splitter.push(c));
		child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
		child.once('error', reject);
		child.once('close', (code) => {
			splitter.end();
			if (code !== 0 || !result || result.is_error)
				reject(new Error(`claude alone ended ${code}: ${stderr.slice(-500)}`));
			else resolve(performance.now() - t0);
		});
	});
}

const median = (xs: number[]) => percentile(xs, 50);
function percentile(xs: number[], p: number): number {
	const s = [...xs].sort((a, b) => a - b);
	if (!s.length) return NaN;
	const rank = (p / 100) * (s.length - 1);
	const lo = Math.floor(rank);
	return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (rank - lo);
}
const ms = (n: number) => `${Math.round(n).toLocaleString('en-US')} ms`;

async function waitHealthy(url: string, deadline: number) {
	while (Date.now() < deadline) {
		try {
			if ((await fetch(`${url}/api/v1/health`)).ok) return;
		} catch {
			// not listening yet
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error('service did not become healthy within 60 s');
}

async function startServiceProcess(kind: 'postgres' | 'pglite', dataDir: string) {
	const scratch =
		kind === 'postgres' ? await createScratchDatabase(ADMIN_URL, 'orch_bench') : undefined;
	const port = 4100 + Math.floor(Math.random() * 800);
	const env: Record<string, string | undefined> = {
		...process.env,
		PORT: String(port),
		API_KEY,
		LOG_LEVEL: 'warn',
		DATA_DIR: dataDir,
	};
	if (scratch) env.DATABASE_URL = scratch.url;
	else delete env.DATABASE_URL;
	const args = [
		...(process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean),
		path.resolve(__dirname, '../service/src/index.js'),
	];
	const child: ChildProcess = spawn(process.execPath, args, {
		env,
		stdio: ['ignore', 'ignore', 'inherit'],
	});
	const url = `http://127.0.0.1:${port}`;
	await waitHealthy(url, Date.now() + 60_000);
	return {
		url,
		/** What to read CPU time from: the service process and, on PostgreSQL, its database's backends. */
		cpu: () => cpuSample(child.pid, scratch && new URL(scratch.url).pathname.slice(1)),
		async stop() {
			child.kill('SIGTERM');
			await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
			await scratch?.drop();
		},
	};
}

interface Phases {
	before: number[];
	claude: number[];
	after: number[];
	/** Hook events answered during the run, and the sum of their answer times in the service (its histogram). */
	hooks: number[];
	hookMs: number[];
}

/** The service's own count and sum of hook answer times (GET /metrics). */
async function hookAnswers(url: string): Promise<{ count: number; sum: number }> {
	const text = await (
		await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${API_KEY}` } })
	).text();
	const value = (name: string) =>
		Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
	return {
		count: value('orchestrator_hook_ack_ms_count'),
		sum: value('orchestrator_hook_ack_ms_sum'),
	};
}

function timeline(trace: Trace): string {
	const lines = trace.steps
		.sort((a, b) => a.start - b.start)
		.map(
			(s) => `      ${s.start.toFixed(1).padStart(7)} → ${s.end.toFixed(1).padStart(7)}  ${s.what}`,
		);
	const marks = [
		[trace.spawned, 'claude spawned'],
		[trace.exited, 'claude exited'],
		[trace.returned, 'returned'],
	] as const;
	for (const [at, what] of marks)
		if (at !== undefined) lines.push(`      ${at.toFixed(1).padStart(7)}            ${what}`);
	return lines.sort((a, b) => parseFloat(a) - parseFloat(b)).join('\n');
}

async function benchDatabase(
	kind: 'postgres' | 'pglite',
	apiUrl: string,
	root: string,
	trivialHookUrl: string,
) {
	const dataDir = path.join(root, `data-${kind}`);
	const service = await startServiceProcess(kind, dataDir);
	const trace = new Trace();
	const client = tracingClient(fetchClient(service.url, API_KEY), trace);
	const projects = path.join(root, `projects-${kind}`);
	fs.mkdirSync(projects, { recursive: true });
	const claudeEnv = isolatedClaudeEnv(path.join(root, `claude-${kind}`), apiUrl);
	const options = parseRunOptions({
		claudePath: claudeBinary(),
		// OVERHEAD_TELEMETRY=off: the product's runs without the cost-so-far export (a telemetry setting of the
		// user's own turns it off), to see what that export costs claude.
		env:
			process.env.OVERHEAD_TELEMETRY === 'off'
				? { ...claudeEnv, CLAUDE_CODE_ENABLE_TELEMETRY: '0' }
				: claudeEnv,
		timeoutSeconds: 120,
	});
	const deps = {
		allowedRoots: [projects],
		workspacesDir: path.join(root, 'ws'),
		cacheDir: path.join(root, 'cache'),
		worktreesDir: path.join(projects, '.wt'),
		localLauncher: tracingLauncher(trace),
	};
	const folder = (name: string) => {
		const p = path.join(projects, name);
		fs.mkdirSync(p, { recursive: true });
		return p;
	};
	const check = (out: SessionOutput) => {
		if (out.status !== 'completed')
			throw new Error(`a product run ended ${out.status}: ${out.errorMessage}`);
		return out;
	};
	const cpu = {
		alone: [] as CpuUse[],
		aloneHooks: [] as CpuUse[],
		start: [] as CpuUse[],
		resume: [] as CpuUse[],
	};
	/** Runs one side and keeps the CPU time each process spent on it. */
	const metered = async <T>(side: CpuUse[], run: () => Promise<T>): Promise<T> => {
		const before = service.cpu();
		const result = await run();
		side.push(cpuUsed(before, service.cpu()));
		return result;
	};
	const product = async (run: () => Promise<SessionOutput>, phases: Phases, side: CpuUse[]) => {
		const answersBefore = await hookAnswers(service.url);
		trace.reset();
		check(await metered(side, run));
		trace.returned = trace.now();
		const answersAfter = await hookAnswers(service.url);
		phases.hooks.push(answersAfter.count - answersBefore.count);
		phases.hookMs.push(answersAfter.sum - answersBefore.sum);
		phases.before.push(trace.spawned!);
		phases.claude.push(trace.exited! - trace.spawned!);
		phases.after.push(trace.returned - trace.exited!);
		return trace.returned;
	};
	const timelines: Record<'start' | 'resume', string> = { start: '', resume: '' };
	const figures = {
		alone: { start: [] as number[], resume: [] as number[] },
		aloneHooks: { start: [] as number[] },
		product: { start: [] as number[], resume: [] as number[] },
		phases: {
			start: { before: [], claude: [], after: [], hooks: [], hookMs: [] } as Phases,
			resume: { before: [], claude: [], after: [], hooks: [], hookMs: [] } as Phases,
		},
	};
	try {
		// Warm-up (not counted): the first claude start on a fresh config folder and a cold service are slower.
		const warm = folder('warm');
		await runAlone(warm, claudeEnv, PROMPT('warm'), crypto.randomUUID(), false);
		check(
			await startSession(client, {
				prompt: PROMPT('warm'),
				workspace: { type: 'local', workspacePath: warm },
				threadKey: 'bench:warm',
				options,
				deps,
			}),
		);
		check(
			await resumeSession(client, {
				threadKey: 'bench:warm',
				prompt: PROMPT('warm2'),
				options,
				deps,
			}),
		);

		for (let i = 0; i < RUNS; i++) {
			const aloneDir = folder(`alone-${i}`);
			const productDir = folder(`product-${i}`);
			const aloneId = crypto.randomUUID();
			const threadKey = `bench:${kind}:${i}`;
			const hooksDir = folder(`alone-hooks-${i}`);
			const sides = [
				async () =>
					figures.alone.start.push(
						await metered(cpu.alone, () =>
							runAlone(aloneDir, claudeEnv, PROMPT(`s${i}`), aloneId, false),
						),
					),
				async () =>
					figures.aloneHooks.start.push(
						await metered(cpu.aloneHooks, () =>
							runAlone(
								hooksDir,
								claudeEnv,
								PROMPT(`s${i}`),
								crypto.randomUUID(),
								false,
								trivialHookUrl,
							),
						),
					),
				async () => {
					const t = await product(
						() =>
							startSession(client, {
								prompt: PROMPT(`s${i}`),
								workspace: { type: 'local', workspacePath: productDir },
								threadKey,
								options,
								deps,
							}),
						figures.phases.start,
						cpu.start,
					);
					figures.product.start.push(t);
					timelines.start = timeline(trace);
				},
			];
			const resumes = [
				async () =>
					figures.alone.resume.push(
						await runAlone(aloneDir, claudeEnv, PROMPT(`r${i}`), aloneId, true),
					),
				async () => {
					const t = await product(
						() => resumeSession(client, { threadKey, prompt: PROMPT(`r${i}`), options, deps }),
						figures.phases.resume,
						cpu.resume,
					);
					figures.product.resume.push(t);
					timelines.resume = timeline(trace);
				},
			];
			// Alternate which side goes first, so a drift in load does not favour one.
			const order = i % 2 === 0 ? [0, 1] : [1, 0];
			for (const j of i % 2 === 0 ? [0, 1, 2] : [2, 1, 0]) await sides[j]();
			for (const j of order) await resumes[j]();
		}

		// Resume by thread key: from the call to claude started.
		const toSpawn: number[] = [];
		const resumeDir = folder('resumes');
		check(
			await startSession(client, {
				prompt: PROMPT('resumes'),
				workspace: { type: 'local', workspacePath: resumeDir },
				threadKey: `bench:${kind}:resumes`,
				options,
				deps,
			}),
		);
		for (let i = 0; i < RESUMES; i++) {
			trace.reset();
			check(
				await resumeSession(client, {
					threadKey: `bench:${kind}:resumes`,
					prompt: PROMPT(`again${i}`),
					options,
					deps,
				}),
			);
			toSpawn.push(trace.spawned!);
		}
		return { ...figures, toSpawn, timelines, cpu };
	} finally {
		await service.stop();
	}
}

async function main() {
	const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-overhead-')));
	const fake = await startFakeAnthropic();
	// Answers every hook at once with {}: claude's own cost of posting hooks.
	const trivial = http.createServer((req, res) => {
		req.resume();
		req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
	});
	await new Promise<void>((resolve) => trivial.listen(0, '127.0.0.1', resolve));
	const trivialHookUrl = `http://127.0.0.1:${(trivial.address() as AddressInfo).port}/hooks`;
	const verdicts: string[] = [];
	console.log(
		`claude ${claudeBinary()}; ${RUNS} runs per side, alternating; ${os.cpus().length} cores; load average ${os
			.loadavg()
			.map((l) => l.toFixed(2))
			.join(' ')}\n`,
	);
	try {
		for (const kind of DATABASES) {
			const r = await benchDatabase(kind, fake.url, root, trivialHookUrl);
			console.log(
				`${kind === 'postgres' ? `PostgreSQL (${new URL(ADMIN_URL).host})` : 'embedded database (PGlite)'}`,
			);
			console.log('                 claude alone   through the product   ratio    added');
			for (const k of ['start', 'resume'] as const) {
				const a = median(r.alone[k]);
				const p = median(r.product[k]);
				const ratio = p / a;
				console.log(
					`  ${k.padEnd(6)} median  ${ms(a).padStart(12)}   ${ms(p).padStart(19)}   ×${ratio.toFixed(2)}  ${ms(p - a).padStart(7)}`,
				);
				if (k === 'start') {
					const h = median(r.aloneHooks.start);
					console.log(
						`         claude alone with the product's hooks, answered at once by a bare server: ${ms(h)} (×${(h / a).toFixed(2)} of alone)`,
					);
				}
				verdicts.push(
					`${kind} ${k}: ×${ratio.toFixed(2)} (target ≤ ×${TARGET.ratio}) ${ratio <= TARGET.ratio ? 'met' : 'NOT met'}`,
				);
			}
			for (const k of ['start', 'resume'] as const) {
				const ph = r.phases[k];
				console.log(
					`  ${k} phases (median): before claude ${ms(median(ph.before))}, claude ${ms(median(ph.claude))}, after claude ${ms(median(ph.after))}; ` +
						`${median(ph.hooks)} hook events answered in ${median(ph.hookMs).toFixed(1)} ms in all`,
				);
			}
			console.log(
				'  CPU time per run (median ms; runner = this process with the fake API, claude = claude and its tools):',
			);
			console.log('                          claude   runner  service  database    total');
			const sides = [
				['claude alone', r.cpu.alone],
				['alone, bare hook server', r.cpu.aloneHooks],
				['Start, product', r.cpu.start],
				['Resume, product', r.cpu.resume],
			] as const;
			for (const [label, runs] of sides) {
				const col = (k: keyof CpuUse) => median(runs.map((u) => u[k]));
				const total = median(runs.map((u) => u.claude + u.runner + u.service + u.database));
				console.log(
					`  ${label.padEnd(24)}${[
						col('claude'),
						col('runner'),
						col('service'),
						col('database'),
						total,
					]
						.map((v) => String(Math.round(v)).padStart(8))
						.join(' ')}`,
				);
			}
			const p50 = percentile(r.toSpawn, 50);
			const p95 = percentile(r.toSpawn, 95);
			console.log(
				`  Resume by thread key, call → claude started over ${r.toSpawn.length} resumes: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`,
			);
			verdicts.push(
				`${kind} resume call → spawn p95 ${p95.toFixed(1)} ms (target ≤ ${TARGET.resumeToSpawnP95Ms} ms) ${p95 <= TARGET.resumeToSpawnP95Ms ? 'met' : 'NOT met'}`,
			);
			console.log(`  last Start through the product, ms from the call:\n${r.timelines.start}`);
			console.log(`  last Resume through the product, ms from the call:\n${r.timelines.resume}\n`);
		}
		console.log(
			`load average at the end ${os
				.loadavg()
				.map((l) => l.toFixed(2))
				.join(' ')}`,
		);
		console.log('targets:');
		for (const v of verdicts) console.log(`  ${v}`);
	} finally {
		await fake.close();
		trivial.close();
		fs.rmSync(root, { recursive: true, force: true });
	}
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
