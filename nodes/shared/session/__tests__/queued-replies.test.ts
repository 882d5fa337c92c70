import crypto from 'node:crypto';
import {
	serviceWithClaude,
	startWorktreeTurn,
	succeededCalls,
} from '../../../../test/support/claude-service';
import { SessionBusyError } from '../lease';
import { resumeOrQueue } from '../session-run';

// Replies while a turn runs (Claude Resume, When Busy): queued in the service and answered at once, then taken all
// together, in arrival order and marked with who wrote each, by the next turn. Real claude, real service.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

/** The text of the newest user prompt in a request the fake API received. */
function lastPrompt(body: { messages?: Array<{ role: string; content: unknown }> }): string {
	const users = (body.messages ?? []).filter((m) => m.role === 'user');
	const content = users[users.length - 1]?.content;
	const blocks = typeof content === 'string' ? [content] : Array.isArray(content) ? content : [];
	return blocks
		.map((b: any) => (typeof b === 'string' ? b : b?.type === 'text' ? String(b.text) : ''))
		.join('\n');
}

describe(`replies while a turn runs (${kind})`, () => {
	const h = serviceWithClaude(kind, 'orch-queue');

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
		const queued = [];
		for (const [i, r] of replies.entries()) {
			const out = await resumeOrQueue(client, {
				sessionId,
				...r,
				channel: 'slack',
				replyId: `ts-${i}`,
				whenBusy: 'queue',
				options: fx.options(),
				deps: fx.deps,
			});
			queued.push(out);
		}
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
		const next = await resumeOrQueue(client, {
			sessionId,
			takeQueued: true,
			options: fx.options(),
			deps: fx.deps,
		});
		expect(next).toMatchObject({ status: 'completed', result: 'took all three', repliesTaken: 3 });
		const prompt = lastPrompt(fx.fake.requestsFor(sessionId)[before].body);
		const at = replies.map((r) => prompt.indexOf(r.prompt));
		expect(at.every((p) => p >= 0)).toBe(true);
		expect([...at].sort((a, b) => a - b)).toEqual(at);
		expect(prompt).toContain('Message 1 of 3, from U0ALICE via slack');
		expect(prompt).toContain('Message 2 of 3, from U0BOB via slack');
		// Each reply answered once: nothing is left to take.
		expect(
			await resumeOrQueue(client, {
				sessionId,
				takeQueued: true,
				options: fx.options(),
				deps: fx.deps,
			}),
		).toMatchObject({ status: 'nothing_queued' });
	}, 180_000);
});
