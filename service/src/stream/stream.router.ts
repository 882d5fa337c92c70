import { Router, type Response } from 'express';
import { z } from 'zod';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { badRequest } from '../http/errors';
import { parse, uuidParam } from '../http/validate';
import { logger } from '../logger';
import type { ChangeFeed } from './change-feed';
import { changeBounds, readChanges, type Change } from './changes.repository';

const seqText = z
	.string()
	.regex(/^\d{1,15}$/, 'must be the id of an event this stream sent')
	.transform(Number);
const StreamQuery = z
	.object({ sessionId: uuidParam.optional(), lastEventId: seqText.optional() })
	.strict();
const REPLAY_PAGE = 1000;

/**
 * GET /api/v1/stream[?sessionId=…]: server-sent events for the dashboard. Each `change` names a session, tool call,
 * message or approval that was written, with an id to resume from (Last-Event-ID header, or ?lastEventId= for
 * clients that cannot set it). Without one the stream starts with `ready` carrying the current id; a resume from
 * further back than the changes kept gets `reset` (reload everything, then go on from its id).
 */
export function streamRouter(deps: { db: Database; auth: Auth; feed: ChangeFeed }): Router {
	const r = Router();
	r.get('/', deps.auth.requireReader, async (req, res) => {
		const q = parse(StreamQuery, req.query, 'query');
		const header = req.get('last-event-id');
		const after = header !== undefined && header !== '' ? parseLastEventId(header) : q.lastEventId;
		const sessionId = q.sessionId;

		// Subscribed before the replay is read, so nothing committed in between is missed; what both see is sent once.
		let replaying = true;
		const held: Change[] = [];
		const sent = new Set<number>();
		const unsubscribe = deps.feed.subscribe({
			sessionId,
			send: (c) => (replaying ? held.push(c) : write(res, 'change', c.seq, c)),
			heartbeat: () => res.write(': keep-alive\n\n'),
			close: () => res.end(),
		});
		res.on('close', unsubscribe);
		try {
			const bounds = await changeBounds(deps.db);
			res.writeHead(200, {
				'Content-Type': 'text/event-stream; charset=utf-8',
				'Cache-Control': 'no-store',
				Connection: 'keep-alive',
				// Proxies that buffer responses (nginx) would hold events back.
				'X-Accel-Buffering': 'no',
			});
			res.write('retry: 2000\n\n');
			const gone =
				after !== undefined &&
				(after > bounds.latest ||
					(bounds.oldest !== undefined ? after < bounds.oldest - 1 : after < bounds.latest));
			if (after === undefined || gone) {
				write(res, gone ? 'reset' : 'ready', bounds.latest, { seq: bounds.latest });
			} else {
				for (let from = after; ;) {
					const page = await readChanges(deps.db, from, sessionId, REPLAY_PAGE);
					for (const c of page) {
						sent.add(c.seq);
						write(res, 'change', c.seq, c);
					}
					if (page.length < REPLAY_PAGE) break;
					from = page[page.length - 1].seq;
				}
			}
			replaying = false;
			for (const c of held) if (!sent.has(c.seq)) write(res, 'change', c.seq, c);
		} catch (err) {
			unsubscribe();
			if (!res.headersSent) throw err;
			logger.warn('stream ended early', {
				error: err instanceof Error ? err.message : String(err),
			});
			res.end();
		}
	});
	return r;
}

function parseLastEventId(value: string): number {
	const n = seqText.safeParse(value.trim());
	if (!n.success)
		throw badRequest('invalid Last-Event-ID: must be the id of an event this stream sent');
	return n.data;
}

function write(res: Response, event: string, id: number, data: unknown) {
	res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
