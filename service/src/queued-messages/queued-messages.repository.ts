import {
	COMBINED_PROMPT_BUDGET_BYTES,
	COMBINED_PROMPT_PREAMBLE_BYTES,
	QUEUED_MESSAGE_HEADER_BYTES,
	QUEUED_MESSAGE_MAX_GIVE_BACKS,
	REPLY_QUEUED,
} from '../../../nodes/shared/protocol';
import type { Queryable } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import { recordServiceEvent } from '../sessions/service-event';

export { REPLY_QUEUED };

export interface QueuedMessage {
	id: number;
	content: string;
	author: string;
	channel: string;
	externalId: string | null;
	queuedAt: string;
	takenAt: string | null;
}

type Row = {
	id: string;
	content: string;
	author: string;
	channel: string;
	external_id: string | null;
	queued_at: Date;
	taken_at: Date | null;
};
const toMessage = (r: Row): QueuedMessage => ({
	id: Number(r.id),
	content: r.content,
	author: r.author,
	channel: r.channel,
	externalId: r.external_id,
	queuedAt: new Date(r.queued_at).toISOString(),
	takenAt: r.taken_at ? new Date(r.taken_at).toISOString() : null,
});
const COLUMNS = 'id, content, author, channel, external_id, queued_at, taken_at';

export type QueueResult =
	| { ok: false; reason: 'not-found' | 'not-busy' }
	| { ok: false; reason: 'full'; max: number }
	| { ok: true; message: QueuedMessage; position: number; duplicate: boolean };

/**
 * Queues a reply for the session's next turn, but only while a turn runs (the session row is locked meanwhile,
 * so the turn cannot end unseen in between: its release then finds the reply and fires Reply Queued).
 */
export async function queueMessage(
	tx: Queryable,
	sessionId: string,
	m: { content: string; author: string; channel: string; externalId?: string },
	maxWaiting: number,
): Promise<QueueResult> {
	const { rows } = await tx.query<{ held: boolean }>(
		'SELECT COALESCE(lease_owner IS NOT NULL AND lease_expires_at > now(), false) AS held FROM sessions WHERE id = $1 FOR UPDATE',
		[sessionId],
	);
	if (!rows[0]) return { ok: false, reason: 'not-found' };
	// Asked again (a resent Slack event, a retried request) after its turn has ended, it is still the reply queued
	// then, not a new one to run now: answered before the busy check, so it is never run twice.
	if (m.externalId !== undefined) {
		const earlier = await tx.query<Row>(
			`SELECT ${COLUMNS} FROM queued_messages WHERE session_id = $1 AND external_id = $2`,
			[sessionId, m.externalId],
		);
		if (earlier.rows[0])
			return {
				ok: true,
				message: toMessage(earlier.rows[0]),
				position: await positionOf(tx, sessionId, earlier.rows[0]),
				duplicate: true,
			};
	}
	if (!rows[0].held) return { ok: false, reason: 'not-busy' };
	// Counted under the session row's lock, so two replies at once cannot both slip under the cap.
	const waiting = await tx.query<{ n: number }>(
		'SELECT count(*)::int AS n FROM queued_messages WHERE session_id = $1 AND taken_at IS NULL',
		[sessionId],
	);
	if (waiting.rows[0].n >= maxWaiting) return { ok: false, reason: 'full', max: maxWaiting };
	const inserted = await tx.query<Row>(
		`INSERT INTO queued_messages (session_id, content, author, channel, external_id) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (session_id, external_id) DO NOTHING RETURNING ${COLUMNS}`,
		[sessionId, m.content, m.author, m.channel, m.externalId ?? null],
	);
	let row = inserted.rows[0];
	if (!row)
		row = (
			await tx.query<Row>(
				`SELECT ${COLUMNS} FROM queued_messages WHERE session_id = $1 AND external_id = $2`,
				[sessionId, m.externalId],
			)
		).rows[0];
	return {
		ok: true,
		message: toMessage(row),
		position: await positionOf(tx, sessionId, row),
		duplicate: !inserted.rows[0],
	};
}

