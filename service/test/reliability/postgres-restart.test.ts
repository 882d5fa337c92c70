import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startSession, type SessionOutput } from '../../../nodes/shared/session/session-run';
import { fetchClient } from '../../../nodes/shared/session/fetch-client';
import { loadConfig } from '../../src/config';
import { createPostgresDatabase } from '../../src/db/postgres';
import { startService, type RunningService } from '../../src/service';
import { TEST_API_KEY } from '../../../test/support/test-service';
import {
	postgresBinDir,
	startPrivatePostgres,
	type PrivatePostgres,
} from '../../../test/support/private-postgres';
import {
	claudeFixture,
	countByName,
	eventNames,
	hookOutcomes,
	scrapeMetrics,
	toolCalls,
	type ClaudeFixture,
} from '../../../test/support/claude-fixture';
import { waitUntil, sleep } from '../../../test/support/wait';

// PostgreSQL goes away for 3 s (fast shutdown: every connection is cut, as in a failover or a restart for an
// upgrade) while 20 real claude sessions post hooks and stream writes. Nobody restarts the service: it must
// come back by itself, and once the runs end every hook event and every tool call must be there.
// The cluster is private (see private-postgres.ts): the machine's shared server is never touched.

const SESSIONS = 20;
const DOWN_MS = 3000;
const STARTING = 5;
const bin = postgresBinDir();
if (!bin)
	process.stderr.write(
		'postgres-restart: skipped, no /usr/lib/postgresql/*/bin/initdb and pg_ctl on this machine\n',
	);

// Four tool calls with pauses, so every run is still posting hooks when the database goes away.
const promptFor = (i: number) =>
	`[[bash:echo s${i}-one > 1.txt]] [[delay:1500]] [[bash:echo s${i}-two > 2.txt]] [[delay:1500]] [[write:3.txt::three ${i}]] [[delay:1500]] [[read:3.txt]]`;

