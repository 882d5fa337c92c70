import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';
import { forbidden, unauthorized } from './errors';

// Who is calling:
//  admin  - the API key: everything;
//  reader - the dashboard token: GET only;
//  hook   - a session's hook token: may only post hook events for that one session, during one run.
/** A hook's principal names its run by the generation of its token (each run gets the next one). */
export type Principal =
	{ kind: 'admin' } | { kind: 'reader' } | { kind: 'hook'; sessionId: string; generation: number };

const digest = (value: string) => crypto.createHash('sha256').update(value).digest();

/** Constant-time comparison: both sides are hashed first so lengths never leak either. */
export function safeEqual(a: string, b: string): boolean {
	return crypto.timingSafeEqual(digest(a), digest(b));
}

/** What the database says about a session's hook tokens (migration 008). */
export interface HookTokenState {
	/** Tokens of any other generation were replaced (a later run's token) or revoked. */
	generation: number;
	/** The run the current token is for ended: hooks are taken until this moment (its end plus the grace period). */
	endsAt: Date | null;
}

export interface Auth {
	/**
	 * A token for one run of one session: its generation and expiry are in its signed body, so the signature and
	 * the expiry need no lookup; revocation does (tokenState, read at most once a second per session and replica).
	 */
	signHookToken(sessionId: string, generation: number, expiresAt: Date): string;
	/** Drops what this replica remembers of a session's tokens, after issuing or revoking one. */
	forgetHookTokens(sessionId: string): void;
	/** Admin or a live hook token (the route checks the session match); throws 401/403 otherwise. */
	hookWriter(req: Caller): Promise<Principal>;
	requireAdmin: RequestHandler;
	requireReader: RequestHandler;
	/** `hookWriter` as middleware, for the routes Express serves. */
	requireHookWriter: RequestHandler;
	/**
	 * Any valid credential (a hook token only while live), or 401: checked before a request body is read, so a
	 * stranger's body costs nothing. What the credential may do is the route's check.
	 */
	authenticate(req: Caller): Promise<Principal>;
}

/** What authentication reads off a request: node's own or Express's. */
type Caller = { headers: IncomingHttpHeaders; method?: string };

// Verified signatures, so a session's hundreds of events cost one HMAC, not one each; the bound only limits memory.
const VERIFIED_CACHE_MAX = 10_000;
// How long one replica trusts what it read of a session's token state: a revocation reaches it within this.
const STATE_CACHE_MS = 1000;

// How long a hook waits for its session's token state before going on with the last one read (or none).
const STATE_WAIT_MS = 1000;
const UNKNOWN = Symbol('token state unknown');
/** null: no such session. */
type KnownState = { state: HookTokenState | null };

const TOKEN_PREFIX = 'ht2.';

interface SignedToken {
	sessionId: string;
	generation: number;
	expiresAt: number;
}

function presentedToken(req: Caller): string | undefined {
	const header = req.headers.authorization;
	if (header) {
		const m = /^Bearer\s+(.+)$/i.exec(header.trim());
		return m ? m[1].trim() : undefined;
	}
	const apiKey = req.headers['x-api-key'];
	return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}

