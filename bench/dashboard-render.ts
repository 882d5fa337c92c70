// First render of the dashboard in a real headless Chromium, against the real service:
//   - the sessions list with 10,000 sessions in the database (navigation → first page of rows painted);
//   - a session with 5,000 tool calls and 5,000 hook events (opening it → first page of the timeline painted),
//     and, for scale, how long scrolling reads in all 5,000 rows.
// Targets: both first renders under 1 s. Data is seeded with SQL into the service's own tables (fast, and the
// same schema the API writes). Runs on embedded PGlite by default; BENCH_DATABASE_URL=postgres://… runs on a
// scratch PostgreSQL database created next to it and dropped afterwards.
// Run: npm run bench:dashboard   (Chromium: apt-get install -y chromium)
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { loadConfig } from '../service/src/config';
import { openDatabase, type Database } from '../service/src/db';
import { assertChromium, launchChromium } from '../test/support/chromium';
import { createScratchDatabase } from '../test/support/scratch-database';
import { startService } from '../service/src/service';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 5_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);
const TARGET_MS = 1000;
const API_KEY = 'bench-api-key-0123456789abcdef';

async function seed(db: Database): Promise<string> {
	// Sessions of every status, workspace and thread kind, one every 4 minutes going back about a month.
	await db.query(
		`INSERT INTO sessions (id, status, workspace_type, workspace_path, workspace_branch, repository, prompt, thread_key, model,
			cost_usd, input_tokens, output_tokens, num_turns, duration_ms, run_count, hook_event_count, created_at, started_at,
			updated_at, last_activity_at)
		SELECT md5('bench-session-' || i)::uuid, (ARRAY['running','waiting','completed','failed'])[1 + i % 4],
			(ARRAY['local','worktree','github','e2b'])[1 + i % 4], '/srv/work/repo-' || (i % 50), 'feature/task-' || i,
			'acme/repo-' || (i % 50), 'Benchmark task ' || i || ': fix the flaky test in module ' || (i % 200),
			CASE i % 3 WHEN 0 THEN 'slack:C0BENCH:' || i || '.000100' WHEN 1 THEN 'email:<task-' || i || '@example.com>' END,
			'claude-sonnet-4-5', (i % 100) / 37.0, 1000 + i, 200 + i, 1 + i % 30, 1000 * (5 + i % 600), 1 + i % 3, 10 + i % 90,
			now() - i * interval '4 minutes', now() - i * interval '4 minutes', now() - i * interval '4 minutes' + interval '1 minute',
			now() - i * interval '4 minutes' + interval '2 minutes'
		FROM generate_series(1, $1::int) AS i`,
		[SESSIONS],
	);
	// The newest session: running, 5,000 tool calls (one in 25 failed) and 5,000 hook events.
	const id = crypto.randomUUID();
	await db.query(
		`INSERT INTO sessions (id, status, workspace_type, repository, workspace_branch, prompt, thread_key, hook_event_count, started_at)
		VALUES ($1, 'running', 'github', 'acme/big', 'main', 'A long session with many tool calls', 'slack:C0BIG:1.2', $2, now())`,
		[id, EVENTS],
	);
	await db.query(
		`INSERT INTO tool_calls (session_id, tool_use_id, tool_name, input, response, error, status, duration_ms, started_at, finished_at,
			seen_in_hooks, seen_in_stream)
		SELECT $1::uuid, 'toolu_bench_' || i, (ARRAY['Bash','Read','Edit','Grep','Write'])[1 + i % 5],
			jsonb_build_object('command', 'npm test -- --shard=' || i, 'description', 'Run one shard of the tests'),
			jsonb_build_object('stdout', 'PASS src/a.test.ts' || chr(10) || repeat('ok ', 60), 'stderr', '', 'interrupted', false),
			CASE WHEN i % 25 = 0 THEN 'Exit code 1' END, CASE WHEN i % 25 = 0 THEN 'failed' ELSE 'succeeded' END, 10 + i % 900,
			now() - ($2::int - i) * interval '1 second', now() - ($2::int - i) * interval '1 second' + interval '500 ms', true, true
		FROM generate_series(1, $2::int) AS i`,
		[id, EVENTS],
	);
	await db.query(
		`INSERT INTO hook_events (session_id, event_name, tool_name, tool_use_id, payload, payload_hash, received_at)
		SELECT $1::uuid, CASE WHEN i % 2 = 0 THEN 'PostToolUse' ELSE 'PreToolUse' END, 'Bash', 'toolu_bench_' || (i / 2),
			jsonb_build_object('session_id', $1::uuid::text, 'hook_event_name', CASE WHEN i % 2 = 0 THEN 'PostToolUse' ELSE 'PreToolUse' END,
				'cwd', '/srv/work/big', 'tool_name', 'Bash', 'tool_use_id', 'toolu_bench_' || (i / 2),
				'tool_input', jsonb_build_object('command', 'npm test -- --shard=' || (i / 2))),
			md5('bench-event-' || i), now() - ($2::int - i) * interval '500 ms'
		FROM generate_series(1, $2::int) AS i`,
		[id, EVENTS],
	);
	return id;
}

