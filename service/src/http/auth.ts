import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';
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
	/** Admin or a hook token (the route checks the session match); throws 401/403 otherwise. */
	hookWriter(req: Caller): Principal;
	requireAdmin: RequestHandler;
	requireReader: RequestHandler;
	/** `hookWriter` as middleware, for the routes Express serves. */
	requireHookWriter: RequestHandler;
}

/** What authentication reads off a request: node's own or Express's. */
type Caller = { headers: IncomingHttpHeaders; method?: string };

// Verified hook tokens, so a session's hundreds of events cost one HMAC, not one each. A token stays valid for as
// long as the API key it was signed with, which is the life of the process; the bound only limits memory.
const VERIFIED_CACHE_MAX = 10_000;

function presentedToken(req: Caller): string | undefined {
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

	const verified = new Map<string, string>();

	function principal(req: Caller): Principal | undefined {
		const token = presentedToken(req);
		if (!token) return undefined;
		if (token.startsWith('ht1.')) {
			const known = verified.get(token);
			if (known) return { kind: 'hook', sessionId: known };
			const [, sessionId, signature] = token.split('.');
			if (!sessionId || !signature || !safeEqual(signature, mac(sessionId))) return undefined;
			if (verified.size >= VERIFIED_CACHE_MAX) verified.clear();
			verified.set(token, sessionId);
			return { kind: 'hook', sessionId };
		}
		if (safeEqual(token, opts.apiKey)) return { kind: 'admin' };
		if (opts.dashboardToken && safeEqual(token, opts.dashboardToken)) return { kind: 'reader' };
		return undefined;
	}

	const check =
		(allowed: (p: Principal, method: string | undefined) => boolean, denial: string) =>
		(req: Caller): Principal => {
			const p = principal(req);
			if (!p) throw unauthorized();
			if (!allowed(p, req.method)) throw forbidden(denial);
			return p;
		};
	const gate =
		(verify: (req: Caller) => Principal): RequestHandler =>
		(req, res, next) => {
			try {
				res.locals.principal = verify(req);
			} catch (err) {
				return next(err);
			}
			next();
		};
	const hookWriter = check((p) => p.kind === 'admin' || p.kind === 'hook', 'this route needs the API key or a hook token');

	return {
		hookTokenFor,
		hookWriter,
		requireAdmin: gate(check((p) => p.kind === 'admin', 'this route needs the API key')),
		requireReader: gate(
			check(
				(p, method) => p.kind === 'admin' || (p.kind === 'reader' && (method === 'GET' || method === 'HEAD')),
				'this credential can only read; writing needs the API key',
			),
		),
		requireHookWriter: gate(hookWriter),
	};
}
