import { Router } from 'express';
import type { Database } from '../db';
import type { Auth, Principal } from '../http/auth';
import { HttpError } from '../http/errors';
import { recordApiCosts } from './api-costs.repository';
import { apiRequestCosts } from './otlp-logs';

/**
 * POST /api/v1/telemetry/logs: claude's OpenTelemetry log export (OTLP/HTTP, JSON), sent with the run's hook
 * token. Only the cost of each API request is kept, and a hook token only counts for its own session: what a
 * program inside the run could forge with it is its own session's "cost so far", which the run's final record
 * (read from claude's output, not from here) replaces. The answer is OTLP's: `{}`, or `partialSuccess` saying how
 * many records were refused and why.
 */
export function telemetryRouter(deps: { db: Database; auth: Auth }): Router {
	const { db, auth } = deps;
	const r = Router();
	r.post('/logs', auth.requireHookWriter, async (req, res) => {
		if (!req.is('application/json'))
			throw new HttpError(
				415,
				'only OTLP/HTTP JSON is taken here: set OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/json',
				'unsupported_media_type',
			);
		const parsed = apiRequestCosts(req.body);
		const principal = res.locals.principal as Principal;
		const own =
			principal.kind === 'hook'
				? parsed.costs.filter((c) => c.sessionId === principal.sessionId)
				: parsed.costs;
		const foreign = parsed.costs.length - own.length;
		await recordApiCosts(db, own);
		const rejected = parsed.rejected + foreign;
		if (!rejected) return void res.json({});
		res.json({
			partialSuccess: {
				rejectedLogRecords: String(rejected),
				errorMessage: foreign
					? `${foreign} record(s) name another session than this hook token's`
					: parsed.reason,
			},
		});
	});
	return r;
}
