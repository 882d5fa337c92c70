// Load: N concurrent Claude sessions (the real claude CLI through startSession, as the nodes run them) against the
// loopback fake Anthropic API and the service on PostgreSQL, sustained for a while: every worker starts a new
// session as soon as its last one ends. Reports hook events per second, the p99 hook acknowledgement time
// (the service's own histogram), the memory of the service (and of n8n, which runs a Hook Trigger workflow on
// every finished session), and the events lost, which must be 0.
//
//   npm run bench:load                                   50 sessions for 120 s, with n8n
//   LOAD_SESSIONS=10 LOAD_SECONDS=20 LOAD_N8N=0 npm run bench:load
//
// The service runs as its own process (dist/service/src/index.js) on a scratch database next to
// BENCH_DATABASE_URL (default the machine's `test` database), dropped afterwards. The short CI variant is
// service/test/reliability/load-short.test.ts, which calls runLoad() below.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { OrchestratorClient } from '../nodes/shared/session/client';
import { parseRunOptions, type RunOptions } from '../nodes/shared/session/run-options';
import { startSession } from '../nodes/shared/session/session-run';
import { createScratchDatabase } from '../test/support/scratch-database';
import { startFakeAnthropic } from '../test/fakes/anthropic-api';
import { isolatedClaudeEnv } from '../test/fakes/claude-cli';
import { fetchClient } from '../nodes/shared/session/fetch-client';
import { sleep } from '../test/support/wait';

export interface LoadTarget {
	client: OrchestratorClient;
	/** Service base URL and API key, for /metrics. */
	url: string;
	apiKey: string;
	/** Resident memory of the service in KiB, if it runs as a process of its own. */
	serviceRssKb?: () => number | undefined;
	/** Resident memory of n8n (all its processes) in KiB, if one runs. */
	n8nRssKb?: () => number | undefined;
}

export interface LoadSetup {
	sessions: number;
	seconds: number;
	options: RunOptions;
	deps: { allowedRoots: string[]; workspacesDir: string; cacheDir: string };
	/** Folder every session of one worker runs in (inside an allowed root). */
	folderFor(worker: number): string;
	log?: (line: string) => void;
}

export interface LoadReport {
	sessions: number;
	seconds: number;
	runs: number;
	runsFailed: number;
	hookEvents: number;
	eventsPerSecond: number;
	/** Upper bound of the p99 hook acknowledgement time (a histogram bucket), and the mean. */
	p99AckMsAtMost: number;
	meanAckMs: number;
	toolCalls: number;
	/** Events a run should have recorded (as the calibration run did) and did not, summed over runs: the loss check. */
	lostEvents: number;
	/** Events a run recorded beyond the calibration run's (a double write would show here). */
	extraEvents: number;
	lostToolCalls: number;
	/** Hook POSTs answered 202 (still queued when the ack timeout passed) and answered 200. */
	answered202: number;
	answered200: number;
	/**
	 * Answers 200/202 minus events held. Not a loss measure: a 202 is counted before the service knows whether it
	 * duplicates an earlier try of the same POST (the node retries its SessionStart write when an answer takes
	 * over 3 s); the per-run comparison (lostEvents) is what says nothing was lost.
	 */
	acknowledgedNotStored: number;
	serviceRssMb: { start?: number; peak?: number; end?: number };
	n8nRssMb: { start?: number; peak?: number; end?: number };
}

const ALL_PAGES = 500;

async function eventNames(client: OrchestratorClient, sessionId: string): Promise<string[]> {
	const names: string[] = [];
	let cursor: string | null = null;
	do {
		const page: { items: Array<{ event: string }>; nextCursor: string | null } =
			await client.request('GET', `/api/v1/sessions/${sessionId}/events`, undefined, {
				limit: ALL_PAGES,
				...(cursor ? { cursor } : {}),
			});
		names.push(...page.items.map((e) => e.event));
		cursor = page.nextCursor;
	} while (cursor);
	return names;
}

const tally = (names: string[]) =>
	names.reduce<Record<string, number>>((m, n) => ((m[n] = (m[n] ?? 0) + 1), m), {});

