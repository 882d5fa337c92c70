import type { Queryable } from '../db';
import type { ApiRequestCost } from './otlp-logs';

/**
 * Stores API request costs, once each (an exporter that retries sends the same request id again). Rows of a
 * session the service does not know are passed over: claude may export before its session is recorded elsewhere,
 * and such a cost has no run to be shown with.
 */
export async function recordApiCosts(db: Queryable, costs: ApiRequestCost[]): Promise<number> {
	if (!costs.length) return 0;
	const col = <K extends keyof ApiRequestCost>(k: K) => costs.map((c) => c[k]);
	const { rowCount } = await db.query(
		`INSERT INTO api_request_costs (session_id, request_id, run_id, model, cost_usd, input_tokens, output_tokens,
			cache_read_tokens, cache_creation_tokens, occurred_at)
		SELECT u.* FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::float8[], $6::bigint[], $7::bigint[],
			$8::bigint[], $9::bigint[], $10::timestamptz[])
			AS u (session_id, request_id, run_id, model, cost_usd, input_tokens, output_tokens, cache_read_tokens,
				cache_creation_tokens, occurred_at)
		WHERE EXISTS (SELECT 1 FROM sessions s WHERE s.id = u.session_id)
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
		],
	);
	return rowCount;
}