// Functions given to page.evaluate run in the browser; without the DOM lib they use an untyped globalThis.
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mark = (page: Page, name: string) =>
	page
		.waitForFunction((n) => performance.getEntriesByName(n).length > 0, name, { timeout: 30_000 })
		.then(() => page.evaluate((n) => performance.getEntriesByName(n)[0].startTime, name));

/** Navigation start → first page of session rows painted (performance.now() counts from navigation start). */
async function listFirstRender(page: Page, url: string) {
	await page.goto('about:blank');
	await page.goto(`${url}/#/sessions`, { waitUntil: 'commit' });
	const ms = await mark(page, 'dashboard:sessions-rendered');
	const rows = await page.locator('table.sessions tbody tr').count();
	if (rows !== 50) throw new Error(`expected 50 rows, saw ${rows}`);
	return ms;
}

/** Opening the session from the list → first page of the timeline painted; then scrolling in all rows. */
async function timelineRender(page: Page, id: string, tab: 'timeline' | 'events') {
	await page.evaluate(() => {
		(globalThis as any).location.hash = '#/sessions';
		performance.clearMarks();
	});
	await page.locator('table.sessions tbody tr').nth(49).waitFor();
	const opened = await page.evaluate(
		([sid, t]) => {
			performance.clearMarks();
			const at = performance.now();
			(globalThis as any).location.hash = `#/sessions/${sid}${t === 'events' ? '?tab=events' : ''}`;
			return at;
		},
		[id, tab] as const,
	);
	const first = (await mark(page, `dashboard:${tab}-rendered`)) - opened;
	// Reads every page by scrolling to the end of the list until the service says there is no more.
	const all = await page.evaluate(
		async ([t, total]) => {
			const started = performance.now();
			const list = (globalThis as any).document.querySelector(`[data-list="${t}"]`)!;
			while (list.dataset.done !== 'true') {
				list.querySelector('.sentinel')!.scrollIntoView();
				// This runs in the page: the test support's sleep is not there.
				await new Promise((r) => setTimeout(r, 16));
			}
			await new Promise((r) => (globalThis as any).requestAnimationFrame(() => setTimeout(r, 0)));
			if (Number(list.dataset.count) !== total)
				throw new Error(`expected ${total} rows, saw ${list.dataset.count}`);
			return performance.now() - started;
		},
		[tab, EVENTS] as const,
	);
	return { first, all };
}

