import { Router } from 'express';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { notFound } from '../http/errors';
import { parse, SessionParams } from '../http/validate';
import { ApprovalPolicyBody } from './approval-policy';
import { getPolicy, putPolicy } from './approvals.repository';

/**
 * /api/v1/sessions/:id/approval-policy: the node sends the policy when it creates the session and before a
 * resume that sets one; the hooks route reads it from the database, so any replica answers alike.
 */
export function approvalPolicyRouter(deps: { db: Database; auth: Auth }): Router {
	const { db, auth } = deps;
	const r = Router();

	r.put('/:id/approval-policy', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const policy = parse(ApprovalPolicyBody, req.body, 'approval policy');
		if (!(await putPolicy(db, id, policy))) throw notFound(`no session ${id}`);
		res.json(policy);
	});

	r.get('/:id/approval-policy', auth.requireReader, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const found = await getPolicy(db, id);
		if (!found) throw notFound(`no session ${id}`);
		if (!found.policy) throw notFound(`session ${id} has no approval policy`);
		res.json(found.policy);
	});

	// Calls already waiting keep their request; only new calls stop being gated.
	r.delete('/:id/approval-policy', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		if (!(await putPolicy(db, id, null))) throw notFound(`no session ${id}`);
		res.status(204).end();
	});

	return r;
}
