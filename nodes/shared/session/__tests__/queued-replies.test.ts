import crypto from 'node:crypto';
import path from 'node:path';
import {
	serviceWithClaude,
	startWorktreeTurn,
	succeededCalls,
} from '../../../../test/support/claude-service';
import { lastPrompt } from '../../../../test/support/claude-fixture';
import { SessionBusyError } from '../lease';
import { resumeOrQueue, startSession } from '../session-run';

// Replies while a turn runs (Claude Resume, When Busy): queued in the service and answered at once, then taken all
// together, in arrival order and marked with who wrote each, by the next turn. Real claude, real service.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`replies while a turn runs (${kind})`, () => {
	const h = serviceWithClaude(kind, 'orch-queue');

	/** Replies from Slack while the session's turn runs, one after the other; what each call answered. */
	async function queueReplies(
		sessionId: string,
		replies: Array<{ prompt: string; author: string }>,
	) {
		const outs = [];
		for (const [i, r] of replies.entries())
			outs.push(
				await resumeOrQueue(h.client, {
					sessionId,
					...r,
					channel: 'slack',
					replyId: `ts-${i}`,
					whenBusy: 'queue',
					options: h.fx.options(),
					deps: h.fx.deps,
				}),
			);
		return outs;
	}

	/** A Resume with Take Queued: the next turn answers the replies that wait. */
	const takeQueued = (sessionId: string, options = h.fx.options()) =>
		resumeOrQueue(h.client, { sessionId, takeQueued: true, options, deps: h.fx.deps });

	it('queues three replies at once, fails at once with When Busy = Fail, and the next turn takes all three in order', async () => {
		const { fx, client } = h;
		const sessionId = crypto.randomUUID();
		const { run: first } = startWorktreeTurn(
			h,
			sessionId,
			'a long job [[bash:echo one > one.txt]] [[delay:8000]] [[text:first turn done]]',
		);
		expect(await succeededCalls(client, sessionId, 1)).toBe(true);

		const replies = [
			{ prompt: 'first reply: check the logs', author: 'U0ALICE' },
			{ prompt: 'second reply: and the tests', author: 'U0BOB' },
			{ prompt: 'third reply: then summarise [[text:took all three]]', author: 'U0ALICE' },
		];
		const queued = await queueReplies(sessionId, replies);
		expect(queued.map((q) => [q.status, (q as { position?: number }).position])).toEqual([
			['queued', 1],
			['queued', 2],
			['queued', 3],
		]);
		await expect(
			resumeOrQueue(client, {
				sessionId,
				prompt: 'impatient',
				whenBusy: 'fail',
				options: fx.options(),
				deps: fx.deps,
			}),
		).rejects.toThrow(SessionBusyError);

		expect(await first).toMatchObject({ status: 'completed', result: 'first turn done' });
		const before = fx.fake.requestsFor(sessionId).length;
		const next = await takeQueued(sessionId);
		expect(next).toMatchObject({ status: 'completed', result: 'took all three', repliesTaken: 3 });
		const prompt = lastPrompt(fx.fake.requestsFor(sessionId)[before].body);
		const at = replies.map((r) => prompt.indexOf(r.prompt));
		expect(at.every((p) => p >= 0)).toBe(true);
		expect([...at].sort((a, b) => a - b)).toEqual(at);
		expect(prompt).toContain('Message 1 of 3, from U0ALICE via slack');
		expect(prompt).toContain('Message 2 of 3, from U0BOB via slack');
		// Each reply answered once: nothing is left to take.
		expect(await takeQueued(sessionId)).toMatchObject({ status: 'nothing_queued' });
		// That claim brought a budget reservation for a turn that did not run: given back, not left held.
		const reservations = await h.svc.db.query<{ status: string }>(
			'SELECT status FROM budget_reservations WHERE session_id = $1',
			[sessionId],
		);
		expect(reservations.rows.map((r) => r.status).sort()).toEqual([
			'released',
			'settled',
			'settled',
		]);
	}, 180_000);

	/** A first turn that runs for a while, and replies queued while it runs; resolves once the turn has ended. */
	async function busyTurnWith(replies: Array<{ prompt: string; author: string }>) {
		const { fx, client } = h;
		const sessionId = crypto.randomUUID();
		const first = startSession(client, {
			sessionId,
			prompt: 'a long job [[bash:echo one > one.txt]] [[delay:5000]] [[text:first turn done]]',
			workspace: { type: 'worktree', baseRepository: fx.repo(`app-${sessionId}`).path },
			options: fx.options(),
			deps: fx.deps,
		});
		expect(await succeededCalls(client, sessionId, 1)).toBe(true);
		for (const [i, out] of (await queueReplies(sessionId, replies)).entries())
			expect(out).toMatchObject({ status: 'queued', position: i + 1 });
		expect(await first).toMatchObject({ status: 'completed', result: 'first turn done' });
		return sessionId;
	}
	const waiting = async (sessionId: string) =>
		(
			await h.client.request<{ items: Array<{ content: string }> }>(
				'GET',
				`/api/v1/sessions/${sessionId}/queued-messages`,
			)
		).items.map((m) => m.content);

	it('a Take Queued that fails before claude starts gives the replies back, and the next one answers them', async () => {
		const { fx } = h;
		const replies = [
			{ prompt: 'first reply', author: 'U0ALICE' },
			{ prompt: 'second reply [[text:answered both]]', author: 'U0BOB' },
		];
		const sessionId = await busyTurnWith(replies);
		await expect(
			takeQueued(sessionId, fx.options({ claudePath: path.join(fx.root, 'no-such-claude') })),
		).rejects.toThrow(/Claude Code CLI not found/);
		expect(await waiting(sessionId)).toEqual(replies.map((r) => r.prompt));
		const next = await takeQueued(sessionId);
		expect(next).toMatchObject({ status: 'completed', result: 'answered both', repliesTaken: 2 });
		expect(await waiting(sessionId)).toEqual([]);
	}, 180_000);

	it('takes only as many long replies as fit one argument to claude; the rest wait for the next turn', async () => {
		const { fx } = h;
		// 60,000 bytes each: any two fit a command-line argument (128 KiB), all three would not (spawn fails E2BIG).
		const long = (tag: string, directive: string) =>
			`${tag} ${'x'.repeat(60_000 - tag.length - directive.length - 2)} ${directive}`;
		const replies = [
			{ prompt: long('REPLY-ONE', ''), author: 'U0ALICE' },
			{ prompt: long('REPLY-TWO', '[[text:took two]]'), author: 'U0BOB' },
			{ prompt: long('REPLY-THREE', '[[text:took the third]]'), author: 'U0CAROL' },
		];
		const sessionId = await busyTurnWith(replies);
		const before = fx.fake.requestsFor(sessionId).length;
		const next = await takeQueued(sessionId);
		expect(next).toMatchObject({ status: 'completed', result: 'took two', repliesTaken: 2 });
		const prompt = lastPrompt(fx.fake.requestsFor(sessionId)[before].body);
		expect(prompt).toContain('Message 2 of 2, from U0BOB');
		expect(prompt).toContain('REPLY-ONE');
		expect(prompt).not.toContain('REPLY-THREE');
		expect((await waiting(sessionId)).map((c) => c.slice(0, 11))).toEqual(['REPLY-THREE']);
		expect(await takeQueued(sessionId)).toMatchObject({
			status: 'completed',
			result: 'took the third',
			repliesTaken: 1,
		});
	}, 180_000);
});