async function scrape(url: string, apiKey: string): Promise<Map<string, number>> {
	const res = await fetch(`${url}/metrics`, {
		headers: { Authorization: `Bearer ${apiKey}` },
		signal: AbortSignal.timeout(15_000),
	});
	const out = new Map<string, number>();
	for (const line of (await res.text()).split('\n')) {
		if (!line || line.startsWith('#')) continue;
		const i = line.lastIndexOf(' ');
		out.set(line.slice(0, i), Number(line.slice(i + 1)));
	}
	return out;
}

function ackFigures(before: Map<string, number>, after: Map<string, number>) {
	const d = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
	const count = d('orchestrator_hook_ack_ms_count');
	let p99 = Infinity;
	for (const le of ['1', '2', '5', '10', '20', '50', '100', '250', '500', '1000', '2500']) {
		if (count > 0 && d(`orchestrator_hook_ack_ms_bucket{le="${le}"}`) >= 0.99 * count) {
			p99 = Number(le);
			break;
		}
	}
	const outcomes = { stored: 0, queued: 0, duplicate: 0 };
	for (const k of after.keys()) {
		const m =
			/^orchestrator_hook_events_total\{event="[^"]*",outcome="(stored|queued|duplicate)"\}$/.exec(
				k,
			);
		if (m) outcomes[m[1] as keyof typeof outcomes] += d(k);
	}
	return { count, p99, mean: count ? d('orchestrator_hook_ack_ms_sum') / count : 0, ...outcomes };
}

/** The prompt of run `n`: three tool calls on files of its own, so runs in one folder never meet. */
const promptFor = (n: string) =>
	`[[bash:echo run ${n}]] [[write:out-${n}.txt::${n}]] [[read:out-${n}.txt]]`;

export async function runLoad(target: LoadTarget, setup: LoadSetup): Promise<LoadReport> {
	const { client } = target;
	const log = setup.log ?? (() => undefined);
	const run = (worker: number, n: string) =>
		startSession(client, {
			prompt: promptFor(n),
			workspace: { type: 'local', workspacePath: setup.folderFor(worker) },
			options: setup.options,
			deps: setup.deps,
		});

	// What one complete run records, measured with nothing else running.
	const calibration = await run(0, 'calibration');
	if (calibration.status !== 'completed')
		throw new Error(`the calibration run ended ${calibration.status}: ${calibration.errorMessage}`);
	const expected = tally(await eventNames(client, calibration.sessionId));
	log(`calibration: ${JSON.stringify(expected)}`);

	const rss: Record<'service' | 'n8n', number[]> = { service: [], n8n: [] };
	const sample = () => {
		const s = target.serviceRssKb?.();
		const n = target.n8nRssKb?.();
		if (s) rss.service.push(s);
		if (n) rss.n8n.push(n);
	};
	sample();
	const sampler = setInterval(sample, 1000);
	const before = await scrape(target.url, target.apiKey);
	const started = Date.now();
	const deadline = started + setup.seconds * 1000;
	const finished: Array<{ sessionId: string; status: string }> = [];
	let lastLog = started;
	const worker = async (w: number) => {
		for (let i = 0; Date.now() < deadline; i++) {
			const out = await run(w, `${w}-${i}`).catch((error: unknown) => ({
				sessionId: '',
				status: `threw: ${error instanceof Error ? error.message : String(error)}`,
			}));
			finished.push({ sessionId: out.sessionId, status: out.status });
			if (Date.now() - lastLog > 10_000) {
				lastLog = Date.now();
				log(`${Math.round((Date.now() - started) / 1000)} s: ${finished.length} runs finished`);
			}
		}
	};
	await Promise.all(Array.from({ length: setup.sessions }, (_, w) => worker(w)));
	const elapsedS = (Date.now() - started) / 1000;
	clearInterval(sampler);
	sample();
	const after = await scrape(target.url, target.apiKey);

	let hookEvents = 0;
	let lostEvents = 0;
	let extraEvents = 0;
	let toolCalls = 0;
	let lostToolCalls = 0;
	for (const f of finished.filter((x) => x.sessionId)) {
		const got = tally(await eventNames(client, f.sessionId));
		hookEvents += Object.values(got).reduce((a, b) => a + b, 0);
		for (const [name, n] of Object.entries(expected))
			lostEvents += Math.max(0, n - (got[name] ?? 0));
		for (const [name, n] of Object.entries(got))
			extraEvents += Math.max(0, n - (expected[name] ?? 0));
		const calls = await client.request<{ items: Array<{ status: string; sources: string[] }> }>(
			'GET',
			`/api/v1/sessions/${f.sessionId}/logs`,
			undefined,
			{ limit: 50 },
		);
		toolCalls += calls.items.length;
		lostToolCalls += Math.max(
			0,
			3 -
				calls.items.filter(
					(c) =>
						c.status === 'succeeded' && c.sources.includes('hooks') && c.sources.includes('stream'),
				).length,
		);
	}
	const ack = ackFigures(before, after);
	const mb = (xs: number[]) => ({
		start: xs.length ? Math.round(xs[0] / 1024) : undefined,
		peak: xs.length ? Math.round(Math.max(...xs) / 1024) : undefined,
		end: xs.length ? Math.round(xs[xs.length - 1] / 1024) : undefined,
	});
	return {
		sessions: setup.sessions,
		seconds: Math.round(elapsedS),
		runs: finished.length,
		runsFailed: finished.filter((f) => f.status !== 'completed').length,
		hookEvents,
		eventsPerSecond: Math.round((hookEvents / elapsedS) * 10) / 10,
		p99AckMsAtMost: ack.p99,
		meanAckMs: Math.round(ack.mean * 100) / 100,
		toolCalls,
		lostEvents,
		extraEvents,
		lostToolCalls,
		answered202: ack.queued,
		answered200: ack.stored,
		acknowledgedNotStored: ack.stored + ack.queued - hookEvents,
		serviceRssMb: mb(rss.service),
		n8nRssMb: mb(rss.n8n),
	};
}

