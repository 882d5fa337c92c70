import type { Queryable } from '../db';
import { olderThanRetention, retentionDelete } from '../db/retention';
import { periodicTask } from '../periodic-task';
import { MAX_MIN_INTERVAL_SECONDS } from '../subscriptions/subscriptions.schema';

// 'superseded': a coalescing subscription (min_interval_seconds) sent a later event of the session instead.
export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'superseded'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * Every row of `deliveries` is written by this module. Two ways in:
 * - insertDeliveries: rows decided in full by the caller (enqueueDeliveries, in the events' transaction);
 * - plannedDeliveriesInsertSql: a statement fragment hook ingestion composes into the statement that stores the
 *   events, so a batch and its deliveries cost one round trip (hooks.repository.ts insertHookEvents).
 */
export interface NewDelivery {
	id: string;
	subscriptionId: string;
	sessionId: string;
	hookEventId: number;
	eventName: string;
}

/** Queues deliveries; one already queued for the same (subscription, event) is left as it is. Returns the rows added. */
export async function insertDeliveries(tx: Queryable, rows: NewDelivery[]): Promise<number> {
	if (!rows.length) return 0;
	const { rowCount } = await tx.query(
		`INSERT INTO deliveries (id, subscription_id, session_id, hook_event_id, event_name)
		SELECT (r->>'id')::uuid, (r->>'subscriptionId')::uuid, (r->>'sessionId')::uuid, (r->>'hookEventId')::bigint, r->>'eventName'
		FROM jsonb_array_elements($1::jsonb) r
		ON CONFLICT (subscription_id, hook_event_id) DO NOTHING`,
		[JSON.stringify(rows)],
	);
	return rowCount ?? 0;
}

/**
 * The INSERT of planned deliveries for a statement that has just stored events: `plan` is a parameter holding a
 * JSON array of { id, subscriptionId, sessionId, hash }, `events` the name of a CTE returning the stored events'
 * id, payload_hash, session_id and event_name. Only events that CTE returns (not redeliveries) get deliveries.
 */
export function plannedDeliveriesInsertSql(plan: string, events: string): string {
	return `INSERT INTO deliveries (id, subscription_id, session_id, hook_event_id, event_name)
			SELECT (d->>'id')::uuid, (d->>'subscriptionId')::uuid, ev.session_id, ev.id, ev.event_name
			FROM jsonb_array_elements(${plan}::jsonb) d JOIN ${events} ev ON ev.session_id = (d->>'sessionId')::uuid AND ev.payload_hash = d->>'hash'
			ON CONFLICT (subscription_id, hook_event_id) DO NOTHING`;
}

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
	/** Earlier events of the session this delivery stands for (a coalescing subscription superseded them). */
	coalesced: number;
	/** The run the event happened in (the session's last run started before it), with its tool calls so far. */
	run: {
		id: string;
		status: string;
		startedAt: Date;
		endedAt: Date | null;
		statusMessage: string | null;
		toolCalls: number;
		/** The run's cost once it has ended (its final record). */
		costUsd: number;
		/** What claude has reported of the run's API requests so far; null when it reported nothing. */
		costSoFarUsd: number | null;
	} | null;
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
			JOIN subscriptions cs ON cs.id = c.subscription_id
			LEFT JOIN delivery_windows w ON w.subscription_id = c.subscription_id AND w.session_id = c.session_id
			WHERE c.status = 'pending' AND c.next_attempt_at <= now()
				-- A coalescing subscription waits out its window after the end of the session's last request.
				AND (cs.min_interval_seconds IS NULL OR w.last_attempt_at IS NULL
					OR w.last_attempt_at <= now() - make_interval(secs => cs.min_interval_seconds))
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
			RETURNING d.id, d.subscription_id, d.session_id, d.hook_event_id, d.event_name, d.attempts, d.coalesced
		)
		SELECT c.*, sub.url, sub.secret, h.tool_name, h.tool_use_id, h.payload, h.received_at,
			run.id AS run_id, run.status AS run_status, run.started_at AS run_started_at, run.ended_at AS run_ended_at,
			run.status_message AS run_status_message, run.cost_usd AS run_cost_usd,
			(SELECT sum(a.cost_usd) FROM api_request_costs a
				WHERE run.id IS NOT NULL AND a.session_id = c.session_id AND a.run_id = run.id) AS run_cost_so_far,
			-- An index-only range of tool_calls_session_time_idx (migration 020), whatever the session's size: its
			-- expression must stay COALESCE(t.started_at, t.finished_at) for the index to serve it.
			(SELECT count(*)::int FROM tool_calls t WHERE run.id IS NOT NULL AND t.session_id = c.session_id
				AND COALESCE(t.started_at, t.finished_at) >= run.started_at
				AND (run.ended_at IS NULL OR COALESCE(t.started_at, t.finished_at) <= run.ended_at)) AS run_tool_calls,
			s.status, s.origin, s.workspace_type, s.workspace_path, s.workspace_branch, s.cost_usd, s.result, s.is_error, s.subtype,
			COALESCE(s.thread_key,
				(SELECT t.key FROM threads t WHERE t.session_id = c.session_id ORDER BY t.updated_at DESC LIMIT 1)) AS thread_key
		FROM claimed c
		JOIN subscriptions sub ON sub.id = c.subscription_id
		JOIN hook_events h ON h.id = c.hook_event_id
		LEFT JOIN sessions s ON s.id = c.session_id
		LEFT JOIN LATERAL (
			SELECT r.id, r.status, r.started_at, r.ended_at, r.status_message, r.cost_usd FROM session_runs r
			WHERE r.session_id = c.session_id AND r.started_at <= h.received_at
			ORDER BY r.started_at DESC, r.id DESC LIMIT 1
		) run ON true
		ORDER BY c.hook_event_id`,
		[
			opts.limit,
			opts.perSubscription,
			JSON.stringify(Object.fromEntries(opts.inFlight)),
			opts.leaseMs,
		],
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
		coalesced: r.coalesced,
		run: r.run_id
			? {
					id: r.run_id,
					status: r.run_status,
					startedAt: r.run_started_at,
					endedAt: r.run_ended_at ?? null,
					statusMessage: r.run_status_message ?? null,
					toolCalls: r.run_tool_calls,
					costUsd: r.run_cost_usd,
					costSoFarUsd: r.run_cost_so_far ?? null,
				}
			: null,
		session: {
			status: r.status ?? null,
			origin: r.origin ?? null,
			workspace: {
				type: r.workspace_type ?? null,
				path: r.workspace_path ?? null,
				branch: r.workspace_branch ?? null,
			},
			threadKey: r.thread_key ?? null,
			costUsd: r.cost_usd ?? null,
			result: r.result ?? null,
			isError: r.is_error ?? null,
			subtype: r.subtype ?? null,
		},
	}));
}

/**
 * For subscriptions with a minimum interval: every pending event of a session that a later pending event of the
 * same session and name can stand for becomes 'superseded', and the later one counts it in `coalesced`. Only an
 * event of the same name stands for another: a run's RunFinished is never replaced by the next run's first
 * PostToolUse. Only rows never
 * tried are replaced; one in flight or backing off is delivered (or dead-lettered) as it would be anyway. The
 * latest event is never replaced, so the last one of a burst is always delivered, after the window.
 */
export async function supersedeCoalesced(db: Queryable): Promise<number> {
	const { rows } = await db.query<{ n: number }>(
		`WITH latest AS (
			SELECT DISTINCT ON (d.subscription_id, d.session_id, d.event_name) d.id, d.subscription_id, d.session_id,
				d.event_name, d.hook_event_id
			FROM subscriptions s
			JOIN deliveries d ON d.subscription_id = s.id AND d.status = 'pending'
			WHERE s.min_interval_seconds IS NOT NULL
			ORDER BY d.subscription_id, d.session_id, d.event_name, d.hook_event_id DESC
		), gone AS (
			UPDATE deliveries o SET status = 'superseded', next_attempt_at = now()
			FROM latest l
			WHERE o.subscription_id = l.subscription_id AND o.session_id = l.session_id AND o.event_name = l.event_name
				AND o.status = 'pending' AND o.attempts = 0 AND o.hook_event_id < l.hook_event_id
			RETURNING o.coalesced, l.id AS latest_id
		), counted AS (
			UPDATE deliveries d SET coalesced = d.coalesced + g.n
			FROM (SELECT latest_id, sum(1 + coalesced)::int AS n FROM gone GROUP BY latest_id) g
			WHERE d.id = g.latest_id
			RETURNING 1
		)
		SELECT count(*)::int AS n FROM gone`,
	);
	return rows[0]?.n ?? 0;
}

/**
 * With a request's outcome, in the same statement: a coalescing subscription's window for the session starts when
 * the request ended, so whoever sees the delivery settled also sees the window, and the receiver never gets two
 * requests of one session closer together than the interval (a retry waits it out too).
 */
const OPEN_WINDOW = `, windows AS (
			INSERT INTO delivery_windows (subscription_id, session_id, last_attempt_at)
			SELECT d.subscription_id, d.session_id, clock_timestamp() FROM done d
			JOIN subscriptions s ON s.id = d.subscription_id WHERE s.min_interval_seconds IS NOT NULL
			ON CONFLICT (subscription_id, session_id) DO UPDATE SET last_attempt_at = EXCLUDED.last_attempt_at
			RETURNING 1
		)`;

/** Records a 2xx. The attempt number guards against a stale worker whose lease ran out and was re-claimed. */
export async function markDelivered(
	db: Queryable,
	id: string,
	attempt: number,
	statusCode: number,
): Promise<void> {
	await db.query(
		`WITH done AS (
			UPDATE deliveries SET status = 'delivered', delivered_at = now(), last_status_code = $3, last_error = NULL
			WHERE id = $1 AND attempts = $2 AND status = 'pending'
			RETURNING subscription_id, session_id
		)${OPEN_WINDOW}
		SELECT 1`,
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
		`WITH done AS (
			UPDATE deliveries SET status = CASE WHEN attempts >= $5 THEN 'dead' ELSE 'pending' END,
				next_attempt_at = now() + make_interval(secs => $4::double precision / 1000),
				last_error = $3, last_status_code = $6
			WHERE id = $1 AND attempts = $2 AND status = 'pending'
			RETURNING subscription_id, session_id, status
		)${OPEN_WINDOW}
		SELECT status FROM done`,
		[
			id,
			attempt,
			failure.error.slice(0, 2000),
			failure.retryInMs,
			failure.maxAttempts,
			failure.statusCode ?? null,
		],
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
export const pruneDelivered = retentionDelete(
	`DELETE FROM deliveries WHERE id IN (
		(SELECT id FROM deliveries WHERE status = 'delivered' AND ${olderThanRetention('delivered_at')}
		ORDER BY hook_event_id LIMIT $2)
		UNION ALL
		(SELECT id FROM deliveries WHERE status = 'superseded' AND ${olderThanRetention('next_attempt_at')}
		ORDER BY hook_event_id LIMIT $2))`,
);

/**
 * Forgets coalescing windows that can no longer hold a delivery back, a bounded batch at a time: one whose last
 * request ended longer ago than any subscription's interval can be (a missing window and an elapsed one let the next
 * delivery go alike, see claimDue), or whose session is gone. A deleted subscription takes its windows with it
 * (ON DELETE CASCADE); the session has no foreign key, since a window is written with a delivery's outcome and must
 * not fail for a session deleted meanwhile. The age is checked again on the row being deleted, so a window a
 * delivery has just renewed stays.
 */
export async function pruneDeliveryWindows(db: Queryable, batch = 5000): Promise<number> {
	const stale = (w: string) =>
		`(${w}.last_attempt_at < now() - make_interval(secs => $1)
			OR NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = ${w}.session_id))`;
	const { rowCount } = await db.query(
		`DELETE FROM delivery_windows w USING (
			SELECT subscription_id, session_id FROM delivery_windows x WHERE ${stale('x')} LIMIT $2
		) old
		WHERE w.subscription_id = old.subscription_id AND w.session_id = old.session_id AND ${stale('w')}`,
		[MAX_MIN_INTERVAL_SECONDS, batch],
	);
	return rowCount;
}

/**
 * Windows are written per (subscription, session) with each coalesced delivery and never read again once the
 * interval is over: forgotten every 10 minutes, up to 20 batches a pass so a backlog goes without one long pass.
 * The table holds at most the windows of the last hour, so finding the old ones is a short scan without an index
 * (one on last_attempt_at would make every window renewal a non-HOT update).
 */
export function createDeliveryWindowPruner(
	db: Queryable,
	opts = { everyMs: 600_000, batch: 5000, maxBatches: 20 },
) {
	return periodicTask('delivery window pruning', opts.everyMs, async () => {
		let n = 0;
		for (let i = 0; i < opts.maxBatches; i++) {
			const deleted = await pruneDeliveryWindows(db, opts.batch);
			n += deleted;
			if (deleted < opts.batch) break;
		}
		return n;
	});
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
	coalesced: number;
}

const COLUMNS = `d.id, d.subscription_id, d.session_id, d.hook_event_id, d.event_name, d.status, d.attempts, d.next_attempt_at,
	d.last_error, d.last_status_code, d.last_attempt_at, d.created_at, d.delivered_at, d.coalesced`;

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
		coalesced: r.coalesced,
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
		[
			f.status ?? null,
			f.subscriptionId ?? null,
			f.sessionId ?? null,
			f.after?.e ?? null,
			f.after?.id ?? null,
			f.limit,
		],
	);
	const items = rows.map(toDelivery);
	const last = rows[rows.length - 1];
	return {
		items,
		next: rows.length === f.limit && last ? { e: last.hook_event_id, id: last.id } : undefined,
	};
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
