import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { HttpError, notFound } from '../http/errors';
import { parse, scrubbedText, SessionParams, storableText, uuidParam } from '../http/validate';
import { queueMessage, takeMessages, waitingMessages } from './queued-messages.repository';

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

const TakeBody = z.object({ owner: nonEmpty(200, 'owner'), runId: uuidParam }).strict();

export function queuedMessagesRouter(deps: { db: Database; auth: Auth }): Router {
	const { db, auth } = deps;
	const r = Router();

	// A reply for the session's next turn, while a turn runs: 201 with its place in line. 409 `not_busy` when no
	// turn runs (the caller runs the reply itself), 404 unknown session.
	r.post('/:id/queued-messages', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const body = parse(QueueBody, req.body, 'queued message');
		const queued = await db.transaction((tx) => queueMessage(tx, id, body));
		if (!queued.ok && queued.reason === 'not-found') throw notFound(`no session ${id}`);
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
		const items = await waitingMessages(db, id);
		if (
			!items.length &&
			!(await db.query('SELECT 1 FROM sessions WHERE id = $1', [id])).rows.length
		)
			throw notFound(`no session ${id}`);
		res.json({ items });
	});

	// The run holding the lease takes every waiting reply, oldest first; 409 for anyone else.
	r.post('/:id/queued-messages/take', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const { owner, runId } = parse(TakeBody, req.body, 'take');
		const taken = await db.transaction((tx) => takeMessages(tx, id, owner, runId));
		if (!taken.ok && taken.reason === 'not-found') throw notFound(`no session ${id}`);
		if (!taken.ok)
			throw new HttpError(
				409,
				`the lease on session ${id} is not held by ${owner}: only the running turn takes queued replies`,
				'not_holder',
			);
		res.json({ items: taken.messages });
	});

	return r;
}
