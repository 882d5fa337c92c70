import type { Queryable } from '../db';
import type { ApiRequestCost } from './otlp-logs';

/** The most rows kept for one run: far beyond a real run's API requests (and the most a run's sum reads). */
export const API_COSTS_PER_RUN_MAX = 10_000;
/**
 * The most rows kept for one session: the bound on what a program holding a hook token can write. The run id comes
 * from the export's resource attributes, which that program chooses, so a cap per run alone bounds nothing.
 */
export const API_COSTS_PER_SESSION_MAX = 50_000;

/**
 * Stores API request costs, once each (an exporter that retries sends the same request id again). Rows of a
 * session the service does not know are passed over: claude may export before its session is recorded elsewhere,
 * and such a cost has no run to be shown with. A run with API_COSTS_PER_RUN_MAX rows, or a session with
 * API_COSTS_PER_SESSION_MAX, takes no more (the final cost still comes from claude's own result).
 */
export async function recordApiCosts(db: Queryable, costs: ApiRequestCost[]): Promise<number> {
	if (!costs.length) return 0;
	const col = <K extends keyof ApiRequestCost>(k: K) => costs.map((c) => c[k]);
	const { rowCount } = await db.query(
		`WITH u AS (
			SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::float8[], $6::bigint[], $7::bigint[],
				$8::bigint[], $9::bigint[], $10::timestamptz[])
				AS u (session_id, request_id, run_id, model, cost_usd, input_tokens, output_tokens, cache_read_tokens,
					cache_creation_tokens, occurred_at)
		), runs AS (
			-- Rows are counted only up to each cap: index range scans of at most that many entries.
			SELECT r.session_id, r.run_id, (SELECT count(*) FROM (SELECT 1 FROM api_request_costs a
				WHERE a.session_id = r.session_id AND a.run_id IS NOT DISTINCT FROM r.run_id LIMIT $11) x) AS stored
			FROM (SELECT DISTINCT session_id, run_id FROM u) r
		), full_sessions AS (
			SELECT s.session_id FROM (SELECT DISTINCT session_id FROM u) s
			WHERE (SELECT count(*) FROM (SELECT 1 FROM api_request_costs a WHERE a.session_id = s.session_id LIMIT $12) x) >= $12
		)
		INSERT INTO api_request_costs (session_id, request_id, run_id, model, cost_usd, input_tokens, output_tokens,
			cache_read_tokens, cache_creation_tokens, occurred_at)
		SELECT u.* FROM u JOIN runs ON runs.session_id = u.session_id AND runs.run_id IS NOT DISTINCT FROM u.run_id
		WHERE runs.stored < $11 AND u.session_id NOT IN (SELECT session_id FROM full_sessions) AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = u.session_id)
		ON CONFLICT (session_id, request_id) DO NOTHING`,
		[
			col('sessionId'),
			col('requestId'),
			col('runId'),
			col('model'),
			col('costUsd'),
			col('inputTokens'),
			col('outputTokens'),
			col('cacheReadTokens'),
			col('cacheCreationTokens'),
			costs.map((c) => c.occurredAt.toISOString()),
			API_COSTS_PER_RUN_MAX,
			API_COSTS_PER_SESSION_MAX,
		],
	);
	return rowCount;
}
