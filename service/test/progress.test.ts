// Progress for chat threads: a subscription that wants at most one delivery every N seconds per session (the
// service coalesces, keeping the latest), the run's status message and tool-call count in every delivery, the
// service's RunFinished event, and event keys that make a twice-delivered chat event act once.
import crypto from 'node:crypto';
import { TriggerReceiver } from '../../test/support/trigger-receiver';
import {
	FAST_DELIVERY_ENV,
	newSession as sessionRecord,
	serviceWithReceivers,
} from '../../test/support/service-sessions';
import { sleep, waitFor } from '../../test/support/wait';
import {
	createDeliveryWindowPruner,
	pruneDeliveryWindows,
} from '../src/deliveries/deliveries.repository';
import { pruneEventKeys } from '../src/event-keys/event-keys.repository';
import { api, DATABASE_KINDS } from '../../test/support/test-service';

type Json = Record<string, any>;

const ENV = FAST_DELIVERY_ENV;

const toolEvent = (sessionId: string, i: number, eventName = 'PostToolUse') => ({
	session_id: sessionId,
	hook_event_name: eventName,
	tool_name: 'Bash',
	tool_use_id: `toolu_progress_${i}_${sessionId.slice(0, 8)}`,
	tool_input: { command: `echo ${i}` },
	...(eventName === 'PostToolUse' ? { tool_response: { stdout: String(i), stderr: '' } } : {}),
});

