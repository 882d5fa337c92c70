import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { notFound } from '../http/errors';
import { parse, uuidParam } from '../http/validate';
import { ThreadMetadata } from '../../../nodes/shared/protocol';
import { ThreadKey } from '../sessions/sessions.schema';
import { getThread, getThreadWithSession } from './threads.repository';
import { bindThread } from './threads.service';

const KeyParams = z.object({ key: ThreadKey });
// include=session: the bound session comes with the thread (a Resume by thread key needs both).
const GetThreadQuery = z.object({
	include: z.enum(['session'], { message: 'include can only be "session"' }).optional(),
});
const PutThreadBody = z
	.object({
		sessionId: uuidParam,
		metadata: ThreadMetadata.optional(),
	})
	.strict();

export function threadsRouter(deps: { db: Database; auth: Auth }): Router {
	const { db, auth } = deps;
	const r = Router();
	r.get('/:key', auth.requireReader, async (req, res) => {
		const { key } = parse(KeyParams, req.params, 'thread key');
		const { include } = parse(GetThreadQuery, req.query, 'query');
		const thread = include ? await getThreadWithSession(db, key) : await getThread(db, key);
		if (!thread) throw notFound(`no session is bound to thread ${key}`);
		res.json(thread);
	});
	r.put('/:key', auth.requireAdmin, async (req, res) => {
		const { key } = parse(KeyParams, req.params, 'thread key');
		const body = parse(PutThreadBody, req.body, 'thread');
		res.json(await bindThread(db, key, body.sessionId, body.metadata));
	});
	return r;
}
