import type { Database } from '../db';
import { notFound } from '../http/errors';
import { getSession } from '../sessions/sessions.repository';
import { putThread } from './threads.repository';

/** Binds the thread to an existing session (re-binding moves it); 404 when there is no such session. */
export async function bindThread(
	db: Database,
	key: string,
	sessionId: string,
	metadata: Record<string, unknown> | undefined,
) {
	return db.transaction(async (tx) => {
		if (!(await getSession(tx, sessionId))) throw notFound(`no session ${sessionId}`);
		return putThread(tx, key, sessionId, metadata);
	});
}