describe.each(DATABASE_KINDS)('progress deliveries and event keys (%s)', (kind) => {
	const t = serviceWithReceivers(kind, ENV);
	const { receivers, subscribed } = t;
	const post = async (payload: Json) => {
		const res = await api(t.svc, 'POST', '/api/v1/hooks', payload);
		expect(res.status).toBe(200);
	};
	const newSession = () => sessionRecord(t.svc, { workspacePath: '/srv/work/repo' });

	it('stores the minimum interval with the subscription and refuses one that is not 1 to 3600 whole seconds', async () => {
		const r = new TriggerReceiver();
		receivers.push(r);
		await r.start();
		const ok = await api(t.svc, 'POST', '/api/v1/subscriptions', {
			url: r.url,
			events: ['PostToolUse'],
			minIntervalSeconds: 5,
		});
		expect(ok.status).toBe(201);
		expect(ok.body.minIntervalSeconds).toBe(5);
		expect(
			(await api(t.svc, 'GET', `/api/v1/subscriptions/${ok.body.id}`)).body.minIntervalSeconds,
		).toBe(5);
		for (const bad of [0, -1, 1.5, 3601, '5']) {
			const res = await api(t.svc, 'POST', '/api/v1/subscriptions', {
				url: `${r.url}?bad=${String(bad)}`,
				minIntervalSeconds: bad,
			});
			expect(res.status).toBe(400);
			expect(JSON.stringify(res.body)).toContain('minIntervalSeconds');
		}
		// Registering the same URL again without it goes back to every event.
		const again = await api(t.svc, 'POST', '/api/v1/subscriptions', {
			url: r.url,
			events: ['PostToolUse'],
		});
		expect(again.status).toBe(200);
		expect(again.body.minIntervalSeconds).toBeNull();
		expect((await api(t.svc, 'DELETE', `/api/v1/subscriptions/${ok.body.id}`)).status).toBe(204);
	});

	it('sends at most one delivery per window and session, keeping the latest, and never loses the last event', async () => {
		const intervalMs = 1000;
		const coalescing = await subscribed({
			events: ['PostToolUse'],
			minIntervalSeconds: intervalMs / 1000,
		});
		const every = await subscribed({ events: ['PostToolUse'] });
		const [s1, s2] = [await newSession(), await newSession()];
		const n = 24;
		// Two sessions' tool calls interleaved, about 8 a second: each session has its own window.
		for (let i = 0; i < n; i++) {
			await post(toolEvent(s1, i));
			await post(toolEvent(s2, i));
			await sleep(120);
		}
		const last = (s: string) => toolEvent(s, n - 1).tool_use_id;
		const lastArrived = () =>
			[s1, s2].every((s) =>
				coalescing.emitted.some((e) => e.sessionId === s && e.toolUseId === last(s)),
			);
		expect(await waitFor(lastArrived, 60_000)).toBe(true);
		expect(await waitFor(() => every.emitted.length >= 2 * n, 60_000)).toBe(true);

		for (const s of [s1, s2]) {
			const mine = coalescing.emitted.filter((e) => e.sessionId === s);
			const at = coalescing.requests
				.filter((q) => mine.some((e) => e.deliveryId === q.deliveryId))
				.map((q) => q.at);
			// Never two requests for one session within the window: it starts when the previous request ended.
			for (let i = 1; i < at.length; i++)
				expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(intervalMs);
			// Fewer deliveries than events, in order, the last one being the session's last event.
			expect(mine.length).toBeLessThan(n);
			expect(mine.length).toBeGreaterThanOrEqual(2);
			const order = mine.map((e) => Number(String(e.toolUseId).split('_')[2]));
			expect([...order].sort((a, b) => a - b)).toEqual(order);
			expect(order[order.length - 1]).toBe(n - 1);
			// Every event is accounted for: delivered, or counted in the delivery that superseded it.
			expect(mine.reduce((sum, e) => sum + 1 + Number(e.coalesced), 0)).toBe(n);
			process.stderr.write(
				`coalescing (${kind}): ${n} events in ${((at[at.length - 1] - at[0]) / 1000).toFixed(1)} s → ${mine.length} deliveries, ` +
					`gaps ${at
						.slice(1)
						.map((t, i) => t - at[i])
						.join('/')} ms\n`,
			);
		}
		// The subscription without an interval got every event of both sessions.
		expect(every.emitted.filter((e) => e.sessionId === s1)).toHaveLength(n);
		const rowsOf = async () =>
			(
				await api(
					t.svc,
					'GET',
					`/api/v1/deliveries?subscriptionId=${coalescing.staticData.subscriptionId}&limit=500`,
				)
			).body.items as Json[];
		// The last answer may still be being recorded.
		expect(
			await waitFor(async () => (await rowsOf()).every((d) => d.status !== 'pending'), 30_000),
		).toBe(true);
		const rows = await rowsOf();
		expect(rows).toHaveLength(2 * n);
		expect(new Set(rows.map((d) => d.status))).toEqual(new Set(['delivered', 'superseded']));
		expect(rows.filter((d) => d.status === 'delivered')).toHaveLength(coalescing.emitted.length);
	}, 120_000);

	it('hands each delivery its run (status message, tool calls so far) and fires RunFinished once with the outcome', async () => {
		const r = await subscribed({ events: ['PostToolUse', 'RunFinished'] });
		const sessionId = await newSession();
		const runId = crypto.randomUUID();
		const statusMessage = 'slack:C0PROGRESS:1712345678.000100';
		const started = await api(t.svc, 'PUT', `/api/v1/sessions/${sessionId}/runs/${runId}`, {
			kind: 'start',
			status: 'running',
			statusMessage,
			startedAt: new Date(Date.now() - 1000).toISOString(),
		});
		expect(started.status).toBe(200);
		for (let i = 0; i < 3; i++) await post(toolEvent(sessionId, i));
		expect(await waitFor(() => r.emitted.length >= 3, 60_000)).toBe(true);
		// Read when each is sent: at least the calls up to its own, all three by the last.
		expect(r.emitted.map((e) => e.run)).toEqual(
			[0, 1, 2].map(() => expect.objectContaining({ id: runId, status: 'running', statusMessage })),
		);
		const counts = r.emitted.map((e) => (e.run as Json).toolCalls as number);
		counts.forEach((c, i) => expect(c).toBeGreaterThanOrEqual(i + 1));
		expect(counts[2]).toBe(3);

		const end = {
			kind: 'start',
			status: 'completed',
			result: 'all three done',
			costUsd: 0.0123,
			numTurns: 4,
			endedAt: new Date().toISOString(),
		};
		expect(
			(await api(t.svc, 'PUT', `/api/v1/sessions/${sessionId}/runs/${runId}`, end)).status,
		).toBe(200);
		// The run's end recorded again (a retry of the same PUT) is not a second RunFinished.
		expect(
			(await api(t.svc, 'PUT', `/api/v1/sessions/${sessionId}/runs/${runId}`, end)).status,
		).toBe(200);
		expect(await waitFor(() => r.emitted.some((e) => e.event === 'RunFinished'), 60_000)).toBe(
			true,
		);
		const finished = r.emitted.find((e) => e.event === 'RunFinished')!;
		expect(finished.payload).toMatchObject({
			run_id: runId,
			status: 'completed',
			result: 'all three done',
			cost_usd: 0.0123,
			num_turns: 4,
			tool_calls: 3,
			status_message: statusMessage,
			source: 'service',
		});
		expect(finished.source).toBe('service');
		expect(finished.run).toMatchObject({ id: runId, status: 'completed', statusMessage });
		const events = (await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/events`)).body
			.items as Json[];
		expect(events.filter((e) => e.event === 'RunFinished')).toHaveLength(1);
		const runs = (await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/runs`)).body
			.items as Json[];
		expect(runs[0].statusMessage).toBe(statusMessage);
	}, 120_000);

	it('forgets coalescing windows older than the longest interval or of a session that is gone, in bounded batches', async () => {
		const sub = (await subscribed({ events: ['PostToolUse'], minIntervalSeconds: 5 })).staticData
			.subscriptionId as string;
		const other = (await subscribed({ events: ['PostToolUse'], minIntervalSeconds: 3600 }))
			.staticData.subscriptionId as string;
		const live = await newSession();
		const window = (subscriptionId: string, sessionId: string, ageSeconds: number) =>
			t.svc.db.query(
				`INSERT INTO delivery_windows (subscription_id, session_id, last_attempt_at)
				VALUES ($1, $2, now() - make_interval(secs => $3))`,
				[subscriptionId, sessionId, ageSeconds],
			);
		const left = async () =>
			(
				await t.svc.db.query<{ subscription_id: string; session_id: string }>(
					'SELECT subscription_id, session_id FROM delivery_windows WHERE subscription_id = ANY($1::uuid[])',
					[[sub, other]],
				)
			).rows
				.map((r) => `${r.subscription_id === sub ? 'sub' : 'other'}:${r.session_id}`)
				.sort();
		// Kept: a window of the last hour, even one past its own subscription's 5 s (the interval may be raised).
		await window(sub, live, 1);
		await window(other, live, 3000);
		// Forgotten: past the longest interval any subscription can have, or of a session that does not exist.
		const stale: string[] = [];
		for (let i = 0; i < 3; i++) {
			const s = await newSession();
			await window(sub, s, 3601 + i * 100);
			stale.push(s);
		}
		const gone = [crypto.randomUUID(), crypto.randomUUID()];
		for (const s of gone) await window(other, s, 0);
		const kept = [`other:${live}`, `sub:${live}`].sort();
		expect(await left()).toHaveLength(7);
		// Batches of 2: other subscriptions' windows (earlier tests) may be in a batch too, so count until none is left.
		const batches: number[] = [];
		for (let i = 0; i < 20; i++) {
			const n = await pruneDeliveryWindows(t.svc.db, 2);
			batches.push(n);
			if (n === 0) break;
		}
		expect(batches.every((n) => n <= 2)).toBe(true);
		expect(batches.at(-1)).toBe(0);
		expect(await left()).toEqual(kept);
		// A deleted subscription takes its windows with it.
		expect((await api(t.svc, 'DELETE', `/api/v1/subscriptions/${other}`)).status).toBe(204);
		expect(await left()).toEqual([`sub:${live}`]);
		// The periodic pruner does the same on its own.
		await window(sub, stale[0], 7200);
		expect(await left()).toHaveLength(2);
		const pruner = createDeliveryWindowPruner(t.svc.db, { everyMs: 20, batch: 1, maxBatches: 5 });
		pruner.start();
		try {
			expect(await waitFor(async () => (await left()).length === 1, 10_000)).toBe(true);
		} finally {
			await pruner.stop();
		}
		expect(await left()).toEqual([`sub:${live}`]);
	});

	it('refuses a status message that is not a reference, and a hook token cannot forge RunFinished', async () => {
		const sessionId = await newSession();
		const bad = await api(
			t.svc,
			'PUT',
			`/api/v1/sessions/${sessionId}/runs/${crypto.randomUUID()}`,
			{
				kind: 'start',
				status: 'running',
				statusMessage: 'not a ref',
			},
		);
		expect(bad.status).toBe(400);
		expect(JSON.stringify(bad.body)).toContain('status message');
		expect((await api(t.svc, 'GET', `/api/v1/sessions/${sessionId}/runs`)).body.items).toEqual([]);
		const { hookToken } = (await api(t.svc, 'POST', `/api/v1/sessions/${sessionId}/hook-token`, {}))
			.body;
		const forged = await api(
			t.svc,
			'POST',
			'/api/v1/hooks',
			{ session_id: sessionId, hook_event_name: 'RunFinished', status: 'completed' },
			{ Authorization: `Bearer ${hookToken}` },
		);
		expect(forged.status).toBe(403);
	});

	it('lets exactly one of many concurrent claims of an event key through, and answers the rest with the first', async () => {
		const key = `slack:C0KEYS:${Date.now()}.000100`;
		const sessions = Array.from({ length: 8 }, () => crypto.randomUUID());
		const answers = await Promise.all(
			sessions.map((sessionId, i) =>
				api(t.svc, 'POST', '/api/v1/event-keys', {
					key,
					sessionId,
					action: i % 2 ? 'resume' : 'start',
				}),
			),
		);
		const first = answers.filter((a) => a.status === 201);
		expect(first).toHaveLength(1);
		expect(answers.filter((a) => a.status === 200)).toHaveLength(sessions.length - 1);
		for (const a of answers)
			expect(a.body).toMatchObject({
				key,
				sessionId: first[0].body.sessionId,
				action: first[0].body.action,
				first: a.status === 201,
			});
		expect(
			(await api(t.svc, 'GET', `/api/v1/event-keys/${encodeURIComponent(key)}`)).body.sessionId,
		).toBe(first[0].body.sessionId);
		expect(
			(await api(t.svc, 'GET', `/api/v1/event-keys/${encodeURIComponent('slack:C0KEYS:none')}`))
				.status,
		).toBe(404);
	});

	it('answers a claim retried with its own claim id as the first, and any other claim with the first one', async () => {
		const key = `slack:C0RETRY:${Date.now()}.000100`;
		const sessionId = crypto.randomUUID();
		const claimId = crypto.randomUUID();
		const claim = (body: Json) => api(t.svc, 'POST', '/api/v1/event-keys', { key, ...body });
		const first = await claim({ sessionId, action: 'start', claimId });
		expect(first.status).toBe(201);
		expect(first.body).toMatchObject({ key, sessionId, action: 'start', first: true });
		expect(first.body.claimId).toBeUndefined();
		// The same claim again (its answer was lost): first again, and still one key. Upper case is the same uuid.
		for (const id of [claimId, claimId.toUpperCase()]) {
			const retried = await claim({ sessionId, action: 'start', claimId: id });
			expect(retried.status).toBe(201);
			expect(retried.body).toMatchObject({
				sessionId,
				first: true,
				createdAt: first.body.createdAt,
			});
		}
		// Another claim of the event (a resend), with or without a claim id: the first one, not first.
		for (const other of [
			{ sessionId: crypto.randomUUID(), action: 'start', claimId: crypto.randomUUID() },
			{ sessionId: crypto.randomUUID(), action: 'start' },
			// The claim id alone does not make a claim the first: it must be the same session and action.
			{ sessionId: crypto.randomUUID(), action: 'start', claimId },
			{ sessionId, action: 'resume', claimId },
		]) {
			const dup = await claim(other);
			expect(dup.status).toBe(200);
			expect(dup.body).toMatchObject({ sessionId, action: 'start', first: false });
			expect(dup.body.claimId).toBeUndefined();
		}
		const bad = await claim({ sessionId, action: 'start', claimId: 'not-a-uuid' });
		expect(bad.status).toBe(400);
		expect(JSON.stringify(bad.body)).toContain('claimId');
	});

	it('releases an event key to its claimer only: 204, then 404; another claim id 409; none or a bad one 400', async () => {
		const key = `slack:C0RELEASE:${Date.now()}.000100`;
		const path = `/api/v1/event-keys/${encodeURIComponent(key)}`;
		const claimId = crypto.randomUUID();
		const release = (id?: string) =>
			api(t.svc, 'DELETE', id === undefined ? path : `${path}?claimId=${encodeURIComponent(id)}`);
		expect((await release(claimId)).status).toBe(404);
		expect(
			(
				await api(t.svc, 'POST', '/api/v1/event-keys', {
					key,
					sessionId: crypto.randomUUID(),
					action: 'start',
					claimId,
				})
			).status,
		).toBe(201);
		const wrong = await release(crypto.randomUUID());
		expect(wrong.status).toBe(409);
		expect(wrong.body).toMatchObject({
			error: 'conflict',
			message: expect.stringMatching(/another claim/),
		});
		for (const bad of [undefined, '', 'nope']) {
			const res = await release(bad);
			expect(res.status).toBe(400);
			expect(JSON.stringify(res.body)).toContain('claimId');
		}
		expect((await api(t.svc, 'GET', path)).status).toBe(200);
		expect((await release(claimId)).status).toBe(204);
		expect((await api(t.svc, 'GET', path)).status).toBe(404);
		expect((await release(claimId)).status).toBe(404);
		// Released: the event's next arrival claims it afresh.
		const again = await api(t.svc, 'POST', '/api/v1/event-keys', {
			key,
			sessionId: crypto.randomUUID(),
			action: 'resume',
		});
		expect(again.status).toBe(201);
		// A key claimed without a claim id is never released.
		expect((await release(claimId)).status).toBe(409);
		expect((await api(t.svc, 'GET', path)).body.sessionId).toBe(again.body.sessionId);
	});

	it('forgets event keys past their retention, and only those', async () => {
		const key = `slack:C0PRUNE:${Date.now()}.000100`;
		expect(
			(
				await api(t.svc, 'POST', '/api/v1/event-keys', {
					key,
					sessionId: crypto.randomUUID(),
					action: 'start',
				})
			).status,
		).toBe(201);
		expect(await pruneEventKeys(t.svc.db, 3_600_000)).toBe(0);
		expect((await api(t.svc, 'GET', `/api/v1/event-keys/${encodeURIComponent(key)}`)).status).toBe(
			200,
		);
		await sleep(20);
		expect(await pruneEventKeys(t.svc.db, 10)).toBeGreaterThanOrEqual(1);
		expect((await api(t.svc, 'GET', `/api/v1/event-keys/${encodeURIComponent(key)}`)).status).toBe(
			404,
		);
	});

	it('refuses malformed event keys with 400', async () => {
		const sessionId = crypto.randomUUID();
		for (const body of [
			{ key: 'no kind', sessionId, action: 'start' },
			{ key: 'slack:C1:1.2', sessionId: 'not-a-uuid', action: 'start' },
			{ key: 'slack:C1:1.2', sessionId, action: 'delete' },
			{ key: 'slack:C1:1.2', sessionId, action: 'start', extra: true },
		]) {
			const res = await api(t.svc, 'POST', '/api/v1/event-keys', body);
			expect(res.status).toBe(400);
		}
		expect(
			(await api(t.svc, 'GET', `/api/v1/event-keys/${encodeURIComponent('slack:C1:1.2')}`)).status,
		).toBe(404);
	});
});
