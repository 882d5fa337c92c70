import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import type { Auth } from '../http/auth';
import { getOne } from '../http/get-one';
import { DecisionBody } from '../../../nodes/shared/protocol';
import { cursorTime, decodeCursor, pageBody, parse, uuidParam } from '../http/validate';
import { APPROVAL_STATUSES, getApproval, listApprovals } from './approvals.repository';
import { decideApproval } from './decide';

const Params = z.object({ id: z.string().uuid('must be an approval id (a uuid)') });
const ListQuery = z.object({
	sessionId: uuidParam.optional(),
	status: z
		.enum(APPROVAL_STATUSES, { message: `status must be one of ${APPROVAL_STATUSES.join(', ')}` })
		.optional(),
	toolUseId: z.string().min(1).max(256).optional(),
	limit: z.coerce.number().int().min(1).max(200).default(50),
	cursor: z.string().max(512).optional(),
});
const Cursor = z.object({ t: cursorTime, id: z.string().uuid() });

/**
 * Pending and settled approvals: readable with the dashboard token; deciding needs the API key (the workflow
 * that checked the Slack signature or read the reply holds it, and says who decided).
 */
export function approvalsRouter(deps: {
	db: Database;
	auth: Auth;
	outbox: KnownSubscriptions;
	readPageMaxBytes?: number;
}): Router {
	const { db, auth } = deps;
	const r = Router();

	r.get('/', auth.requireReader, async (req, res) => {
		const q = parse(ListQuery, req.query, 'query');
		const page = await listApprovals(db, {
			...q,
			after: decodeCursor(Cursor, q.cursor),
			maxBytes: deps.readPageMaxBytes,
		});
		res.json(pageBody(page));
	});

	getOne(r, auth.requireReader, Params, 'approval', (id) => getApproval(db, id));

	// Idempotent: a decision on a settled approval answers 200 with `changed: false` and the first decision.
	r.post('/:id/decision', auth.requireAdmin, async (req, res) => {
		const { id } = parse(Params, req.params, 'path');
		const body = parse(DecisionBody, req.body, 'decision');
		res.json(await decideApproval(db, id, body, deps.outbox));
	});

	return r;
}
