import { Router } from 'express';
import { z } from 'zod';
import { EventKey, EventKeyClaimBody, EventKeyReleaseQuery } from '../../../nodes/shared/protocol';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { conflict, notFound } from '../http/errors';
import { parse } from '../http/validate';
import { claimEventKey, getEventKey, releaseEventKey } from './event-keys.repository';

const KeyParams = z.object({ key: EventKey });

/**
 * Keys of external events (a Slack message, an email) that started or continued a session. Slack resends an event
 * it got no quick answer for, and can send one message as two events; claiming the message's key before acting
 * makes the second arrival a no-op on every n8n worker, since the claim is decided by the database.
 */
export function eventKeysRouter(deps: { db: Database; auth: Auth }): Router {
	const { db, auth } = deps;
	const r = Router();
	// 201: this claim is the first, go ahead. 200 with first: false: the event was already acted on (by that session).
	r.post('/', auth.requireAdmin, async (req, res) => {
		const body = parse(EventKeyClaimBody, req.body, 'event key');
		const claim = await claimEventKey(db, body);
		res.status(claim.first ? 201 : 200).json(claim);
	});
	r.get('/:key', auth.requireReader, async (req, res) => {
		const { key } = parse(KeyParams, req.params, 'event key');
		const k = await getEventKey(db, key);
		if (!k) throw notFound(`no event key ${key}`);
		res.json(k);
	});
	// A Start or Resume that failed before claude was launched gives its key back: the event's resend then runs.
	// The claim id is in the query, not a body, since proxies may drop the body of a DELETE.
	r.delete('/:key', auth.requireAdmin, async (req, res) => {
		const { key } = parse(KeyParams, req.params, 'event key');
		const { claimId } = parse(EventKeyReleaseQuery, req.query, 'event key release');
		const released = await releaseEventKey(db, key, claimId);
		if (released === 'unknown') throw notFound(`no event key ${key}`);
		if (released === 'not_yours')
			throw conflict(
				`event key ${key} is held by another claim: only the claimId that claimed it can release it`,
			);
		res.status(204).end();
	});
	return r;
}
