import crypto from 'node:crypto';
import { Router } from 'express';
import type { Database } from '../db';
import { checkTarget, TargetRefused } from '../deliveries/delivery-target';
import type { Auth } from '../http/auth';
import { getOne } from '../http/get-one';
import { badRequest, notFound } from '../http/errors';
import { parse } from '../http/validate';
import {
	deleteSubscription,
	getSubscription,
	listSubscriptions,
	upsertSubscription,
} from './subscriptions.repository';
import {
	CreateSubscriptionBody,
	DeleteByUrlQuery,
	ListSubscriptionsQuery,
	SubscriptionParams,
} from './subscriptions.schema';

/**
 * Hook Trigger registrations. Every route needs the API key: a subscription makes the service send data out.
 * POST returns the signing secret; nothing else ever does.
 */
export function subscriptionsRouter(deps: {
	db: Database;
	auth: Auth;
	allowedHosts: readonly string[];
}): Router {
	const { db, auth } = deps;
	const r = Router();

	r.post('/', auth.requireAdmin, async (req, res) => {
		const body = parse(CreateSubscriptionBody, req.body, 'subscription');
		try {
			await checkTarget(body.url, deps.allowedHosts);
		} catch (err) {
			if (err instanceof TargetRefused)
				throw badRequest(`invalid subscription: url: ${err.message}`);
			throw err;
		}
		const secret = body.secret ?? `whsec_${crypto.randomBytes(32).toString('base64url')}`;
		const { subscription, created } = await upsertSubscription(
			db,
			crypto.randomUUID(),
			secret,
			body,
		);
		// 201 for a new registration, 200 when the URL's existing one was replaced (same id, new secret).
		res.status(created ? 201 : 200).json({ ...subscription, secret });
	});

	r.get('/', auth.requireAdmin, async (req, res) => {
		const q = parse(ListSubscriptionsQuery, req.query, 'query');
		res.json({ items: await listSubscriptions(db, q) });
	});

	getOne(r, auth.requireAdmin, SubscriptionParams, 'subscription', (id) => getSubscription(db, id));

	r.delete('/:id', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SubscriptionParams, req.params, 'path');
		if (!(await deleteSubscription(db, { id }))) throw notFound(`no subscription ${id}`);
		res.status(204).end();
	});

	r.delete('/', auth.requireAdmin, async (req, res) => {
		const { url } = parse(DeleteByUrlQuery, req.query, 'query');
		if (!(await deleteSubscription(db, { url }))) throw notFound(`no subscription for ${url}`);
		res.status(204).end();
	});

	return r;
}