export function formatReport(r: LoadReport): string {
	return [
		`sessions at once        ${r.sessions} for ${r.seconds} s (${r.runs} runs, ${r.runsFailed} not completed)`,
		`hook events             ${r.hookEvents} stored, ${r.eventsPerSecond} events/s`,
		`hook ack                p99 <= ${r.p99AckMsAtMost} ms, mean ${r.meanAckMs} ms (${r.answered200} answered 200, ${r.answered202} answered 202 while queued)`,
		`tool calls              ${r.toolCalls}`,
		`service RSS             start ${r.serviceRssMb.start} MB, peak ${r.serviceRssMb.peak} MB, end ${r.serviceRssMb.end} MB`,
		`n8n RSS                 ${r.n8nRssMb.peak === undefined ? 'not measured' : `start ${r.n8nRssMb.start} MB, peak ${r.n8nRssMb.peak} MB, end ${r.n8nRssMb.end} MB`}`,
		`lost                    ${r.lostEvents} events, ${r.lostToolCalls} tool calls (extra events: ${r.extraEvents}; answers minus rows: ${r.acknowledgedNotStored})`,
	].join('\n');
}

/** Resident memory in KiB of every process whose environment holds `marker` (n8n and its task runner). */
export function rssOfProcessesWith(marker: string): number | undefined {
	let total = 0;
	for (const pid of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
		try {
			if (!fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(marker)) continue;
			const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
			if (m) total += Number(m[1]);
		} catch {
			// Gone while we looked, or not ours to read.
		}
	}
	return total || undefined;
}

function repoRoot(): string {
	for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
		try {
			if (
				JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name ===
				'n8n-nodes-claude-orchestrator'
			)
				return dir;
		} catch {
			// not here
		}
	}
	throw new Error('cannot find the repository root');
}

