import crypto from 'node:crypto';
import type { TriggerReceiver } from '../../test/support/trigger-receiver';
import { startServiceWithTrigger } from '../../test/support/service-sessions';
import { waitFor } from '../../test/support/wait';
import { api, DATABASE_KINDS, type TestService } from '../../test/support/test-service';

const ENV = { DELIVERY_ALLOWED_HOSTS: '127.0.0.1', DELIVERY_POLL_INTERVAL_MS: '50' };

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

	async function session(threadKey?: string) {
		const id = crypto.randomUUID();
		expect(
			(
				await api(svc, 'POST', '/api/v1/sessions', {
					id,
					status: 'running',
					workspaceType: 'local',
					workspacePath: '/w',
					threadKey,
				})
			).status,
		).toBe(201);
		return id;
	}
	const lease = (id: string, owner: string) =>
		api(svc, 'POST', `/api/v1/sessions/${id}/lease`, { owner });
	const release = (id: string, owner: string) =>
		api(svc, 'DELETE', `/api/v1/sessions/${id}/lease?owner=${encodeURIComponent(owner)}`);
	const queue = (id: string, body: Record<string, unknown>) =>
		api(svc, 'POST', `/api/v1/sessions/${id}/queued-messages`, body);
	const take = (id: string, owner: string) =>
		api(svc, 'POST', `/api/v1/sessions/${id}/queued-messages/take`, {
			owner,
			runId: crypto.randomUUID(),
		});
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
			const res = await queue(id, {
				content: `reply ${i + 1}`,
				author: who,
				channel: 'slack',
				externalId: `ts-${i + 1}`,
			});
			expect(res.status).toBe(201);
			positions.push(res.body.position);
		}
		expect(positions).toEqual([1, 2, 3]);
		// Slack sent the second one again: it is the same reply.
		const again = await queue(id, {
			content: 'reply 2',
			author: 'U0BOB',
			channel: 'slack',
			externalId: 'ts-2',
		});
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
		const late = await queue(id, {
			content: 'reply 1',
			author: 'U0ALICE',
			channel: 'slack',
			externalId: 'ts-1',
		});
		expect(late.status).toBe(200);
		expect(late.body).toMatchObject({ duplicate: true, position: 0 });
		await new Promise((r) => setTimeout(r, 500));
		expect(announced(id)).toHaveLength(1);
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
