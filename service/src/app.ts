import type { RequestListener } from 'node:http';
import path from 'node:path';
import express, { type Express } from 'express';
import type { HookAnswerer } from './approvals';
import { budgetMetricsText } from './budgets/budget-metrics';
import { statsRouter } from './dashboard/stats.router';
import { vendorRouter } from './dashboard/vendor';
import type { Database } from './db';
import type { Auth } from './http/auth';
import { errorHandler, notFoundHandler } from './http/error-handler';
import { securityHeaders } from './http/security-headers';
import { refuseDeepBody } from './http/validate';
import { hookFastPath } from './hooks/hook-fast-path';
import type { HookIngestor } from './hooks/hook-ingestor';
import { hooksRouter, legacyHooksRouter } from './hooks/hooks.router';
import type { Metrics } from './metrics/metrics';
import { sessionsRouter } from './sessions/sessions.router';
import { threadsRouter } from './threads/threads.router';
import { eventKeysRouter } from './event-keys/event-keys.router';
import { transferRouter } from './session-transfer/transfer.router';
import { transcriptsRouter } from './transcripts/transcripts.router';

export interface AppDeps {
	db: Database;
	auth: Auth;
	ingestor: HookIngestor;
	metrics: Metrics;
	bodyLimitBytes: number;
	toolOutputMaxBytes: number;
	hookAckTimeoutMs: number;
	/** Largest transcript accepted, uncompressed; its upload (gzip, base64 in JSON) may exceed bodyLimitBytes. */
	transcriptMaxBytes?: number;
	/** LEASE_TTL: how long a run's lease on its session lasts without renewal. */
	leaseTtlMs?: number;
	/** Hook tokens: life when the caller does not say, and how long after its run's end a token still takes hooks. */
	hookTokens: { ttlMs: number; graceMs: number };
	/** The most one page of events, tool calls or messages carries (fewer rows and a cursor beyond it). */
	readPageMaxBytes: number;
	/** Answers PreToolUse for sessions under an approval policy (allow / deny / defer). */
	hookAnswer?: HookAnswerer;
	/** Extra routers mounted under /api/v1 (and /api), e.g. subscriptions. */
	extraRouters?: Record<string, express.Router>;
	dashboardDir?: string;
	/** Claude runs against a scripted stand-in of the Anthropic API (`npm start -- --demo`); health says so. */
	demo?: boolean;
}

/** As body-parser decides it: a declared length (other than 0) or a chunked body. */
const hasBody = (req: express.Request) =>
	req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

export const DASHBOARD_DIR = path.resolve(__dirname, '../../dashboard');

/**
 * Builds the HTTP app: the Express app, and the request handler that serves it behind the hook fast path.
 * No side effects: no listening, no timers; index.ts owns the process.
 */
export function createApp(deps: AppDeps): { app: Express; handler: RequestListener } {
	const app = express();
	app.disable('x-powered-by');
	// Answers are small JSON read once; hashing each one for an ETag is wasted work on the hook path.
	app.set('etag', false);
	app.set('query parser', 'simple');
	app.use((req, res, next) => {
		res.on('finish', () => deps.metrics.httpResponse(req.method, res.statusCode));
		next();
	});
	app.use(securityHeaders(deps.dashboardDir));
	// Who is calling is known before a body is read: a request without a valid credential is answered 401 at once.
	app.use(async (req, _res, next) => {
		if (!hasBody(req) || !(req.path.startsWith('/api/') || req.path === '/metrics')) return next();
		try {
			await deps.auth.authenticate(req);
		} catch (err) {
			return next(err);
		}
		next();
	});
	const transcriptMaxBytes = deps.transcriptMaxBytes ?? 64 * 1024 * 1024;
	// Transcripts and session imports carry a whole conversation: their own limit, parsed before the general one.
	const bigBody = express.json({ limit: Math.max(deps.bodyLimitBytes, Math.ceil(transcriptMaxBytes * 1.4)), strict: true });
	for (const base of ['/api/v1', '/api']) app.use([`${base}/sessions/:id/transcript`, `${base}/sessions/import`], bigBody);
	app.use(express.json({ limit: deps.bodyLimitBytes, strict: true }));
	app.use((req, _res, next) => {
		refuseDeepBody(req.body);
		next();
	});

	app.get('/api/v1/health', async (_req, res) => {
		try {
			await deps.db.query('SELECT 1');
			res.json({ status: 'ok', database: deps.db.kind, hookQueue: deps.ingestor.depth, ...(deps.demo ? { demo: true } : {}) });
		} catch {
			res.status(503).json({ status: 'unavailable', database: deps.db.kind, message: 'the database does not answer' });
		}
	});

	app.get('/metrics', deps.auth.requireReader, async (_req, res) => {
		const { rows } = await deps.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM sessions GROUP BY status');
		const money = await budgetMetricsText(deps.db, new Date());
		res.type('text/plain; version=0.0.4').send(
			deps.metrics.render(
				{ orchestrator_hook_queue_depth: deps.ingestor.depth },
				{ orchestrator_sessions: rows.map((r) => [`status="${r.status}"`, r.n]) },
			) + money,
		);
	});

	const hookDeps = {
		auth: deps.auth,
		ingestor: deps.ingestor,
		metrics: deps.metrics,
		toolOutputMaxBytes: deps.toolOutputMaxBytes,
		ackTimeoutMs: deps.hookAckTimeoutMs,
		answer: deps.hookAnswer,
	};
	const sessions = sessionsRouter({
		db: deps.db,
		auth: deps.auth,
		toolOutputMaxBytes: deps.toolOutputMaxBytes,
		hookTokens: deps.hookTokens,
		readPageMaxBytes: deps.readPageMaxBytes,
		leaseTtlSeconds: Math.round((deps.leaseTtlMs ?? 30_000) / 1000),
	});
	// /api/... are the seed's documented routes; they answer exactly like /api/v1/....
	for (const base of ['/api/v1', '/api']) {
		app.use(`${base}/hooks`, legacyHooksRouter(hookDeps), hooksRouter(hookDeps));
		app.use(`${base}/sessions`, transferRouter({ db: deps.db, auth: deps.auth, transcriptMaxBytes }));
		app.use(`${base}/sessions`, sessions);
		app.use(`${base}/sessions`, transcriptsRouter({ db: deps.db, auth: deps.auth, transcriptMaxBytes }));
		app.use(`${base}/threads`, threadsRouter({ db: deps.db, auth: deps.auth }));
		app.use(`${base}/event-keys`, eventKeysRouter({ db: deps.db, auth: deps.auth }));
		app.use(`${base}/stats`, statsRouter({ db: deps.db, auth: deps.auth }));
		for (const [mount, router] of Object.entries(deps.extraRouters ?? {})) app.use(`${base}/${mount}`, router);
	}

	if (deps.dashboardDir) app.use('/vendor', vendorRouter());
	if (deps.dashboardDir) app.use('/', express.static(deps.dashboardDir, { index: 'index.html', fallthrough: true }));
	app.use(notFoundHandler);
	app.use(errorHandler);
	return { app, handler: hookFastPath({ ...hookDeps, bodyLimitBytes: deps.bodyLimitBytes }, app) };
}
