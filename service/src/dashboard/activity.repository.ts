import type { Queryable } from '../db';

export type ActivityRange = 'day' | 'month';

export interface Bucket {
	/** Start of the hour or day, UTC, ISO 8601. */
	t: string;
	sessions: number;
	runs: number;
	costUsd: number;
	toolCalls: number;
	failures: number;
	denials: number;
}

const RANGES: Record<ActivityRange, { unit: 'hour' | 'day'; count: number; ms: number }> = {
	day: { unit: 'hour', count: 24, ms: 60 * 60 * 1000 },
	month: { unit: 'day', count: 30, ms: 24 * 60 * 60 * 1000 },
};

/** The first bucket's start: the current hour (or UTC day) and the ones before it, `count` in all. */
export function rangeStart(now: Date, range: ActivityRange): Date {
	const { unit, count, ms } = RANGES[range];
	const current =
		unit === 'hour'
			? Math.floor(now.getTime() / ms) * ms
			: Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
	return new Date(current - (count - 1) * ms);
}

/**
 * The overview's "at a glance": activity and cost per hour for a day or per day for 30 days (zero-filled), the
 * sessions waiting for a person, and the busiest repositories of the range. Each query reads an indexed time range.
 */
export async function readActivity(db: Queryable, range: ActivityRange, now = new Date()) {
	const { unit, count, ms } = RANGES[range];
	const since = rangeStart(now, range).toISOString();
	const bucket = (col: string) =>
		`to_char(date_trunc('${unit}', ${col} AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:00:00.000"Z"')`;
	const [sessions, runs, tools, waiting, waitingCount, repositories] = await Promise.all([
		db.query<{ t: string; n: number }>(
			`SELECT ${bucket('created_at')} AS t, count(*)::int AS n FROM sessions WHERE created_at >= $1 GROUP BY 1`,
			[since],
		),
		db.query<{ t: string; runs: number; cost: number }>(
			`SELECT ${bucket('started_at')} AS t, count(*)::int AS runs, COALESCE(sum(cost_usd), 0)::float8 AS cost
			FROM session_runs WHERE started_at >= $1 GROUP BY 1`,
			[since],
		),
		db.query<{ t: string; total: number; failed: number; denied: number }>(
			`SELECT ${bucket('finished_at')} AS t, count(*)::int AS total, (count(*) FILTER (WHERE status = 'failed'))::int AS failed,
				(count(*) FILTER (WHERE status = 'denied'))::int AS denied
			FROM tool_calls WHERE finished_at >= $1 GROUP BY 1`,
			[since],
		),
		db.query<{
			id: string;
			status: string;
			prompt: string | null;
			repository: string | null;
			last_activity_at: Date;
			pending: number;
		}>(
			`SELECT s.id, s.status, left(s.prompt, 200) AS prompt, s.repository, s.last_activity_at,
				(SELECT count(*)::int FROM approvals a WHERE a.session_id = s.id AND a.status = 'pending') AS pending
			FROM sessions s WHERE s.status IN ('waiting', 'waiting_approval') ORDER BY s.last_activity_at DESC LIMIT 10`,
		),
		db.query<{ n: number }>(
			`SELECT count(*)::int AS n FROM sessions WHERE status IN ('waiting', 'waiting_approval')`,
		),
		db.query<{ repository: string; sessions: number; cost: number; failed: number }>(
			`SELECT repository, count(*)::int AS sessions, COALESCE(sum(cost_usd), 0)::float8 AS cost,
				(count(*) FILTER (WHERE status IN ('failed', 'timed_out')))::int AS failed
			FROM sessions WHERE created_at >= $1 AND repository IS NOT NULL
			GROUP BY repository ORDER BY sessions DESC, cost DESC, repository LIMIT 5`,
			[since],
		),
	]);

	const buckets = new Map<string, Bucket>();
	const first = Date.parse(since);
	for (let i = 0; i < count; i++) {
		const t = new Date(first + i * ms).toISOString();
		buckets.set(t, { t, sessions: 0, runs: 0, costUsd: 0, toolCalls: 0, failures: 0, denials: 0 });
	}
	for (const r of sessions.rows) {
		const b = buckets.get(r.t);
		if (b) b.sessions = r.n;
	}
	for (const r of runs.rows) {
		const b = buckets.get(r.t);
		if (b) Object.assign(b, { runs: r.runs, costUsd: Number(r.cost) });
	}
	for (const r of tools.rows) {
		const b = buckets.get(r.t);
		if (b) Object.assign(b, { toolCalls: r.total, failures: r.failed, denials: r.denied });
	}
	return {
		range,
		unit,
		since,
		generatedAt: now.toISOString(),
		buckets: [...buckets.values()],
		waiting: {
			count: waitingCount.rows[0].n,
			sessions: waiting.rows.map((r) => ({
				id: r.id,
				status: r.status,
				prompt: r.prompt,
				repository: r.repository,
				lastActivityAt: new Date(r.last_activity_at).toISOString(),
				pendingApprovals: r.pending,
			})),
		},
		repositories: repositories.rows.map((r) => ({
			repository: r.repository,
			sessions: r.sessions,
			costUsd: Number(r.cost),
			failed: r.failed,
		})),
	};
}
