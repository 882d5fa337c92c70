import type { RequestListener } from 'node:http';
import path from 'node:path';
import express, { type Express } from 'express';
import type { HookAnswerer } from './approvals';
import { statsRouter } from './dashboard/stats.router';
import { vendorRouter } from './dashboard/vendor';
import type { Database } from './db';
import type { Auth } from './http/auth';
import { errorHandler, notFoundHandler } from './http/error-handler';
import { refuseDeepBody } from './http/validate';
import { hookFastPath } from './hooks/hook-fast-path';
import type { HookIngestor } from './hooks/hook-ingestor';
import { hooksRouter, legacyHooksRouter } from './hooks/hooks.router';
import type { Metrics } from './metrics/metrics';
import { sessionsRouter } from './sessions/sessions.router';
import { threadsRouter } from './threads/threads.router';

export interface AppDeps {
	db: Database;
	auth: Auth;
	ingestor: HookIngestor;
	metrics: Metrics;
	bodyLimitBytes: number;
	toolOutputMaxBytes: number;
	hookAckTimeoutMs: number;
	/** Answers PreToolUse for sessions under an approval policy (allow / deny / defer). */
	hookAnswer?: HookAnswerer;
	/** Extra routers mounted under /api/v1 (and /api), e.g. subscriptions. */
	extraRouters?: Record<string, express.Router>;
	dashboardDir?: string;
	/** Claude runs against a scripted stand-in of the Anthropic API (`npm start -- --demo`); health says so. */
	demo?: boolean;
}

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
		res.type('text/plain; version=0.0.4').send(
			deps.metrics.render(
				{ orchestrator_hook_queue_depth: deps.ingestor.depth },
				{ orchestrator_sessions: rows.map((r) => [`status="${r.status}"`, r.n]) },
			),
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
	// /api/... are the seed's documented routes; they answer exactly like /api/v1/....
	for (const base of ['/api/v1', '/api']) {
		app.use(`${base}/hooks`, legacyHooksRouter(hookDeps), hooksRouter(hookDeps));
		app.use(`${base}/sessions`, sessionsRouter({ db: deps.db, auth: deps.auth, toolOutputMaxBytes: deps.toolOutputMaxBytes }));
		app.use(`${base}/threads`, threadsRouter({ db: deps.db, auth: deps.auth }));
		app.use(`${base}/stats`, statsRouter({ db: deps.db, auth: deps.auth }));
		for (const [mount, router] of Object.entries(deps.extraRouters ?? {})) app.use(`${base}/${mount}`, router);
	}

	if (deps.dashboardDir) app.use('/vendor', vendorRouter());
	if (deps.dashboardDir) app.use('/', express.static(deps.dashboardDir, { index: 'index.html', fallthrough: true }));
	app.use(notFoundHandler);
	app.use(errorHandler);
	return { app, handler: hookFastPath({ ...hookDeps, bodyLimitBytes: deps.bodyLimitBytes }, app) };
}
