import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { getOne } from '../http/get-one';
import { conflict, notFound } from '../http/errors';
import { cursorId, decodeCursor, pageBody, parse, uuidParam } from '../http/validate';
import { getDelivery, listDeliveries, retryDead, DELIVERY_STATUSES } from './deliveries.repository';
import type { OutboxSignal } from './outbox';

const ListQuery = z.object({
	status: z
		.enum(DELIVERY_STATUSES, { message: `status must be one of ${DELIVERY_STATUSES.join(', ')}` })
		.optional(),
	subscriptionId: z.string().uuid('subscriptionId must be a subscription id (a uuid)').optional(),
	sessionId: uuidParam.optional(),
	limit: z.coerce.number().int().min(1).max(500).default(50),
	cursor: z.string().max(512).optional(),
});
const Cursor = z.object({ e: cursorId, id: z.string().uuid() });
const Params = z.object({ id: z.string().uuid('must be a delivery id (a uuid)') });
const RetryQuery = z.object({
	subscriptionId: z.string().uuid('subscriptionId must be a subscription id (a uuid)'),
});

/**
 * The outbox, read-only for the dashboard token (no secrets or URLs in it); retrying a dead letter needs the
 * API key. Retrying puts it back at the head of its session's queue for that subscription.
 */
export function deliveriesRouter(deps: { db: Database; auth: Auth; signal: OutboxSignal }): Router {
	const { db, auth } = deps;
	const r = Router();

	r.get('/', auth.requireReader, async (req, res) => {
		const q = parse(ListQuery, req.query, 'query');
		const page = await listDeliveries(db, { ...q, after: decodeCursor(Cursor, q.cursor) });
		res.json(pageBody(page));
	});

	getOne(r, auth.requireReader, Params, 'delivery', (id) => getDelivery(db, id));

	r.post('/:id/retry', auth.requireAdmin, async (req, res) => {
		const { id } = parse(Params, req.params, 'path');
		const [retried] = await retryDead(db, { id });
		if (!retried) {
			const d = await getDelivery(db, id);
			if (!d) throw notFound(`no delivery ${id}`);
			throw conflict(`delivery ${id} is ${d.status}; only dead deliveries can be retried`);
		}
		deps.signal.queued(1);
		res.json(retried);
	});

	// Every dead letter of one subscription, e.g. after its receiver was fixed.
	r.post('/retry', auth.requireAdmin, async (req, res) => {
		const { subscriptionId } = parse(RetryQuery, req.query, 'query');
		const retried = await retryDead(db, { subscriptionId });
		deps.signal.queued(retried.length);
		res.json({ retried: retried.length });
	});

	return r;
}
