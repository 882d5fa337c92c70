import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { HttpError, notFound } from '../http/errors';
import { parse, scrubbedText, SessionParams, storableText } from '../http/validate';
import {
	QUEUED_MESSAGE_MAX_BYTES,
	QueuedMessageIds,
	QueuedMessagesQuery,
	TakeQueuedBody,
} from '../../../nodes/shared/protocol';
import {
	queueMessage,
	releaseMessages,
	takeMessages,
	waitingMessages,
} from './queued-messages.repository';

const nonEmpty = (max: number, what: string) =>
	storableText(max).pipe(z.string().trim().min(1, `${what} is empty`));

const QueueBody = z
	.object({
		content: scrubbedText(200_000).pipe(z.string().trim().min(1, 'content is empty')),
		/** Who wrote it: a Slack user id, an email address, a name. */
		author: nonEmpty(200, 'author'),
		/** Where it came from: slack, email, api… */
		channel: nonEmpty(100, 'channel'),
		/** The sender's own id (Slack ts, Message-ID): the same reply queued again is the same one. */
		externalId: storableText(512).optional(),
	})
	.strict();

export function queuedMessagesRouter(deps: {
	db: Database;
	auth: Auth;
	/** QUEUED_MESSAGES_MAX: replies that may wait for one session. */
	maxWaiting: number;
}): Router {
	const { db, auth } = deps;
	const r = Router();
	const notHolder = (id: string, owner: string) =>
		new HttpError(
			409,
			`the lease on session ${id} is not held by ${owner}: only the running turn takes or gives back queued replies`,
			'not_holder',
		);

	// A reply for the session's next turn, while a turn runs: 201 with its place in line. 409 `not_busy` when no
	// turn runs (the caller runs the reply itself), 404 unknown session, 413 `too_large` for a reply no turn could
	// pass to claude, 429 `queue_full` when QUEUED_MESSAGES_MAX replies wait already.
	r.post('/:id/queued-messages', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const body = parse(QueueBody, req.body, 'queued message');
		const bytes = Buffer.byteLength(body.content, 'utf8');
		if (bytes > QUEUED_MESSAGE_MAX_BYTES)
			throw new HttpError(
				413,
				`content is ${bytes} bytes (UTF-8); a queued reply is at most ${QUEUED_MESSAGE_MAX_BYTES} bytes, so that ` +
					'the turn that takes it can pass it to claude as one argument (Linux allows 131,072 bytes per argument)',
				'too_large',
			);
		const queued = await db.transaction((tx) => queueMessage(tx, id, body, deps.maxWaiting));
		if (!queued.ok && queued.reason === 'not-found') throw notFound(`no session ${id}`);
		if (!queued.ok && queued.reason === 'full')
			throw new HttpError(
				429,
				`session ${id} has ${queued.max} replies waiting already (QUEUED_MESSAGES_MAX): this one was not queued; ` +
					'send it again after the running turn has taken them',
				'queue_full',
			);
		if (!queued.ok)
			throw new HttpError(
				409,
				`session ${id} has no turn running: run this reply now instead of queueing it`,
				'not_busy',
			);
		res
			.status(queued.duplicate ? 200 : 201)
			.json({ ...queued.message, position: queued.position, duplicate: queued.duplicate });
	});

	r.get('/:id/queued-messages', auth.requireReader, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const page = parse(QueuedMessagesQuery, req.query, 'query');
		const { items, more } = await waitingMessages(db, id, page);
		if (
			!items.length &&
			!(await db.query('SELECT 1 FROM sessions WHERE id = $1', [id])).rows.length
		)
			throw notFound(`no session ${id}`);
		res.json({ items, nextAfter: more ? items[items.length - 1].id : null });
	});

	// The run holding the lease takes the waiting replies, oldest first, as many as fit maxBytes; 409 for anyone
	// else. The same runId asking again gets the same replies.
	r.post('/:id/queued-messages/take', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const { owner, runId, maxBytes } = parse(TakeQueuedBody, req.body, 'take');
		const taken = await db.transaction((tx) => takeMessages(tx, id, owner, runId, maxBytes));
		if (!taken.ok && taken.reason === 'not-found') throw notFound(`no session ${id}`);
		if (!taken.ok) throw notHolder(id, owner);
		res.json({ items: taken.messages });
	});

	// The run holding the lease gives back what it took, when its turn failed before claude started: the replies
	// wait again and Reply Queued fires when the lease is released.
	r.post('/:id/queued-messages/release', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const { owner, runId } = parse(QueuedMessageIds, req.body, 'release');
		const released = await db.transaction((tx) => releaseMessages(tx, id, owner, runId));
		if (!released.ok && released.reason === 'not-found') throw notFound(`no session ${id}`);
		if (!released.ok) throw notHolder(id, owner);
		res.json({ released: released.released, keptTaken: released.keptTaken });
	});

	return r;
}
