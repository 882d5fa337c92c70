import { REPLY_QUEUED } from '../../../nodes/shared/protocol';
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
	| { ok: true; message: QueuedMessage; position: number; duplicate: boolean };

/**
 * Queues a reply for the session's next turn, but only while a turn runs (the session row is locked meanwhile,
 * so the turn cannot end unseen in between: its release then finds the reply and fires Reply Queued).
 */
export async function queueMessage(
	tx: Queryable,
	sessionId: string,
	m: { content: string; author: string; channel: string; externalId?: string },
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

/** The replies waiting for the session's next turn, oldest first. */
export async function waitingMessages(db: Queryable, sessionId: string): Promise<QueuedMessage[]> {
	const { rows } = await db.query<Row>(
		`SELECT ${COLUMNS} FROM queued_messages WHERE session_id = $1 AND taken_at IS NULL ORDER BY id`,
		[sessionId],
	);
	return rows.map(toMessage);
}

export type TakeResult =
	{ ok: false; reason: 'not-found' | 'not-holder' } | { ok: true; messages: QueuedMessage[] };

/**
 * Every waiting reply, for the run holding the lease as `owner`, in arrival order; each is taken once only: the
 * lease is exclusive and a taken row is never taken again, whichever worker asks.
 */
export async function takeMessages(
	tx: Queryable,
	sessionId: string,
	owner: string,
	runId: string,
): Promise<TakeResult> {
	const { rows } = await tx.query<{ owner: string | null }>(
		'SELECT CASE WHEN lease_expires_at > now() THEN lease_owner END AS owner FROM sessions WHERE id = $1 FOR UPDATE',
		[sessionId],
	);
	if (!rows[0]) return { ok: false, reason: 'not-found' };
	if (rows[0].owner !== owner) return { ok: false, reason: 'not-holder' };
	const taken = await tx.query<Row>(
		`UPDATE queued_messages SET taken_at = now(), taken_by_run = $2 WHERE session_id = $1 AND taken_at IS NULL RETURNING ${COLUMNS}`,
		[sessionId, runId],
	);
	return { ok: true, messages: taken.rows.map(toMessage).sort((a, b) => a.id - b.id) };
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
