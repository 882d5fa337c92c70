import type { Queryable } from '../db';

export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** A claimed delivery with everything needed to send it, read at claim time so the session summary is current. */
export interface ClaimedDelivery {
	id: string;
	subscriptionId: string;
	sessionId: string;
	hookEventId: number;
	eventName: string;
	attempts: number;
	url: string;
	secret: string;
	toolName: string | null;
	toolUseId: string | null;
	payload: Record<string, unknown>;
	receivedAt: Date;
	session: {
		status: string | null;
		origin: string | null;
		workspace: { type: string | null; path: string | null; branch: string | null };
		threadKey: string | null;
		costUsd: number | null;
		result: string | null;
		isError: boolean | null;
		subtype: string | null;
	};
}

/**
 * Claims up to `limit` deliveries that are due, taking only the head of each (subscription, session) queue so
 * no event overtakes an earlier one of the same session that is still pending (waiting, in flight or backing
 * off). `inFlight` caps how many of one subscription this process already has out. Claiming pushes
 * next_attempt_at past the request timeout (a lease): if this process dies mid-request, the row becomes due
 * again and another replica delivers it. SKIP LOCKED keeps concurrent claimers off each other's rows.
 */
export async function claimDue(
	db: Queryable,
	opts: { limit: number; perSubscription: number; inFlight: Map<string, number>; leaseMs: number },
): Promise<ClaimedDelivery[]> {
	const { rows } = await db.query<Record<string, any>>(
		`WITH busy AS (
			SELECT key::uuid AS subscription_id, value::int AS n FROM jsonb_each_text($3::jsonb)
		), heads AS (
			SELECT c.id, c.subscription_id, c.next_attempt_at, c.hook_event_id,
				row_number() OVER (PARTITION BY c.subscription_id ORDER BY c.next_attempt_at, c.hook_event_id) AS rn
			FROM deliveries c
			WHERE c.status = 'pending' AND c.next_attempt_at <= now()
				AND NOT EXISTS (
					SELECT 1 FROM deliveries e
					WHERE e.subscription_id = c.subscription_id AND e.session_id = c.session_id
						AND e.status = 'pending' AND e.hook_event_id < c.hook_event_id)
		), picked AS (
			SELECT d.id FROM deliveries d
			JOIN heads h ON h.id = d.id
			LEFT JOIN busy b ON b.subscription_id = h.subscription_id
			WHERE h.rn <= $2 - COALESCE(b.n, 0) AND d.status = 'pending' AND d.next_attempt_at <= now()
			ORDER BY h.next_attempt_at, h.hook_event_id
			LIMIT $1
			FOR UPDATE OF d SKIP LOCKED
		), claimed AS (
			UPDATE deliveries d SET attempts = d.attempts + 1, last_attempt_at = now(),
				next_attempt_at = now() + make_interval(secs => $4::double precision / 1000)
			FROM picked WHERE d.id = picked.id
			RETURNING d.id, d.subscription_id, d.session_id, d.hook_event_id, d.event_name, d.attempts
		)
		SELECT c.*, sub.url, sub.secret, h.tool_name, h.tool_use_id, h.payload, h.received_at,
			s.status, s.origin, s.workspace_type, s.workspace_path, s.workspace_branch, s.cost_usd, s.result, s.is_error, s.subtype,
			COALESCE(s.thread_key,
				(SELECT t.key FROM threads t WHERE t.session_id = c.session_id ORDER BY t.updated_at DESC LIMIT 1)) AS thread_key
		FROM claimed c
		JOIN subscriptions sub ON sub.id = c.subscription_id
		JOIN hook_events h ON h.id = c.hook_event_id
		LEFT JOIN sessions s ON s.id = c.session_id
		ORDER BY c.hook_event_id`,
		[opts.limit, opts.perSubscription, JSON.stringify(Object.fromEntries(opts.inFlight)), opts.leaseMs],
	);
	return rows.map((r) => ({
		id: r.id,
		subscriptionId: r.subscription_id,
		sessionId: r.session_id,
		hookEventId: r.hook_event_id,
		eventName: r.event_name,
		attempts: r.attempts,
		url: r.url,
		secret: r.secret,
		toolName: r.tool_name,
		toolUseId: r.tool_use_id,
		payload: r.payload,
		receivedAt: r.received_at,
		session: {
			status: r.status ?? null,
			origin: r.origin ?? null,
			workspace: { type: r.workspace_type ?? null, path: r.workspace_path ?? null, branch: r.workspace_branch ?? null },
			threadKey: r.thread_key ?? null,
			costUsd: r.cost_usd ?? null,
			result: r.result ?? null,
			isError: r.is_error ?? null,
			subtype: r.subtype ?? null,
		},
	}));
}