/** Its place among the replies still waiting (0 once a turn has taken it). */
async function positionOf(tx: Queryable, sessionId: string, row: Row): Promise<number> {
	if (row.taken_at) return 0;
	const { rows } = await tx.query<{ n: number }>(
		'SELECT count(*)::int AS n FROM queued_messages WHERE session_id = $1 AND taken_at IS NULL AND id <= $2',
		[sessionId, row.id],
	);
	return rows[0].n;
}

/** The replies waiting for the session's next turn, oldest first: `limit` of them after the id `after`. */
export async function waitingMessages(
	db: Queryable,
	sessionId: string,
	page: { limit: number; after: number },
): Promise<{ items: QueuedMessage[]; more: boolean }> {
	const { rows } = await db.query<Row>(
		`SELECT ${COLUMNS} FROM queued_messages WHERE session_id = $1 AND taken_at IS NULL AND id > $2
		ORDER BY id LIMIT $3`,
		[sessionId, page.after, page.limit + 1],
	);
	return { items: rows.slice(0, page.limit).map(toMessage), more: rows.length > page.limit };
}

export type TakeResult =
	{ ok: false; reason: 'not-found' | 'not-holder' } | { ok: true; messages: QueuedMessage[] };

/** Locks the session row and says whether `owner` holds its lease now. */
async function holderCheck(
	tx: Queryable,
	sessionId: string,
	owner: string,
): Promise<{ ok: true } | { ok: false; reason: 'not-found' | 'not-holder' }> {
	const { rows } = await tx.query<{ owner: string | null }>(
		'SELECT CASE WHEN lease_expires_at > now() THEN lease_owner END AS owner FROM sessions WHERE id = $1 FOR UPDATE',
		[sessionId],
	);
	if (!rows[0]) return { ok: false, reason: 'not-found' };
	if (rows[0].owner !== owner) return { ok: false, reason: 'not-holder' };
	return { ok: true };
}

/** A reply's share of the combined prompt, counted as the node counts it (queuedMessageCost in the contract). */
const COST_SQL = `octet_length(content) + octet_length(author) + octet_length(channel) + ${QUEUED_MESSAGE_HEADER_BYTES}`;

/**
 * The waiting replies for the run holding the lease as `owner`, oldest first, as many as fit `maxBytes` together
 * (the rest wait for the next turn). The lease is exclusive and a taken row is never taken again by another
 * run, whichever worker asks; the same run asking again (its answer was lost) gets the replies it took back.
 * The default budget always fits the oldest reply alone: queueing refuses a reply longer than that.
 */
export async function takeMessages(
	tx: Queryable,
	sessionId: string,
	owner: string,
	runId: string,
	maxBytes = COMBINED_PROMPT_BUDGET_BYTES - COMBINED_PROMPT_PREAMBLE_BYTES,
): Promise<TakeResult> {
	const holder = await holderCheck(tx, sessionId, owner);
	if (!holder.ok) return holder;
	const earlier = await tx.query<Row>(
		`SELECT ${COLUMNS} FROM queued_messages WHERE session_id = $1 AND taken_by_run = $2 AND taken_at IS NOT NULL
		ORDER BY id`,
		[sessionId, runId],
	);
	if (earlier.rows.length) return { ok: true, messages: earlier.rows.map(toMessage) };
	const taken = await tx.query<Row>(
		`UPDATE queued_messages q SET taken_at = now(), taken_by_run = $2
		FROM (
			SELECT id, sum(${COST_SQL}) OVER (ORDER BY id) AS upto
			FROM queued_messages WHERE session_id = $1 AND taken_at IS NULL
		) w
		WHERE q.id = w.id AND w.upto <= $3
		RETURNING q.id, q.content, q.author, q.channel, q.external_id, q.queued_at, q.taken_at`,
		[sessionId, runId, maxBytes],
	);
	return { ok: true, messages: taken.rows.map(toMessage).sort((a, b) => a.id - b.id) };
}

