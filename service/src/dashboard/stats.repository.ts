import type { Queryable } from '../db';

export interface DayFigures {
	day: string;
	sessions: number;
	runs: number;
	costUsd: number;
	toolCalls: number;
	toolFailures: number;
	toolDenials: number;
}

export interface Stats {
	generatedAt: string;
	days: number;
	since: string;
	sessionsByStatus: Record<string, number>;
	sessionsTotal: number;
	costUsd: number;
	toolCalls: { total: number; failed: number; denied: number; failureRate: number | null };
	perDay: DayFigures[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/** UTC midnight `days - 1` days before `now`: the window is today plus the days before it. */
export function windowStart(now: Date, days: number): Date {
	const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
	return new Date(today - (days - 1) * DAY_MS);
}

/**
 * Figures for the overview. Each query reads one indexed range (runs by start, tool calls by finish, sessions by
 * creation) over the window, never whole tables, so the overview costs the same with 100 or 100,000 old sessions.
 * The per-status count is the exception: it needs every row, and reads only the status index.
 */
export async function readStats(db: Queryable, days: number, now = new Date()): Promise<Stats> {
	const since = windowStart(now, days);
	const day = (col: string) =>
		`to_char(date_trunc('day', ${col} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')`;
	const [statuses, runs, sessions, tools] = await Promise.all([
		db.query<{ status: string; n: number }>(
			'SELECT status, count(*)::int AS n FROM sessions GROUP BY status',
		),
		db.query<{ day: string; runs: number; cost: number }>(
			`SELECT ${day('started_at')} AS day, count(*)::int AS runs, COALESCE(sum(cost_usd), 0)::float8 AS cost
			FROM session_runs WHERE started_at >= $1 GROUP BY 1`,
			[since.toISOString()],
		),
		db.query<{ day: string; n: number }>(
			`SELECT ${day('created_at')} AS day, count(*)::int AS n FROM sessions WHERE created_at >= $1 GROUP BY 1`,
			[since.toISOString()],
		),
		// A call counts on the day it finished; running calls have no outcome yet.
		db.query<{ day: string; total: number; failed: number; denied: number }>(
			`SELECT ${day('finished_at')} AS day, count(*)::int AS total,
				(count(*) FILTER (WHERE status = 'failed'))::int AS failed,
				(count(*) FILTER (WHERE status = 'denied'))::int AS denied
			FROM tool_calls WHERE finished_at >= $1 GROUP BY 1`,
			[since.toISOString()],
		),
	]);

	// Zero-filled so the chart has one bar per day, quiet days included.
	const perDay = new Map<string, DayFigures>();
	for (let i = 0; i < days; i++) {
		const d = isoDay(since.getTime() + i * DAY_MS);
		perDay.set(d, {
			day: d,
			sessions: 0,
			runs: 0,
			costUsd: 0,
			toolCalls: 0,
			toolFailures: 0,
			toolDenials: 0,
		});
	}
	for (const r of runs.rows) {
		const f = perDay.get(r.day);
		if (f) Object.assign(f, { runs: r.runs, costUsd: Number(r.cost) });
	}
	for (const r of sessions.rows) {
		const f = perDay.get(r.day);
		if (f) f.sessions = r.n;
	}
	for (const r of tools.rows) {
		const f = perDay.get(r.day);
		if (f) Object.assign(f, { toolCalls: r.total, toolFailures: r.failed, toolDenials: r.denied });
	}

	const list = [...perDay.values()];
	const total = list.reduce((n, f) => n + f.toolCalls, 0);
	const failed = list.reduce((n, f) => n + f.toolFailures, 0);
	const denied = list.reduce((n, f) => n + f.toolDenials, 0);
	const sessionsByStatus = Object.fromEntries(statuses.rows.map((r) => [r.status, r.n]));
	return {
		generatedAt: now.toISOString(),
		days,
		since: since.toISOString(),
		sessionsByStatus,
		sessionsTotal: statuses.rows.reduce((n, r) => n + r.n, 0),
		costUsd: list.reduce((n, f) => n + f.costUsd, 0),
		toolCalls: { total, failed, denied, failureRate: total ? failed / total : null },
		perDay: list,
	};
}
