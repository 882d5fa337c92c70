import crypto from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { forbidden, unauthorized } from './errors';

// Who is calling:
//  admin  - the API key: everything;
//  reader - the dashboard token: GET only;
//  hook   - a session's hook token: may only post hook events for that one session.
export type Principal = { kind: 'admin' } | { kind: 'reader' } | { kind: 'hook'; sessionId: string };

const digest = (value: string) => crypto.createHash('sha256').update(value).digest();

/** Constant-time comparison: both sides are hashed first so lengths never leak either. */
export function safeEqual(a: string, b: string): boolean {
	return crypto.timingSafeEqual(digest(a), digest(b));
}

export interface Auth {
	/** A token bound to one session, signed with a key derived from the API key: no lookup needed to verify it. */
	hookTokenFor(sessionId: string): string;
	principal(req: Request): Principal | undefined;
	requireAdmin: RequestHandler;
	requireReader: RequestHandler;
	/** Admin or the hook token of the session named in the body; the route checks the session match. */
	requireHookWriter: RequestHandler;
}

function presentedToken(req: Request): string | undefined {
	const header = req.headers.authorization;
	if (header) {
		const m = /^Bearer\s+(.+)$/i.exec(header.trim());
		return m ? m[1].trim() : undefined;
	}
	const apiKey = req.headers['x-api-key'];
	return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}

export function createAuth(opts: { apiKey: string; dashboardToken?: string }): Auth {
	const signingKey = crypto.createHmac('sha256', opts.apiKey).update('claude-orchestrator hook token v1').digest();
	const mac = (sessionId: string) => crypto.createHmac('sha256', signingKey).update(sessionId).digest('base64url');
	const hookTokenFor = (sessionId: string) => `ht1.${sessionId}.${mac(sessionId)}`;

	function principal(req: Request): Principal | undefined {
		const token = presentedToken(req);
		if (!token) return undefined;
		if (token.startsWith('ht1.')) {
			const [, sessionId, signature] = token.split('.');
			if (!sessionId || !signature) return undefined;
			return safeEqual(signature, mac(sessionId)) ? { kind: 'hook', sessionId } : undefined;
		}
		if (safeEqual(token, opts.apiKey)) return { kind: 'admin' };
		if (opts.dashboardToken && safeEqual(token, opts.dashboardToken)) return { kind: 'reader' };
		return undefined;
	}

	const gate =
		(allowed: (p: Principal, req: Request) => boolean, denial: string): RequestHandler =>
		(req, res, next) => {
			const p = principal(req);
			if (!p) return next(unauthorized());
			if (!allowed(p, req)) return next(forbidden(denial));
			res.locals.principal = p;
			next();
		};

	return {
		hookTokenFor,
		principal,
		requireAdmin: gate((p) => p.kind === 'admin', 'this route needs the API key'),
		requireReader: gate(
			(p, req) => p.kind === 'admin' || (p.kind === 'reader' && (req.method === 'GET' || req.method === 'HEAD')),
			'this credential can only read; writing needs the API key',
		),
		requireHookWriter: gate((p) => p.kind === 'admin' || p.kind === 'hook', 'this route needs the API key or a hook token'),
	};
}