export type ReleaseResult =
	| { ok: false; reason: 'not-found' | 'not-holder' }
	| { ok: true; released: number; keptTaken: number };

/**
 * Gives back the replies `runId` took, for a turn that failed before claude started (they were never answered):
 * they wait again, in their old places, and the end of the lease announces them (Reply Queued). Only the lease
 * holder may; a reply given back QUEUED_MESSAGE_MAX_GIVE_BACKS times stays taken, so a failure that repeats does
 * not announce the same replies for ever.
 */
export async function releaseMessages(
	tx: Queryable,
	sessionId: string,
	owner: string,
	runId: string,
): Promise<ReleaseResult> {
	const holder = await holderCheck(tx, sessionId, owner);
	if (!holder.ok) return holder;
	const released = await giveBack(tx, sessionId, 'taken_by_run = $2', [runId]);
	const kept = await tx.query<{ n: number }>(
		'SELECT count(*)::int AS n FROM queued_messages WHERE session_id = $1 AND taken_by_run = $2 AND taken_at IS NOT NULL',
		[sessionId, runId],
	);
	return { ok: true, released, keptTaken: kept.rows[0].n };
}

async function giveBack(
	tx: Queryable,
	sessionId: string,
	which: string,
	params: unknown[],
): Promise<number> {
	const { rowCount } = await tx.query(
		`UPDATE queued_messages SET taken_at = NULL, taken_by_run = NULL, give_backs = give_backs + 1
		WHERE session_id = $1 AND taken_at IS NOT NULL AND give_backs < ${QUEUED_MESSAGE_MAX_GIVE_BACKS} AND ${which}`,
		[sessionId, ...params],
	);
	return rowCount;
}

/**
 * The lease of a session lapsed (its worker died): replies taken by a run that got neither its budget reservation
 * nor its run record were taken, but claude never saw them (the runner has its reservation before it starts claude,
 * and writes the run record beside the start), so they go back to the queue. A run with either keeps them: its
 * claude may have answered them, and a second answer is worse than none (the run's end says it was interrupted;
 * the replies are in its prompt). In the sweep's transaction, before it announces what waits.
 */
export function returnUnstarted(tx: Queryable, sessionId: string): Promise<number> {
	return giveBack(
		tx,
		sessionId,
		`NOT EXISTS (SELECT 1 FROM session_runs r WHERE r.id = queued_messages.taken_by_run)
		AND NOT EXISTS (SELECT 1 FROM budget_reservations b WHERE b.run_id = queued_messages.taken_by_run)`,
		[],
	);
}

/**
 * The session's turn has ended (its lease was given back or expired): if replies wait, tell the Hook Triggers
 * (Reply Queued) so a workflow takes them. In the transaction that ended the lease.
 */
export async function announceWaiting(
	tx: Queryable,
	sessionId: string,
	endedOwner: string,
	outbox?: KnownSubscriptions,
): Promise<void> {
	const { rows } = await tx.query<{ n: number; oldest: Date | null; thread_key: string | null }>(
		`SELECT count(q.id)::int AS n, min(q.queued_at) AS oldest, s.thread_key
		FROM sessions s LEFT JOIN queued_messages q ON q.session_id = s.id AND q.taken_at IS NULL
		WHERE s.id = $1 GROUP BY s.thread_key`,
		[sessionId],
	);
	const r = rows[0];
	if (!r || r.n === 0) return;
	await recordServiceEvent(
		tx,
		sessionId,
		REPLY_QUEUED,
		{
			queued: r.n,
			oldest_queued_at: new Date(r.oldest!).toISOString(),
			thread_key: r.thread_key,
			// Makes each announcement its own event (the same payload twice is stored once).
			after_run: endedOwner,
			announced_at: new Date().toISOString(),
		},
		outbox,
	);
}