/** Records a 2xx. The attempt number guards against a stale worker whose lease ran out and was re-claimed. */
export async function markDelivered(db: Queryable, id: string, attempt: number, statusCode: number): Promise<void> {
	await db.query(
		`UPDATE deliveries SET status = 'delivered', delivered_at = now(), last_status_code = $3, last_error = NULL
		WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
		[id, attempt, statusCode],
	);
}

/** Records a failed attempt: due again after `retryInMs`, or dead once `maxAttempts` are used up. */
export async function markFailed(
	db: Queryable,
	id: string,
	attempt: number,
	failure: { error: string; statusCode?: number; retryInMs: number; maxAttempts: number },
): Promise<'pending' | 'dead' | undefined> {
	const { rows } = await db.query<{ status: 'pending' | 'dead' }>(
		`UPDATE deliveries SET status = CASE WHEN attempts >= $5 THEN 'dead' ELSE 'pending' END,
			next_attempt_at = now() + make_interval(secs => $4::double precision / 1000),
			last_error = $3, last_status_code = $6
		WHERE id = $1 AND attempts = $2 AND status = 'pending'
		RETURNING status`,
		[id, attempt, failure.error.slice(0, 2000), failure.retryInMs, failure.maxAttempts, failure.statusCode ?? null],
	);
	return rows[0]?.status;
}

/** Gives a claimed row back without counting the attempt (the service is stopping before it was sent). */
export async function releaseClaim(db: Queryable, id: string, attempt: number): Promise<void> {
	await db.query(
		`UPDATE deliveries SET attempts = attempts - 1, next_attempt_at = now()
		WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
		[id, attempt],
	);
}

/** Deletes delivered rows older than the retention, a bounded batch at a time; dead ones stay until retried or deleted. */
export async function pruneDelivered(db: Queryable, olderThanMs: number, batch = 5000): Promise<number> {
	const { rowCount } = await db.query(
		`DELETE FROM deliveries WHERE id IN (
			SELECT id FROM deliveries WHERE status = 'delivered'
				AND delivered_at < now() - make_interval(secs => $1::double precision / 1000)
			ORDER BY hook_event_id LIMIT $2)`,
		[olderThanMs, batch],
	);
	return rowCount;
}

interface Row {
	id: string;
	subscription_id: string;
	session_id: string;
	hook_event_id: number;
	event_name: string;
	status: DeliveryStatus;
	attempts: number;
	next_attempt_at: Date;
	last_error: string | null;
	last_status_code: number | null;
	last_attempt_at: Date | null;
	created_at: Date;
	delivered_at: Date | null;
}

const COLUMNS = `d.id, d.subscription_id, d.session_id, d.hook_event_id, d.event_name, d.status, d.attempts, d.next_attempt_at,
	d.last_error, d.last_status_code, d.last_attempt_at, d.created_at, d.delivered_at`;

function toDelivery(r: Row) {
	return {
		id: r.id,
		subscriptionId: r.subscription_id,
		sessionId: r.session_id,
		hookEventId: r.hook_event_id,
		event: r.event_name,
		status: r.status,
		attempts: r.attempts,
		// For a pending row: when it is next tried (in the future while a request is in flight or backing off).
		nextAttemptAt: r.status === 'pending' ? r.next_attempt_at : null,
		lastAttemptAt: r.last_attempt_at,
		lastStatusCode: r.last_status_code,
		lastError: r.last_error,
		createdAt: r.created_at,
		deliveredAt: r.delivered_at,
	};
}

export interface DeliveryFilter {
	status?: DeliveryStatus;
	subscriptionId?: string;
	sessionId?: string;
	limit: number;
	/** Keyset: (hook_event_id, id) of the last row of the previous page; newest first. */
	after?: { e: number; id: string };
}

export async function listDeliveries(db: Queryable, f: DeliveryFilter) {
	const { rows } = await db.query<Row>(
		`SELECT ${COLUMNS} FROM deliveries d
		WHERE ($1::text IS NULL OR d.status = $1) AND ($2::uuid IS NULL OR d.subscription_id = $2)
			AND ($3::uuid IS NULL OR d.session_id = $3)
			AND ($4::bigint IS NULL OR (d.hook_event_id, d.id) < ($4::bigint, $5::uuid))
		ORDER BY d.hook_event_id DESC, d.id DESC
		LIMIT $6`,
		[f.status ?? null, f.subscriptionId ?? null, f.sessionId ?? null, f.after?.e ?? null, f.after?.id ?? null, f.limit],
	);
	const items = rows.map(toDelivery);
	const last = rows[rows.length - 1];
	return { items, next: rows.length === f.limit && last ? { e: last.hook_event_id, id: last.id } : undefined };
}

export async function getDelivery(db: Queryable, id: string) {
	const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM deliveries d WHERE d.id = $1`, [id]);
	return rows[0] ? toDelivery(rows[0]) : undefined;
}

/** Dead → pending with a fresh set of attempts. Returns the rows that were dead (and now are pending). */
export async function retryDead(db: Queryable, by: { id: string } | { subscriptionId: string }) {
	const { rows } = await db.query<Row>(
		`UPDATE deliveries d SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL
		WHERE d.status = 'dead' AND ${'id' in by ? 'd.id = $1' : 'd.subscription_id = $1'}
		RETURNING ${COLUMNS}`,
		['id' in by ? by.id : by.subscriptionId],
	);
	return rows.map(toDelivery);
}
