import crypto from 'node:crypto';
import type { TriggerReceiver } from '../../test/support/trigger-receiver';
import { newSession, startServiceWithTrigger } from '../../test/support/service-sessions';
import { sleep, waitFor } from '../../test/support/wait';
import { api, DATABASE_KINDS, type TestService } from '../../test/support/test-service';

const ENV = {
	DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
	DELIVERY_POLL_INTERVAL_MS: '50',
	QUEUED_MESSAGES_MAX: '5',
};

describe.each(DATABASE_KINDS)('replies queued while a turn runs (%s)', (kind) => {
	let svc: TestService;
	let receiver: TriggerReceiver;
	beforeAll(async () => {
		// The Hook Trigger's "Reply Queued" preset.
		({ svc, receiver } = await startServiceWithTrigger(kind, ENV, ['ReplyQueued']));
	});
	afterAll(async () => {
		await receiver?.stop();
		await svc?.stop();
	});

	const session = (threadKey?: string) => newSession(svc, { status: 'running', threadKey });
	const lease = (id: string, owner: string) =>
		api(svc, 'POST', `/api/v1/sessions/${id}/lease`, { owner });
	const release = (id: string, owner: string) =>
		api(svc, 'DELETE', `/api/v1/sessions/${id}/lease?owner=${encodeURIComponent(owner)}`);
	const queue = (id: string, body: Record<string, unknown>) =>
		api(svc, 'POST', `/api/v1/sessions/${id}/queued-messages`, body);
	/** A Slack reply with its message id (Slack's resends carry the same one). */
	const slackReply = (id: string, content: string, author: string, externalId: string) =>
		queue(id, { content, author, channel: 'slack', externalId });
	const take = (
		id: string,
		owner: string,
		runId: string = crypto.randomUUID(),
		maxBytes?: number,
	) =>
		api(svc, 'POST', `/api/v1/sessions/${id}/queued-messages/take`, {
			owner,
			runId,
			...(maxBytes === undefined ? {} : { maxBytes }),
		});
	const giveBack = (id: string, owner: string, runId: string) =>
		api(svc, 'POST', `/api/v1/sessions/${id}/queued-messages/release`, { owner, runId });
	const waiting = async (id: string, query = '') =>
		(await api(svc, 'GET', `/api/v1/sessions/${id}/queued-messages${query}`)).body;
	const announced = (id: string) => receiver.emitted.filter((e: any) => e.sessionId === id);

	it('refuses bad input with 4xx, and a reply when no turn runs with 409 not_busy', async () => {
		const id = await session();
		expect(
			(await queue(crypto.randomUUID(), { content: 'hi', author: 'a', channel: 'slack' })).status,
		).toBe(404);
		for (const body of [
			{},
			{ content: '', author: 'a', channel: 'slack' },
			{ content: 'x', author: ' ', channel: 'slack' },
			{ content: 'x', author: 'a', channel: 'slack', extra: 1 },
		]) {
			expect((await queue(id, body)).status).toBe(400);
		}
		const idle = await queue(id, { content: 'hello', author: 'U0ALICE', channel: 'slack' });
		expect(idle.status).toBe(409);
		expect(idle.body.error).toBe('not_busy');
		expect((await api(svc, 'GET', `/api/v1/sessions/${id}/queued-messages`)).body.items).toEqual(
			[],
		);
		expect((await take(id, 'nobody')).status).toBe(409);
	});

	it('queues in arrival order while the lease is held, fires Reply Queued when the turn ends, and each reply is taken once', async () => {
		const threadKey = `slack:C0Q:${Date.now()}.000100`;
		const id = await session(threadKey);
		expect((await lease(id, 'worker-a')).status).toBe(200);
		const positions: number[] = [];
		for (const [i, who] of ['U0ALICE', 'U0BOB', 'U0CAROL'].entries()) {
			const res = await slackReply(id, `reply ${i + 1}`, who, `ts-${i + 1}`);
			expect(res.status).toBe(201);
			positions.push(res.body.position);
		}
		expect(positions).toEqual([1, 2, 3]);
		// Slack sent the second one again: it is the same reply.
		const again = await slackReply(id, 'reply 2', 'U0BOB', 'ts-2');
		expect(again.status).toBe(200);
		expect(again.body).toMatchObject({ duplicate: true, position: 2 });
		// Only the lease holder takes them, and not while its own turn is the one running on: nothing fired yet.
		expect((await take(id, 'worker-b')).status).toBe(409);
		expect(announced(id)).toEqual([]);

		expect((await release(id, 'worker-a')).status).toBe(204);
		expect(await waitFor(() => announced(id).length === 1, 10_000)).toBe(true);
		expect(announced(id)[0]).toMatchObject({
			event: 'ReplyQueued',
			source: 'service',
			sessionId: id,
			payload: { queued: 3, thread_key: threadKey },
		});

		// Two workers answer the event at once: one gets the lease and all three, in order; the other nothing.
		const [a, b] = await Promise.all([lease(id, 'worker-b'), lease(id, 'worker-c')]);
		const winner = a.status === 200 ? 'worker-b' : 'worker-c';
		expect([a.status, b.status].sort()).toEqual([200, 409]);
		const taken = await take(id, winner);
		expect(taken.body.items.map((m: any) => [m.content, m.author, m.channel])).toEqual([
			['reply 1', 'U0ALICE', 'slack'],
			['reply 2', 'U0BOB', 'slack'],
			['reply 3', 'U0CAROL', 'slack'],
		]);
		expect((await take(id, winner)).body.items).toEqual([]);
		expect((await api(svc, 'GET', `/api/v1/sessions/${id}/queued-messages`)).body.items).toEqual(
			[],
		);
		// Nothing left: the end of this turn announces nothing.
		expect((await release(id, winner)).status).toBe(204);
		// Slack resends the first reply after the turns have ended: still the reply taken then, never one to run again.
		const late = await slackReply(id, 'reply 1', 'U0ALICE', 'ts-1');
		expect(late.status).toBe(200);
		expect(late.body).toMatchObject({ duplicate: true, position: 0 });
		await sleep(500);
		expect(announced(id)).toHaveLength(1);
	});

	it('the same run asking again gets the replies it took; given back, they wait again and are announced when the lease ends', async () => {
		const id = await session();
		expect((await lease(id, 'worker-a')).status).toBe(200);
		for (const n of [1, 2])
			expect((await queue(id, { content: `r${n}`, author: 'a', channel: 'slack' })).status).toBe(
				201,
			);
		expect((await release(id, 'worker-a')).status).toBe(204);
		expect(await waitFor(() => announced(id).length === 1, 10_000)).toBe(true);

		expect((await lease(id, 'worker-b')).status).toBe(200);
		const runId = crypto.randomUUID();
		const first = await take(id, 'worker-b', runId);
		expect(first.body.items.map((m: any) => m.content)).toEqual(['r1', 'r2']);
		// Its answer was lost and the run asks again: the same replies, not none.
		const again = await take(id, 'worker-b', runId);
		expect(again.status).toBe(200);
		expect(again.body.items).toEqual(first.body.items);
		expect((await take(id, 'worker-b')).body.items).toEqual([]);
		// Only the lease holder gives back, and bad input is a 400.
		expect((await giveBack(id, 'worker-x', runId)).status).toBe(409);
		expect((await giveBack(id, 'worker-b', 'not-a-uuid')).status).toBe(400);
		expect((await waiting(id)).items).toEqual([]);

		// The turn failed before claude started: the replies wait again, in their places, and are announced.
		const back = await giveBack(id, 'worker-b', runId);
		expect(back.status).toBe(200);
		expect(back.body).toEqual({ released: 2, keptTaken: 0 });
		expect((await waiting(id)).items.map((m: any) => [m.content, m.takenAt])).toEqual([
			['r1', null],
			['r2', null],
		]);
		expect((await release(id, 'worker-b')).status).toBe(204);
		expect(await waitFor(() => announced(id).length === 2, 10_000)).toBe(true);
		expect(announced(id)[1]).toMatchObject({ payload: { queued: 2, after_run: 'worker-b' } });

		// A failure that repeats hands them round a bounded number of times, then they stay taken.
		for (let round = 2; round <= 4; round++) {
			const owner = `worker-${round}`;
			expect((await lease(id, owner)).status).toBe(200);
			const run = crypto.randomUUID();
			expect((await take(id, owner, run)).body.items).toHaveLength(2);
			const r = await giveBack(id, owner, run);
			expect(r.body).toEqual(
				round < 4 ? { released: 2, keptTaken: 0 } : { released: 0, keptTaken: 2 },
			);
			expect((await release(id, owner)).status).toBe(204);
		}
		expect((await waiting(id)).items).toEqual([]);
	});

	it('a turn takes oldest first only as many replies as fit one argument to claude; the rest wait and are announced again', async () => {
		const id = await session();
		expect((await lease(id, 'worker-a')).status).toBe(200);
		// Three replies of 50,000 bytes: two fit the combined prompt's budget (120 KiB), three would not.
		for (const n of [1, 2, 3])
			expect(
				(await queue(id, { content: String(n).repeat(50_000), author: 'a', channel: 'slack' }))
					.status,
			).toBe(201);
		expect((await release(id, 'worker-a')).status).toBe(204);
		expect(await waitFor(() => announced(id).length === 1, 10_000)).toBe(true);

		expect((await lease(id, 'worker-b')).status).toBe(200);
		const taken = (await take(id, 'worker-b')).body.items;
		expect(taken.map((m: any) => m.content[0])).toEqual(['1', '2']);
		expect((await waiting(id)).items.map((m: any) => m.content[0])).toEqual(['3']);
		// A Resume whose own prompt leaves little room asks for less; one that leaves none takes nothing.
		expect((await take(id, 'worker-b', crypto.randomUUID(), 1_000)).body.items).toEqual([]);
		for (const maxBytes of [-1, 1.5, 10_000_000, 'lots'])
			expect((await take(id, 'worker-b', crypto.randomUUID(), maxBytes as number)).status).toBe(
				400,
			);
		expect((await release(id, 'worker-b')).status).toBe(204);
		expect(await waitFor(() => announced(id).length === 2, 10_000)).toBe(true);
		expect(announced(id)[1]).toMatchObject({ payload: { queued: 1 } });
		expect((await lease(id, 'worker-c')).status).toBe(200);
		expect((await take(id, 'worker-c')).body.items.map((m: any) => m.content[0])).toEqual(['3']);
		expect((await release(id, 'worker-c')).status).toBe(204);
	});

	it('refuses a reply too long to pass to claude as one argument with 413, storing nothing', async () => {
		const id = await session();
		expect((await lease(id, 'worker-a')).status).toBe(200);
		// 45,000 characters (under the 200,000 character cap) but 135,000 bytes in UTF-8.
		const res = await queue(id, { content: '€'.repeat(45_000), author: 'a', channel: 'email' });
		expect(res.status).toBe(413);
		expect(res.body.error).toBe('too_large');
		expect(res.body.message).toMatch(/135000 bytes.*at most 120000 bytes/);
		expect((await waiting(id)).items).toEqual([]);
		// At the limit it is taken alone, whole.
		expect(
			(await queue(id, { content: 'x'.repeat(120_000), author: 'a', channel: 'email' })).status,
		).toBe(201);
		expect((await take(id, 'worker-a')).body.items[0].content).toHaveLength(120_000);
		expect((await release(id, 'worker-a')).status).toBe(204);
	});

	it('caps the replies waiting for one session (429 queue_full, nothing stored) and pages them with limit and after', async () => {
		const id = await session();
		expect((await lease(id, 'worker-a')).status).toBe(200);
		for (let n = 1; n <= 5; n++)
			expect((await slackReply(id, `r${n}`, 'a', `e${n}`)).status).toBe(201);
		const full = await slackReply(id, 'r6', 'a', 'e6');
		expect(full.status).toBe(429);
		expect(full.body.error).toBe('queue_full');
		expect(full.body.message).toMatch(/5 replies waiting/);
		// The same reply sent again is still answered as the one queued.
		expect((await slackReply(id, 'r2', 'a', 'e2')).status).toBe(200);

		const first = await waiting(id, '?limit=2');
		expect(first.items.map((m: any) => m.content)).toEqual(['r1', 'r2']);
		expect(first.nextAfter).toBe(first.items[1].id);
		const second = await waiting(id, `?limit=2&after=${first.nextAfter}`);
		expect(second.items.map((m: any) => m.content)).toEqual(['r3', 'r4']);
		const last = await waiting(id, `?limit=2&after=${second.nextAfter}`);
		expect(last.items.map((m: any) => m.content)).toEqual(['r5']);
		expect(last.nextAfter).toBeNull();
		expect((await waiting(id)).items).toHaveLength(5);
		for (const q of ['?limit=0', '?limit=501', '?limit=x', '?after=-1', '?after=1.5', '?page=2']) {
			const res = await api(svc, 'GET', `/api/v1/sessions/${id}/queued-messages${q}`);
			expect([q, res.status]).toEqual([q, 400]);
		}

		// Taken, they leave room for more.
		expect((await take(id, 'worker-a')).body.items).toHaveLength(5);
		expect((await slackReply(id, 'r6', 'a', 'e6')).status).toBe(201);
		expect((await release(id, 'worker-a')).status).toBe(204);
	});

	it('a hook token cannot post ReplyQueued', async () => {
		const id = await session();
		const { hookToken } = (await api(svc, 'POST', `/api/v1/sessions/${id}/hook-token`, {})).body;
		const res = await api(
			svc,
			'POST',
			'/api/v1/hooks',
			{ session_id: id, hook_event_name: 'ReplyQueued', queued: 9 },
			{ Authorization: `Bearer ${hookToken}` },
		);
		expect(res.status).toBe(403);
	});
});