async function main() {
	const root = repoRoot();

	const sessions = Number(process.env.LOAD_SESSIONS ?? 50);
	const seconds = Number(process.env.LOAD_SECONDS ?? 120);
	const withN8n = process.env.LOAD_N8N !== '0';
	const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
	const apiKey = `load-${crypto.randomBytes(12).toString('hex')}`;
	const port = 3700 + Math.floor(Math.random() * 200);
	const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-load-')));
	const stops: Array<() => Promise<unknown> | unknown> = [
		() => fs.rmSync(base, { recursive: true, force: true }),
	];
	const stopAll = async () => {
		for (const stop of stops.reverse())
			await Promise.resolve(stop()).catch((e) => console.error(e));
	};
	try {
		const scratch = await createScratchDatabase(adminUrl, 'orch_load');
		stops.push(() => scratch.drop());
		const fake = await startFakeAnthropic();
		stops.push(() => fake.close());
		const service: ChildProcess = spawn(
			process.execPath,
			[path.join(root, 'dist', 'service', 'src', 'index.js')],
			{
				env: {
					...process.env,
					PORT: String(port),
					DATABASE_URL: scratch.url,
					API_KEY: apiKey,
					LOG_LEVEL: 'warn',
					DATA_DIR: path.join(base, 'data'),
					DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
				},
				stdio: ['ignore', 'ignore', 'inherit'],
			},
		);
		stops.push(
			() =>
				new Promise((r) =>
					service.exitCode !== null
						? r(undefined)
						: (service.once('exit', r), service.kill('SIGTERM')),
				),
		);
		const url = `http://127.0.0.1:${port}`;
		for (let i = 0; ; i++) {
			if (
				await fetch(`${url}/api/v1/health`).then(
					(r) => r.ok,
					() => false,
				)
			)
				break;
			if (i > 150) throw new Error('the service did not come up within 30 s');
			await sleep(200);
		}
		const client = fetchClient(url, apiKey);

		let n8nRssKb: (() => number | undefined) | undefined;
		if (withN8n) {
			const { ensureN8nCache, startN8n } = await import('../scripts/n8n/n8n-instance');
			const { orchestratorCredential, sessionFinishedTrigger } =
				await import('../test/e2e-n8n/workflow-nodes');
			await ensureN8nCache();
			const n8n = await startN8n({
				packageDir: root,
				credentials: [orchestratorCredential('loadOrchCred0001', url, apiKey)],
				workflows: [
					{
						id: 'loadSessionDone1',
						name: 'Load: session finished',
						nodes: [
							sessionFinishedTrigger({
								id: 'l1',
								name: 'Session Finished',
								webhookId: '7f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f',
								credentialId: 'loadOrchCred0001',
							}),
							{
								id: 'l2',
								name: 'Done',
								type: 'n8n-nodes-base.noOp',
								typeVersion: 1,
								position: [220, 0],
								parameters: {},
							},
						],
						connections: {
							'Session Finished': { main: [[{ node: 'Done', type: 'main', index: 0 }]] },
						},
						settings: { executionOrder: 'v1' },
					},
				],
			});
			stops.push(() => n8n.stop());
			n8nRssKb = () => rssOfProcessesWith(`N8N_USER_FOLDER=${n8n.userFolder}`);
		}

		const claudeCandidates = [
			path.join(root, 'node_modules', '.bin', 'claude'),
			path.join(root, 'node_modules', '@anthropic-ai', 'claude-code-linux-x64', 'claude'),
		];
		const claudePath = claudeCandidates.find(
			(p) => fs.existsSync(p) && fs.statSync(p).size > 1024 * 1024,
		);
		if (!claudePath)
			throw new Error(
				`no native claude binary at ${claudeCandidates.join(' or ')}; run npm install`,
			);
		const projects = path.join(base, 'projects');
		const options = parseRunOptions({
			claudePath,
			env: isolatedClaudeEnv(path.join(base, 'claude'), fake.url),
			timeoutSeconds: 600,
			queueTimeoutSeconds: 600,
		});
		console.log(
			`load: ${sessions} sessions for ${seconds} s; service ${url} on PostgreSQL ${new URL(adminUrl).host}; n8n ${withN8n ? 'with a Hook Trigger on every finished session' : 'not started'}; ${os.cpus().length} cores`,
		);
		const report = await runLoad(
			{
				client,
				url,
				apiKey,
				serviceRssKb: () => (service.pid ? rssOfPid(service.pid) : undefined),
				n8nRssKb,
			},
			{
				sessions,
				seconds,
				options,
				deps: {
					allowedRoots: [projects],
					workspacesDir: path.join(base, 'workspaces'),
					cacheDir: path.join(base, 'cache'),
				},
				folderFor: (w) => {
					const dir = path.join(projects, `worker-${w}`);
					fs.mkdirSync(dir, { recursive: true });
					return dir;
				},
				log: (line) => console.log(line),
			},
		);
		console.log(`\n${formatReport(report)}`);
		if (report.lostEvents || report.lostToolCalls || report.extraEvents || report.runsFailed)
			process.exitCode = 1;
	} finally {
		await stopAll();
	}
}

function rssOfPid(pid: number): number | undefined {
	try {
		const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
		return m ? Number(m[1]) : undefined;
	} catch {
		return undefined;
	}
}

if (require.main === module) {
	main().catch((err) => {
		console.error(err);
		process.exit(1);
	});
}
