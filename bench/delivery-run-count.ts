// What one Hook Trigger delivery costs to claim in a long session. Every delivery carries its run's tool calls so
// far (run.toolCalls), counted when it is claimed. Seeds one session with 5,000 tool calls (BENCH_TOOL_CALLS) over
// BENCH_RUNS runs, other sessions beside it, and deliveries of the session's last run; then claims them one at a
// time, with and without the tool_calls (session_id, time) index of migration 020, and reports the claim's
// median and p95 time and the buffers its run count reads. PostgreSQL only (BENCH_DATABASE_URL, default the
// machine's `test` database; a scratch database is created next to it and dropped afterwards).
import crypto from 'node:crypto';
import { openDatabase, type Database } from '../service/src/db';
import { claimDue, markDelivered } from '../service/src/deliveries/deliveries.repository';
import { createScratchDatabase } from '../test/support/scratch-database';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TOOL_CALLS = Number(process.env.BENCH_TOOL_CALLS ?? 5000);
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 200);
const OTHER_SESSIONS = 20;

async function seedSession(db: Database, toolCalls: number, runs: number): Promise<string> {
	const id = crypto.randomUUID();
	await db.query(
		`INSERT INTO sessions (id, status, workspace_type, workspace_path) VALUES ($1, 'running', 'local', '/srv/work')`,
		[id],
	);
	const perRun = Math.ceil(toolCalls / runs);
	const t0 = Date.now() - 3_600_000;
	for (let r = 0; r < runs; r++) {
		const start = new Date(t0 + r * 300_000);
		const last = r === runs - 1;
		await db.query(
			`INSERT INTO session_runs (id, session_id, kind, status, started_at, ended_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			[
				crypto.randomUUID(),
				id,
				r ? 'resume' : 'start',
				last ? 'running' : 'completed',
				start,
				last ? null : new Date(start.getTime() + 290_000),
			],
		);
		const n = Math.min(perRun, toolCalls - r * perRun);
		// A realistic row: a command in, some output back (the count never reads them, the heap holds them).
		await db.query(
			`INSERT INTO tool_calls (session_id, tool_use_id, tool_name, input, response, status, started_at, finished_at)
			SELECT $1, 'toolu_' || $2 || '_' || i, 'Bash', jsonb_build_object('command', 'grep -rn needle src/ | head -' || i),
				jsonb_build_object('stdout', repeat('src/file.ts:1: needle ', 20), 'stderr', ''), 'succeeded',
				$3::timestamptz + make_interval(secs => i * 0.05), $3::timestamptz + make_interval(secs => i * 0.05 + 0.02)
			FROM generate_series(1, $4) i`,
			[id, r, start, n],
		);
	}
	return id;
}

function stats(ms: number[]) {
	const s = [...ms].sort((a, b) => a - b);
	const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
	return { median: at(0.5).toFixed(2), p95: at(0.95).toFixed(2) };
}

async function measure(db: Database, sessionId: string, subscriptionId: string, label: string) {
	await db.query('VACUUM ANALYZE tool_calls');
	await db.query('VACUUM ANALYZE deliveries');
	// The run count alone, as claimDue runs it for a delivery of the session's last run.
	const plan = await db.query<{ 'QUERY PLAN': string }>(
		`EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT)
		SELECT count(*)::int FROM tool_calls t, (SELECT started_at, ended_at FROM session_runs WHERE session_id = $1
			ORDER BY started_at DESC LIMIT 1) run
		WHERE t.session_id = $1 AND COALESCE(t.started_at, t.finished_at) >= run.started_at
			AND (run.ended_at IS NULL OR COALESCE(t.started_at, t.finished_at) <= run.ended_at)`,
		[sessionId],
	);
	const lines = plan.rows.map((r) => r['QUERY PLAN']);
	const buffers = lines.find((l) => l.includes('Buffers')) ?? '';
	const scan = lines.find((l) => /Scan/.test(l) && l.includes('tool_calls')) ?? '';
	// One delivery pending at a time, as a coalescing subscription has it: the claim's own cost, not a backlog's.
	const { rows: ids } = await db.query<{ id: string }>(
		`UPDATE deliveries SET status = 'delivered' RETURNING id`,
	);
	const times: number[] = [];
	let toolCalls = -1;
	for (let i = 0; i < DELIVERIES; i++) {
		await db.query(
			`UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = now() WHERE id = $1`,
			[ids[i % ids.length].id],
		);
		const t = process.hrtime.bigint();
		const [d] = await claimDue(db, {
			limit: 1,
			perSubscription: 1,
			inFlight: new Map(),
			leaseMs: 30_000,
		});
		times.push(Number(process.hrtime.bigint() - t) / 1e6);
		if (!d) throw new Error(`no delivery to claim at ${i}`);
		toolCalls = d.run?.toolCalls ?? -1;
		await markDelivered(db, d.id, d.attempts, 200);
	}
	console.log(
		`${label}: claim of one delivery median ${stats(times).median} ms, p95 ${stats(times).p95} ms ` +
			`(run.toolCalls = ${toolCalls}, subscription ${subscriptionId.slice(0, 8)})`,
	);
	console.log(`  count plan: ${scan.trim()}`);
	console.log(`  count ${buffers.trim()}`);
	return toolCalls;
}

async function main() {
	const scratch = await createScratchDatabase(ADMIN_URL, 'orch_bench');
	const db = await openDatabase({ databaseUrl: scratch.url });
	try {
		for (let i = 0; i < OTHER_SESSIONS; i++) await seedSession(db, 1000, 5);
		const sessionId = await seedSession(db, TOOL_CALLS, RUNS);
		const subscriptionId = crypto.randomUUID();
		await db.query(
			`INSERT INTO subscriptions (id, url, events, secret) VALUES ($1, 'http://127.0.0.1:9/hook', '["PostToolUse"]', 'bench-secret-0123456789')`,
			[subscriptionId],
		);
		const { rows: events } = await db.query<{ id: string }>(
			`INSERT INTO hook_events (session_id, event_name, tool_name, payload, payload_hash, received_at)
			SELECT $1, 'PostToolUse', 'Bash', jsonb_build_object('i', i), md5(i::text), now() - make_interval(secs => 60)
			FROM generate_series(1, $2) i RETURNING id`,
			[sessionId, DELIVERIES],
		);
		for (const e of events)
			await db.query(
				`INSERT INTO deliveries (id, subscription_id, session_id, hook_event_id, event_name) VALUES ($1, $2, $3, $4, 'PostToolUse')`,
				[crypto.randomUUID(), subscriptionId, sessionId, e.id],
			);
		console.log(
			`session with ${TOOL_CALLS} tool calls over ${RUNS} runs (the last one open), ${OTHER_SESSIONS} other sessions ` +
				`with 1000 each, ${DELIVERIES} deliveries claimed one at a time (one pending at a time)`,
		);
		const after = await measure(db, sessionId, subscriptionId, 'with the index');
		await db.query('DROP INDEX tool_calls_session_time_idx');
		const before = await measure(db, sessionId, subscriptionId, 'without it (before)');
		if (after !== before)
			throw new Error(`the count differs: ${after} with the index, ${before} without`);
	} finally {
		await db.close();
		await scratch.drop();
	}
}

void main().catch((err) => {
	console.error(err);
	process.exit(1);
});