(bin ? describe : describe.skip)('PostgreSQL restarted under 20 concurrent sessions', () => {
	let pg: PrivatePostgres;
	let svc: RunningService;
	let fx: ClaudeFixture;
	let dataDir: string;

	beforeAll(async () => {
		[pg, fx] = await Promise.all([startPrivatePostgres(), claudeFixture('orch-pg-restart')]);
		dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-pg-restart-data-'));
		svc = await startService(
			loadConfig({ PORT: '0', DATA_DIR: dataDir, API_KEY: TEST_API_KEY, DATABASE_URL: pg.url }),
		);
	}, 300_000);
	afterAll(async () => {
		await svc?.close();
		await pg?.destroy();
		await fx?.close();
		if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
	}, 180_000);

	it('recovers by itself; once the runs end no event or tool call is missing', async () => {
		const client = fetchClient(svc.url, svc.apiKey);
		const run = (i: number, sessionId?: string) =>
			startSession(client, {
				sessionId,
				prompt: promptFor(i),
				workspace: { type: 'local', workspacePath: fx.folder(`s${i}`) },
				options: fx.options(),
				deps: fx.deps,
			});

		// Counted from before the control run, which is counted too: no hook of its can land between two scrapes.
		const before = await scrapeMetrics(svc.url, svc.apiKey);
		// A run with nothing going wrong: what a complete record of this prompt looks like.
		const control = await run(-1);
		expect(control.status).toBe('completed');
		const expectedEvents = countByName(await eventNames(client, control.sessionId));
		expect(expectedEvents).toMatchObject({
			PreToolUse: 4,
			PostToolUse: 4,
			Stop: 1,
			SessionEnd: 1,
			SessionStart: 1,
			UserPromptSubmit: 1,
		});

		// At most STARTING claude processes start at a time. Twenty starting in the same instant take every CPU of a
		// 2-core machine for seconds, so the service cannot answer their first hooks before claude's own hook timeout
		// (5 s) and claude drops those events unacknowledged: a fault of the machine, not of the restart under test.
		// A session counts as started once its first hook (UserPromptSubmit) is stored.
		const ids = Array.from({ length: SESSIONS }, () => crypto.randomUUID());
		const prompted = async () =>
			(
				await svc.db.query<{ n: number }>(
					"SELECT count(DISTINCT session_id)::int AS n FROM hook_events WHERE event_name = 'UserPromptSubmit' AND session_id = ANY($1::uuid[])",
					[ids],
				)
			).rows[0].n;
		const runs: Promise<SessionOutput>[] = [];
		for (const [i, id] of ids.entries()) {
			expect(await waitUntil(async () => i - (await prompted()) < STARTING, 120_000)).toBeTruthy();
			runs.push(run(i, id));
		}
		// Every run past its start (a Start whose own requests meet the outage fails: that is not what is tested here).
		expect(await waitUntil(async () => (await prompted()) === SESSIONS, 120_000)).toBeTruthy();
		// Fault once the sessions are busy: enough tool calls stored that most runs are between tool calls.
		const toolCallsSoFar = async () =>
			(await svc.db.query<{ n: number }>('SELECT count(*)::int AS n FROM tool_calls')).rows[0].n;
		expect(
			await waitUntil(async () => (await toolCallsSoFar()) >= 1 + SESSIONS, 300_000),
		).toBeTruthy();
		const runningAtFault = (
			await svc.db.query<{ n: number }>(
				"SELECT count(*)::int AS n FROM sessions WHERE id = ANY($1::uuid[]) AND status = 'running'",
				[ids],
			)
		).rows[0].n;
		const { stoppedAt, startedAt } = await pg.restart(DOWN_MS);

		// Nobody touches the service: its next write must succeed on its own.
		const healthyAgain = await waitUntil(
			async () =>
				(await fetch(`${svc.url}/api/v1/health`).then(
					(r) => r.ok,
					() => false,
				)) && Date.now(),
			30_000,
		);
		expect(healthyAgain).toBeTruthy();

		const outs: SessionOutput[] = await Promise.all(runs);
		const after = await scrapeMetrics(svc.url, svc.apiKey);
		const missing: string[] = [];
		for (const [i, out] of outs.entries()) {
			expect({ i, status: out.status, hooks: out.hooksReceived }).toEqual({
				i,
				status: 'completed',
				hooks: true,
			});
			const events = countByName(await eventNames(client, out.sessionId));
			if (JSON.stringify(events) !== JSON.stringify(expectedEvents))
				missing.push(`s${i}: ${JSON.stringify(events)}`);
			const calls = await toolCalls(client, out.sessionId);
			expect(calls.map((c) => [c.tool, c.status, [...c.sources].sort()])).toEqual([
				['Bash', 'succeeded', ['hooks', 'stream']],
				['Bash', 'succeeded', ['hooks', 'stream']],
				['Write', 'succeeded', ['hooks', 'stream']],
				['Read', 'succeeded', ['hooks', 'stream']],
			]);
			expect(fs.readFileSync(path.join(out.workspace.path, '2.txt'), 'utf8')).toBe(`s${i}-two\n`);
		}
		expect(missing).toEqual([]);
		// Every hook the service acknowledged is a row: the ones answered 202 while the database was away included.
		// Claude Code posts each hook once and never again, so each answer it got (stored, duplicate or queued, all
		// 2xx) stands for one event. SessionStart is not one of them: the runner posts it from the stream's init
		// line and posts it again when the answer did not come within its own deadline (a slow service looks like a
		// lost request), so its answers can outnumber its events; each run's one SessionStart is checked above.
		const fromClaude = (name: string) => name !== 'SessionStart';
		const answered = (m: Map<string, number>, events: (name: string) => boolean) => {
			const o = hookOutcomes(m, events);
			return o.stored + o.duplicate + o.queued;
		};
		const acknowledged = answered(after, fromClaude) - answered(before, fromClaude);
		const { rows } = await svc.db.query<{ n: number; starts: number }>(
			`SELECT count(*) FILTER (WHERE event_name <> 'SessionStart')::int AS n, count(*) FILTER (WHERE event_name = 'SessionStart')::int AS starts
			FROM hook_events WHERE session_id = ANY($1::uuid[]) AND payload->>'source' IS DISTINCT FROM 'service'`,
			[[control, ...outs].map((o) => o.sessionId)],
		);
		expect(rows[0].n).toBe(acknowledged);
		const isStart = (name: string) => name === 'SessionStart';
		expect(rows[0].starts).toBe(1 + SESSIONS);
		expect(answered(after, isStart) - answered(before, isStart)).toBeGreaterThanOrEqual(
			1 + SESSIONS,
		);
		const queued = hookOutcomes(after).queued - hookOutcomes(before).queued;
		process.stderr.write(
			`[reliability] postgres restart: down ${startedAt - stoppedAt} ms, service healthy ${Number(healthyAgain) - startedAt} ms after; ` +
				`${SESSIONS} sessions (${runningAtFault} running when it went down) and a control run, ${rows[0].n + rows[0].starts} hook events (${queued} answered 202 while queued), ` +
				`${SESSIONS * 4} tool calls; missing 0\n`,
		);
	}, 600_000);
});