async function main() {
	assertChromium();
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-dashboard-'));
	const scratch = process.env.BENCH_DATABASE_URL
		? await createScratchDatabase(process.env.BENCH_DATABASE_URL, 'orch_bench')
		: undefined;
	const config = loadConfig({
		PORT: '0',
		DATA_DIR: dataDir,
		API_KEY,
		...(scratch ? { DATABASE_URL: scratch.url } : {}),
	});
	const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
	const seedStart = Date.now();
	const bigId = await seed(db);
	// Months of rows arrived in one second: let the database settle (statistics, dirty pages written) as it would
	// have over those months, so that the first render measures the dashboard and not the bulk load.
	await db.query('ANALYZE');
	await db.query('CHECKPOINT');
	process.stdout.write(
		`seeded ${SESSIONS} sessions and ${EVENTS} tool calls + ${EVENTS} hook events on ${db.kind} in ${Date.now() - seedStart} ms\n`,
	);
	const service = await startService(config, { db });
	const browser = await launchChromium();
	const { context } = browser;
	let failed = false;
	try {
		// Signed in, as after the sign-in form: the token is already in this tab's (globalThis as any).sessionStorage.
		await context.addInitScript(
			(key) => (globalThis as any).sessionStorage.setItem('claude-orchestrator.token', key),
			API_KEY,
		);
		const page = await context.newPage();

		const list: number[] = [];
		for (let i = 0; i < REPEAT; i++) list.push(await listFirstRender(page, service.url));
		const timeline: Array<{ first: number; all: number }> = [];
		const events: Array<{ first: number; all: number }> = [];
		for (let i = 0; i < REPEAT; i++) timeline.push(await timelineRender(page, bigId, 'timeline'));
		for (let i = 0; i < REPEAT; i++) events.push(await timelineRender(page, bigId, 'events'));

		// The API behind the list: page 1 and a page 9,950 sessions deep cost the same (keyset pagination).
		const auth = { Authorization: `Bearer ${API_KEY}` };
		const time = async (u: string) => {
			const t = performance.now();
			const res = await fetch(u, { headers: auth });
			await res.json();
			return performance.now() - t;
		};
		const { rows } = await db.query<{ t: string; id: string }>(
			'SELECT created_at::text AS t, id FROM sessions ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1',
			[SESSIONS - 50],
		);
		const deepCursor = Buffer.from(JSON.stringify({ t: rows[0].t, id: rows[0].id })).toString(
			'base64url',
		);
		const page1: number[] = [];
		const deep: number[] = [];
		for (let i = 0; i < 20; i++) {
			page1.push(await time(`${service.url}/api/v1/sessions?limit=50`));
			deep.push(await time(`${service.url}/api/v1/sessions?limit=50&cursor=${deepCursor}`));
		}

		const fmt = (n: number) => `${Math.round(n)} ms`;
		const line = (what: string, cold: number, warm: number, target?: number) => {
			const over = target !== undefined && Math.max(cold, warm) >= target;
			failed ||= over;
			return `${what.padEnd(58)} first ${fmt(cold).padStart(7)}   median ${fmt(warm).padStart(7)}${target ? `   target < ${target} ms: ${over ? 'MISSED' : 'met'}` : ''}`;
		};
		process.stdout.write(
			[
				'',
				`Dashboard render on ${db.kind}, Chromium ${context.browser()?.version() ?? ''} headless, ${REPEAT} runs each ("first" = cold browser cache)`,
				line(
					`sessions list, first page painted (${SESSIONS} sessions)`,
					list[0],
					median(list),
					TARGET_MS,
				),
				line(
					`timeline, first page painted (${EVENTS} tool calls)`,
					timeline[0].first,
					median(timeline.map((r) => r.first)),
					TARGET_MS,
				),
				line(
					`hook events, first page painted (${EVENTS} events)`,
					events[0].first,
					median(events.map((r) => r.first)),
					TARGET_MS,
				),
				line(
					`timeline, all ${EVENTS} rows read in by scrolling`,
					timeline[0].all,
					median(timeline.map((r) => r.all)),
				),
				line(
					`hook events, all ${EVENTS} rows read in by scrolling`,
					events[0].all,
					median(events.map((r) => r.all)),
				),
				line('API GET /sessions?limit=50, page 1', page1[0], median(page1)),
				line(`API GET /sessions?limit=50, ${SESSIONS - 50} sessions deep`, deep[0], median(deep)),
				'',
			].join('\n'),
		);
	} finally {
		await browser.close();
		await service.close();
		await db.close();
		await scratch?.drop();
		fs.rmSync(dataDir, { recursive: true, force: true });
	}
	if (failed) process.exitCode = 1;
}

main().catch((err) => {
	process.stderr.write(
		`dashboard benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`,
	);
	process.exit(1);
});
