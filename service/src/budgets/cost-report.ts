import type { Queryable } from '../db';

// Each run's cost split by model (its per-model usage; a run without one counts under its session's model).
const RUN_COSTS = `
	SELECT r.started_at, r.session_id, COALESCE(s.repository, '') AS repository, m.key AS model,
		CASE WHEN jsonb_typeof(m.value->'costUSD') = 'number' THEN (m.value->>'costUSD')::float8 ELSE 0 END AS cost
	FROM session_runs r JOIN sessions s ON s.id = r.session_id
	CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(r.model_usage) = 'object' THEN r.model_usage ELSE '{}'::jsonb END) m
	WHERE r.started_at >= $1
	UNION ALL
	SELECT r.started_at, r.session_id, COALESCE(s.repository, ''), COALESCE(s.model, 'unknown'), r.cost_usd
	FROM session_runs r JOIN sessions s ON s.id = r.session_id
	WHERE r.started_at >= $1 AND r.cost_usd > 0 AND (jsonb_typeof(r.model_usage) IS DISTINCT FROM 'object' OR r.model_usage = '{}'::jsonb)`;

/** Cost per UTC day for the last `days` days by repository and by model, and the most expensive sessions. */
export async function costReport(db: Queryable, now: Date, days: number, top: number) {
	const since = new Date(
		Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (days - 1)),
	);
	const byDay = async (column: 'repository' | 'model') => {
		const { rows } = await db.query<{ day: string; key: string; cost: number }>(
			`SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, ${column} AS key, sum(cost)::float8 AS cost
			FROM (${RUN_COSTS}) c GROUP BY 1, 2 ORDER BY 1, 2`,
			[since],
		);
		return rows.map((r) => ({ day: r.day, [column]: r.key, costUsd: round(Number(r.cost)) }));
	};
	const sessions = await db.query<{
		id: string;
		repository: string | null;
		thread_key: string | null;
		model: string | null;
		status: string;
		cost: number;
		runs: number;
	}>(
		`SELECT s.id, s.repository, s.thread_key, s.model, s.status, sum(r.cost_usd)::float8 AS cost, count(*)::int AS runs
		FROM session_runs r JOIN sessions s ON s.id = r.session_id WHERE r.started_at >= $1
		GROUP BY s.id HAVING sum(r.cost_usd) > 0 ORDER BY cost DESC, s.id LIMIT $2`,
		[since, top],
	);
	return {
		since: since.toISOString(),
		days,
		byRepository: await byDay('repository'),
		byModel: await byDay('model'),
		topSessions: sessions.rows.map((s) => ({
			id: s.id,
			repository: s.repository,
			threadKey: s.thread_key,
			model: s.model,
			status: s.status,
			costUsd: round(Number(s.cost)),
			runs: s.runs,
		})),
	};
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;