(bin ? describe : describe.skip)('PostgreSQL connections cut under a busy pool', () => {
	let pg: PrivatePostgres;
	beforeAll(async () => {
		pg = await startPrivatePostgres();
	}, 180_000);
	afterAll(() => pg?.destroy(), 30_000);

	// A restart cuts every connection; when that lands on a client the pool is just handing over, the 'error'
	// event used to go unheard and end the process. Terminating every backend 100 times while 20 workers share
	// a pool of 2 hits that window in every run without the fix in db/postgres.ts (jest reports the unhandled error).
	// A cut connection costs the one statement (or transaction) it was running: a dead client handed out again
	// would fail statement after statement, so the failures are counted against the connections cut, whatever
	// the machine's speed.
	it('a cut connection fails one statement; the process sees no unhandled error and the pool recovers', async () => {
		const db = createPostgresDatabase(pg.url, 2);
		const admin = new Client({ connectionString: pg.url });
		await admin.connect();
		let stop = false;
		let ok = 0;
		let failed = 0;
		// Waiting longer than the pool's connect timeout for a free client says nothing about cut connections.
		let checkoutTimeouts = 0;
		const fail = (err: unknown) => {
			if (/timeout exceeded when trying to connect/.test((err as Error).message))
				checkoutTimeouts++;
			else failed++;
		};
		const worker = async () => {
			while (!stop) {
				await db
					.transaction(async (tx) => {
						await tx.query('SELECT 1');
						await tx.query('SELECT 2');
					})
					.then(() => ok++, fail);
				await db.query('SELECT 3').then(() => ok++, fail);
			}
		};
		const workers = Array.from({ length: 20 }, worker);
		let cut = 0;
		try {
			for (let i = 0; i < 100; i++) {
				await sleep(30);
				const { rows } = await admin.query<{ cut: boolean }>(
					"SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
				);
				cut += rows.filter((r) => r.cut).length;
			}
			stop = true;
			await Promise.all(workers);
			expect(cut).toBeGreaterThan(0);
			expect(failed).toBeGreaterThan(0);
			expect(failed).toBeLessThanOrEqual(cut);
			expect(ok).toBeGreaterThan(0);
			// Afterwards the pool works as before: the dead clients were dropped, not handed out again.
			for (let i = 0; i < 5; i++)
				await expect(db.transaction((tx) => tx.query('SELECT 1 AS one'))).resolves.toMatchObject({
					rows: [{ one: 1 }],
				});
			process.stderr.write(
				`[reliability] connections cut: ${cut} cut, ${failed} statements failed, ${ok} succeeded, ${checkoutTimeouts} checkout timeouts\n`,
			);
		} finally {
			stop = true;
			await Promise.all(workers);
			await admin.end();
			await db.close();
		}
	}, 180_000);
});
