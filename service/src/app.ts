import type { RequestListener } from 'node:http';
import path from 'node:path';
import express, { type Express } from 'express';
import { errorHandler, notFoundHandler } from './http/error-handler';
import { securityHeaders } from './http/security-headers';
import { refuseDeepBody } from './http/validate';
import { hookFastPath } from './hooks/hook-fast-path';
import { hookRouteDeps, mountRoutes, type RouteDeps } from './routes';

export type AppDeps = RouteDeps;

/** As body-parser decides it: a declared length (other than 0) or a chunked body. */
const hasBody = (req: express.Request) =>
	req.headers['transfer-encoding'] !== undefined ||
	(req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

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
	const transcriptMaxBytes = deps.transcriptMaxBytes;
	// Transcripts and session imports carry a whole conversation: their own limit, parsed before the general one.
	const bigBody = express.json({
		limit: Math.max(deps.bodyLimitBytes, Math.ceil(transcriptMaxBytes * 1.4)),
		strict: true,
	});
	for (const base of ['/api/v1', '/api'])
		app.use([`${base}/sessions/:id/transcript`, `${base}/sessions/import`], bigBody);
	app.use(express.json({ limit: deps.bodyLimitBytes, strict: true }));
	app.use((req, _res, next) => {
		refuseDeepBody(req.body);
		next();
	});

	mountRoutes(app, deps);
	app.use(notFoundHandler);
	app.use(errorHandler);
	return {
		app,
		handler: hookFastPath({ ...hookRouteDeps(deps), bodyLimitBytes: deps.bodyLimitBytes }, app),
	};
}
