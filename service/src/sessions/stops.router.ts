import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { HttpError, notFound } from '../http/errors';
import { parse, SessionParams, storableText } from '../http/validate';
import { notifyRunSignal, stopReasonOf, type RunSignals } from './run-signals';
import { latestRunSummary, leaseHolder, recordStop, stopFor } from './stops.repository';

const StopBody = z
	.object({
		/** Who asked: a person's name, a Slack user id, an email address. */
		requestedBy: storableText(200).pipe(z.string().trim().min(1, 'requestedBy is empty')),
		/** Where they asked from: slack, email, api, dashboard… */
		channel: storableText(100).pipe(z.string().trim().min(1, 'channel is empty')),
		// Carried by a NOTIFY (at most 8,000 bytes; a control character is 6 in JSON), with who asked and from where.
		reason: storableText(500).optional(),
		/** Answer once the run has ended (with what it did and cost), waiting at most this long. */
		waitSeconds: z.number().int().min(0).max(60).default(0),
	})
	.strict();

const WatchQuery = z
	.object({
		owner: storableText(200).pipe(z.string().min(1, 'owner is empty')),
		waitSeconds: z.coerce.number().int().min(0).max(20).default(0),
	})
	.strict();

export interface StopsDeps {
	db: Database;
	auth: Auth;
	signals: RunSignals;
}

/**
 * An abort signal that fires when the caller hangs up, so a long wait does not outlive its request. (The
 * response's 'close', not the request's: the request's fires as soon as its body has been read.)
 */
function hangUp(res: { once(event: 'close', fn: () => void): unknown }): AbortSignal {
	const ac = new AbortController();
	res.once('close', () => ac.abort());
	return ac.signal;
}

export function stopsRouter(deps: StopsDeps): Router {
	const { db, auth, signals } = deps;
	const r = Router();

	// Stops the session's running turn: its runner hears of it at once (GET below), its hooks are answered with
	// `continue: false` from now on. 409 when no turn runs; 202 while the run is being stopped; 200 once it has
	// ended (with waitSeconds), with what the run did and cost.
	r.post('/:id/stop', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const body = parse(StopBody, req.body, 'stop request');
		const recorded = await db.transaction(async (tx) => {
			const result = await recordStop(tx, id, body);
			if (result.ok && !result.alreadyRequested) {
				await notifyRunSignal(tx, {
					kind: 'stop',
					sessionId: id,
					owner: result.owner,
					generation: result.generation,
					stopReason: stopReasonOf(result.stop),
				});
			}
			return result;
		});
		if (!recorded.ok && recorded.reason === 'not-found') throw notFound(`no session ${id}`);
		if (!recorded.ok)
			throw new HttpError(
				409,
				`session ${id} has no turn running: there is nothing to stop`,
				'not_running',
			);
		signals.remember({
			kind: 'stop',
			sessionId: id,
			owner: recorded.owner,
			generation: recorded.generation,
			stopReason: stopReasonOf(recorded.stop),
		});

		const ended = await waitForRunEnd(id, recorded.owner, body.waitSeconds * 1000, hangUp(res));
		const answer = { sessionId: id, ...recorded.stop, alreadyRequested: recorded.alreadyRequested };
		if (!ended) return void res.status(202).json({ ...answer, status: 'stopping' });
		const run = await latestRunSummary(db, id);
		res.status(200).json({ ...answer, status: run?.status ?? 'stopped', run: run ?? null });
	});

	// The runner holding the lease asks whether it is to stop (a read: the dashboard token may ask too); waits up to
	// waitSeconds for the answer (a long poll woken by NOTIFY, so the runner hears of a stop within milliseconds
	// without asking in a loop).
	r.get('/:id/stop', auth.requireReader, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const q = parse(WatchQuery, req.query, 'query');
		const abort = hangUp(res);
		const deadline = Date.now() + q.waitSeconds * 1000;
		for (let round = 0; ; round++) {
			const stop = await stopFor(db, id, q.owner);
			if (stop) return void res.json({ stop });
			const holder = await leaseHolder(db, id);
			if (holder === null) throw notFound(`no session ${id}`);
			const remaining = deadline - Date.now();
			// The lease is gone (released, expired, or another run's): nothing left for this owner to hear.
			if (holder !== q.owner || remaining <= 0 || abort.aborted || round > 1000)
				return void res.json({ stop: null, leaseHeld: holder === q.owner });
			// Shutting down: asked again at once, this replica would be held open by the runner's polls. The runner
			// waits a moment and asks again, of another replica or of this one once it is back.
			if (signals.closed)
				throw new HttpError(
					503,
					'the service is shutting down: ask again in a moment',
					'shutting_down',
				);
			await signals.wait(id, remaining, abort);
		}
	});

	/** True once the run holding the lease as `owner` has given it back (it records its end first). */
	async function waitForRunEnd(
		id: string,
		owner: string,
		ms: number,
		abort: AbortSignal,
	): Promise<boolean> {
		const deadline = Date.now() + ms;
		for (let round = 0; round <= 1000; round++) {
			if ((await leaseHolder(db, id)) !== owner) return true;
			const remaining = deadline - Date.now();
			if (remaining <= 0 || abort.aborted || signals.closed) return false;
			await signals.wait(id, remaining, abort);
		}
		return false;
	}

	return r;
}