export function createAuth(opts: {
	apiKey: string;
	dashboardToken?: string;
	/** The session's token state; undefined when there is no such session. */
	tokenState: (sessionId: string) => Promise<HookTokenState | undefined>;
}): Auth {
	const signingKey = crypto
		.createHmac('sha256', opts.apiKey)
		.update('claude-orchestrator hook token v2')
		.digest();
	const mac = (body: string) =>
		crypto.createHmac('sha256', signingKey).update(body).digest('base64url');
	const bodyOf = (t: SignedToken) =>
		`${TOKEN_PREFIX}${t.sessionId}.${t.generation}.${Math.floor(t.expiresAt / 1000)}`;
	const signHookToken = (sessionId: string, generation: number, expiresAt: Date) => {
		const body = bodyOf({
			sessionId: sessionId.toLowerCase(),
			generation,
			expiresAt: expiresAt.getTime(),
		});
		return `${body}.${mac(body)}`;
	};

	const verified = new Map<string, SignedToken>();
	const states = new Map<string, { at: number; known: KnownState | typeof UNKNOWN }>();
	const reading = new Map<string, Promise<KnownState | typeof UNKNOWN>>();

	const forget = (sessionId: string) => {
		states.delete(sessionId);
		reading.delete(sessionId);
	};

	/** The token's signed body, if the signature holds; expiry and revocation are checked by the caller. */
	function signedToken(token: string): SignedToken | undefined {
		const known = verified.get(token);
		if (known) return known;
		const parts = token.split('.');
		if (parts.length !== 5 || !/^\d{1,9}$/.test(parts[2]) || !/^\d{1,12}$/.test(parts[3]))
			return undefined;
		const body = parts.slice(0, 4).join('.');
		if (!safeEqual(parts[4], mac(body))) return undefined;
		// Lower-cased as every id is at the edge; tokens are only ever signed over the lower-case form.
		const t = {
			sessionId: parts[1].toLowerCase(),
			generation: Number(parts[2]),
			expiresAt: Number(parts[3]) * 1000,
		};
		if (verified.size >= VERIFIED_CACHE_MAX) verified.clear();
		verified.set(token, t);
		return t;
	}

	function principal(req: Caller): Principal | undefined {
		const token = presentedToken(req);
		if (!token) return undefined;
		if (token.startsWith(TOKEN_PREFIX)) {
			const t = signedToken(token);
			if (!t) return undefined;
			if (t.expiresAt <= Date.now())
				throw unauthorized(`this hook token expired at ${new Date(t.expiresAt).toISOString()}`);
			return { kind: 'hook', sessionId: t.sessionId, generation: t.generation };
		}
		if (token.startsWith('ht1.')) {
			throw unauthorized(
				'hook tokens of the form ht1.… never expired and are no longer accepted; the node asks for a new one per run',
			);
		}
		if (safeEqual(token, opts.apiKey)) return { kind: 'admin' };
		if (opts.dashboardToken && safeEqual(token, opts.dashboardToken)) return { kind: 'reader' };
		return undefined;
	}

	/**
	 * The session's token state as last read, read again once it is a second old. A hook must be answered quickly
	 * even while the database is away (events are then queued and answered 202): when a read fails or takes longer
	 * than STATE_WAIT_MS, the last state read is used, or none; the token's signature and expiry still hold.
	 */
	async function tokenState(sessionId: string): Promise<KnownState | typeof UNKNOWN> {
		const cached = states.get(sessionId);
		if (cached && Date.now() - cached.at < STATE_CACHE_MS) return cached.known;
		let read = reading.get(sessionId);
		if (!read) {
			read = opts.tokenState(sessionId).then(
				(state) => ({ state: state ?? null }),
				() => UNKNOWN,
			);
			reading.set(sessionId, read);
			const mine = read;
			void read.then((known) => {
				// Forgotten meanwhile (a token was issued or revoked here): this read may predate it.
				if (reading.get(sessionId) !== mine) return;
				reading.delete(sessionId);
				if (states.size >= VERIFIED_CACHE_MAX) states.clear();
				states.set(sessionId, {
					at: Date.now(),
					known: known === UNKNOWN ? (cached?.known ?? UNKNOWN) : known,
				});
			});
		}
		let timer: NodeJS.Timeout | undefined;
		const known = await Promise.race([
			read,
			new Promise<typeof UNKNOWN>(
				(resolve) => (timer = setTimeout(() => resolve(UNKNOWN), STATE_WAIT_MS)),
			),
		]);
		clearTimeout(timer);
		if (known !== UNKNOWN) return known;
		const fallback = cached?.known ?? UNKNOWN;
		if (reading.get(sessionId) === read) {
			// Too slow: the hooks of the next second go on with the fallback at once, and the read after that starts afresh.
			reading.delete(sessionId);
			states.set(sessionId, { at: Date.now(), known: fallback });
		}
		return fallback;
	}

	/** A signed, unexpired hook token is live while it is the session's current generation and its run has not ended long ago. */
	async function assertLive(token: SignedToken): Promise<void> {
		let known = await tokenState(token.sessionId);
		if (known !== UNKNOWN && known.state && known.state.generation < token.generation) {
			// A token newer than what this replica read: issued since (here or on another replica). Read again.
			forget(token.sessionId);
			known = await tokenState(token.sessionId);
		}
		if (known === UNKNOWN) return;
		const { state } = known;
		if (!state)
			throw unauthorized(`this hook token is for session ${token.sessionId}, which does not exist`);
		if (state.generation !== token.generation) {
			throw unauthorized(
				"this hook token was revoked: a later run of its session has its own token, or the session's tokens were revoked",
			);
		}
		if (state.endsAt && state.endsAt.getTime() <= Date.now()) {
			throw unauthorized(
				`the run this hook token was issued for has ended; hooks were taken until ${state.endsAt.toISOString()}`,
			);
		}
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
		(verify: (req: Caller) => Principal | Promise<Principal>): RequestHandler =>
		async (req, res, next) => {
			try {
				res.locals.principal = await verify(req);
			} catch (err) {
				return next(err);
			}
			next();
		};
	const hookWriterSync = check(
		(p) => p.kind === 'admin' || p.kind === 'hook',
		'this route needs the API key or a hook token',
	);
	const hookWriter = async (req: Caller): Promise<Principal> => {
		const p = hookWriterSync(req);
		if (p.kind === 'hook') await assertLive(signedToken(presentedToken(req)!)!);
		return p;
	};

	return {
		signHookToken,
		forgetHookTokens: (sessionId) => forget(sessionId.toLowerCase()),
		hookWriter,
		requireAdmin: gate(check((p) => p.kind === 'admin', 'this route needs the API key')),
		requireReader: gate(
			check(
				(p, method) =>
					p.kind === 'admin' || (p.kind === 'reader' && (method === 'GET' || method === 'HEAD')),
				'this credential can only read; writing needs the API key',
			),
		),
		requireHookWriter: gate(hookWriter),
		authenticate: async (req) => {
			const p = principal(req);
			if (!p) throw unauthorized();
			if (p.kind === 'hook') await assertLive(signedToken(presentedToken(req)!)!);
			return p;
		},
	};
}
