// The thread is the console: a person stops a long turn by writing `stop` in its Slack thread or email thread.
// The shipped templates, imported unchanged into the real n8n, the real claude against the fake API (which holds
// the model's next answer back to make the turn long), the fake Slack and the real mail servers.
import fs from 'node:fs';
import path from 'node:path';
import { api } from '../support/test-service';
import { claudePidFor, groupAlive } from '../support/claude-pid';
import {
	mentionInNewThread,
	SLACK_CHANNEL,
	slackTriggerUrl,
	stillWorkingAnswers,
	useStack,
	WORKFLOW_IDS,
} from './stack';
import { lastPrompt } from '../support/claude-fixture';
import { firstCallSucceeded, threadSession } from '../support/service-sessions';
import { pollUntil } from '../support/wait';
import { mailFromAlice } from './alice-mail';

type Json = Record<string, any>;
// The first tool call runs, then the model's next answer is held back for a minute: the turn is "long".
const LONG_TURN =
	'a long job [[bash:echo one > one.txt]] [[delay:60000]] [[bash:echo two > two.txt]]';
const RUN_TIMEOUT_MS = 90_000;
// n8n's IMAP trigger fires 9-15 s after delivery (reference/n8n-slack-email.md).
const MAIL_TIMEOUT_MS = 120_000;

const stack = useStack();

async function get(route: string): Promise<Json> {
	const res = await api(stack.service, 'GET', route);
	if (res.status !== 200)
		throw new Error(`GET ${route}: ${res.status} ${JSON.stringify(res.body)}`);
	return res.body;
}

const sessionOfThread = (threadKey: string, timeoutMs = RUN_TIMEOUT_MS) =>
	threadSession(stack.service, threadKey, timeoutMs);

/** Waits until the session's first tool call has finished and its claude waits on the model; its process group id. */
async function longTurnUnderWay(sessionId: string): Promise<number> {
	await firstCallSucceeded(stack.service, sessionId, RUN_TIMEOUT_MS);
	return pollUntil(() => claudePidFor(sessionId), 10_000, 'the claude process');
}

/** What the stop must leave: the group gone, the session stopped with its cost, nothing run after the request. */
async function expectStopped(
	sessionId: string,
	pgid: number,
	askedAt: number,
	channel: string,
): Promise<Json> {
	await pollUntil(
		() => (groupAlive(pgid) ? undefined : true),
		30_000,
		'the claude process group to be gone',
	);
	process.stdout.write(
		`thread console: ${channel} stop → claude process group gone ${Date.now() - askedAt} ms after the reply was sent\n`,
	);
	const s = await pollUntil(
		async () => {
			const got = await get(`/api/v1/sessions/${sessionId}`);
			return got.status === 'stopped' ? got : undefined;
		},
		30_000,
		'the session to be stopped',
	);
	expect(s).toMatchObject({ status: 'stopped', isError: false });
	expect(s.costUsd).toBeGreaterThan(0);
	const runs = (await get(`/api/v1/sessions/${sessionId}/runs`)).items;
	expect(runs[runs.length - 1]).toMatchObject({ status: 'stopped', costUsd: expect.any(Number) });
	// No tool call started after the request: the one before it is all there is, and its successor never ran.
	const calls = (await get(`/api/v1/sessions/${sessionId}/logs`)).items as Json[];
	expect(calls).toHaveLength(1);
	expect(Date.parse(calls[0].startedAt)).toBeLessThan(askedAt);
	expect(fs.existsSync(path.join(s.workspace.path, 'one.txt'))).toBe(true);
	expect(fs.existsSync(path.join(s.workspace.path, 'two.txt'))).toBe(false);
	const events = (await get(`/api/v1/sessions/${sessionId}/events?limit=200`)).items as Json[];
	expect(
		events.filter((e) => e.event === 'PreToolUse' && Date.parse(e.receivedAt) > askedAt),
	).toEqual([]);
	expect(claudePidFor(sessionId)).toBeUndefined();
	return s;
}

describe('stop from the thread', () => {
	it('`stop` in a Slack thread during a long turn ends it: group gone, session stopped with its cost, the thread told what it did and cost', async () => {
		const opened = await mentionInNewThread(stack, LONG_TURN);
		expect(opened.status).toBe(200);
		const threadTs = opened.message.ts;
		const sessionId = await sessionOfThread(`slack:${SLACK_CHANNEL}:${threadTs}`);
		const pgid = await longTurnUnderWay(sessionId);

		const askedAt = Date.now();
		const stop = await stack.slack.sendUserMessage(slackTriggerUrl(stack), {
			channel: SLACK_CHANNEL,
			threadTs,
			user: 'U0ALICE',
			text: 'stop',
		});
		expect(stop.status).toBe(200);
		const s = await expectStopped(sessionId, pgid, askedAt, 'slack');

		const answer = await stack.slack.waitForBotMessage(
			(m) => m.threadTs === threadTs && m.text.includes('Stopped.'),
			RUN_TIMEOUT_MS,
			'the stop answer in the thread',
		);
		expect(answer.text).toContain('1 tool call');
		expect(answer.text).toContain(`$${Number(s.costUsd).toFixed(4)}`);
		const stops = await api(stack.service, 'GET', `/api/v1/sessions/${sessionId}/events?limit=200`);
		expect(
			stops.body.items.some(
				(e: Json) =>
					e.event === 'SessionEnd' &&
					e.payload?.source === 'service' &&
					e.payload?.stopped_by?.requestedBy === 'U0ALICE',
			),
		).toBe(true);
		// The stopped turn's own execution said nothing more: one answer for one stop, beside the turn's working message
		// (which its RunFinished turns into the stopped outcome).
		await stack.n8n.waitForExecutions(WORKFLOW_IDS.slack, 2, RUN_TIMEOUT_MS);
		const working = (m: { text: string; edits?: unknown[] }) =>
			Boolean(m.edits?.length) || m.text.startsWith(':hourglass_flowing_sand: Working');
		expect(
			stack.slack
				.botMessages({ threadTs })
				.filter((m) => !m.text.startsWith(':checkered_flag:') && !working(m)),
		).toHaveLength(1);
	}, 300_000);

	it('`stop` in an email reply does the same, and the answer threads under the reply', async () => {
		const firstId = '<e2e-stop-first.alice@example.test>';
		await mailFromAlice(stack, { messageId: firstId, subject: 'Long job', text: LONG_TURN });
		const sessionId = await sessionOfThread(
			'email:e2e-stop-first.alice@example.test',
			MAIL_TIMEOUT_MS,
		);
		const pgid = await longTurnUnderWay(sessionId);

		const stopId = '<e2e-stop-reply.alice@example.test>';
		const askedAt = Date.now();
		await mailFromAlice(stack, {
			messageId: stopId,
			subject: 'Re: Long job',
			inReplyTo: firstId,
			references: [firstId],
			text: 'Stop.\r\n\r\n-- \r\nAlice',
		});
		await expectStopped(sessionId, pgid, askedAt, 'email');
		const answer = await stack.smtp.waitForMail(
			(m) => m.inReplyTo === stopId && m.text.includes('Stopped.'),
			MAIL_TIMEOUT_MS,
			'the stop answer',
		);
		expect(answer.subject).toBe('Re: Long job');
		expect(answer.references).toEqual([firstId, stopId]);
		expect(answer.text).toContain('1 tool call');
	}, 400_000);
});

describe('replies while a turn runs', () => {
	it('three Slack replies during one long turn: each told "still working" at once, no execution waits, the next turn takes all three in order', async () => {
		const opened = await mentionInNewThread(
			stack,
			'a long job [[bash:echo one > one.txt]] [[delay:25000]] [[text:first turn done]]',
		);
		const threadTs = opened.message.ts;
		const sessionId = await sessionOfThread(`slack:${SLACK_CHANNEL}:${threadTs}`);
		await longTurnUnderWay(sessionId);
		const before = new Set((await stack.n8n.executions(WORKFLOW_IDS.slack)).map((e) => e.id));

		const replies = [
			{ user: 'U0ALICE', text: 'first reply: look at the logs' },
			{ user: 'U0BOB', text: 'second reply: and the tests' },
			{ user: 'U0CAROL', text: 'third reply: then sum up [[text:answered all three]]' },
		];
		const answeredInMs: number[] = [];
		for (const [i, r] of replies.entries()) {
			const sent = Date.now();
			expect(
				(
					await stack.slack.sendUserMessage(slackTriggerUrl(stack), {
						channel: SLACK_CHANNEL,
						threadTs,
						user: r.user,
						text: r.text,
					})
				).status,
			).toBe(200);
			await stillWorkingAnswers(stack, threadTs, i + 1, `"still working" for reply ${i + 1}`, 50);
			answeredInMs.push(Date.now() - sent);
		}
		process.stdout.write(
			`thread console: "still working" posted ${answeredInMs.join(', ')} ms after each reply\n`,
		);
		const replyExecutions = await pollUntil(
			async () => {
				// The Slack Trigger's executions (the workflow's Progress trigger runs too).
				const fresh = (await stack.n8n.executions(WORKFLOW_IDS.slack))
					.filter((e) => !before.has(e.id) && e.data?.resultData.runData['Slack Trigger'])
					.slice(0, 3);
				return fresh.length === 3 && fresh.every((e) => e.stoppedAt) ? fresh : undefined;
			},
			RUN_TIMEOUT_MS,
			'the three reply executions to end',
		);
		expect(replyExecutions.map((e) => e.status)).toEqual(['success', 'success', 'success']);

		const answer = await stack.slack.waitForBotMessage(
			(m) =>
				m.threadTs === threadTs &&
				m.text.includes('answered all three') &&
				!m.text.startsWith(':checkered_flag:'),
			RUN_TIMEOUT_MS,
			'the answer to the queued replies',
		);
		expect(answer.text).toContain('answering 3 queued replies');
		const runs = (await get(`/api/v1/sessions/${sessionId}/runs`)).items as Json[];
		expect(runs.map((r) => r.status)).toEqual(['completed', 'completed']);
		// No second turn overlapped the first, and every reply's execution ended while the first turn still ran: none
		// waited for the session's lease (the n8n executions of the workflow: the long turn, three replies, Take Queued).
		expect(Date.parse(runs[1].startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[0].endedAt));
		for (const e of replyExecutions)
			expect(Date.parse(e.stoppedAt!)).toBeLessThan(Date.parse(runs[0].endedAt));
		process.stdout.write(
			`thread console: reply executions took ${replyExecutions.map((e) => Date.parse(e.stoppedAt!) - Date.parse(e.startedAt)).join(', ')} ms\n`,
		);
		// The next turn's prompt holds all three, in order, each with who wrote it.
		const requests = stack.anthropic.requestsFor(sessionId);
		const prompt = requests.map((r) => lastPrompt(r.body)).find((p) => p.includes('third reply'))!;
		const at = replies.map((r) => prompt.indexOf(r.text));
		expect(at.every((p) => p >= 0)).toBe(true);
		expect([...at].sort((a, b) => a - b)).toEqual(at);
		replies.forEach((r, i) =>
			expect(prompt).toContain(`Message ${i + 1} of 3, from ${r.user} via slack`),
		);
		expect((await get(`/api/v1/sessions/${sessionId}/queued-messages`)).items).toEqual([]);
	}, 300_000);
});

describe('email replies while a turn runs', () => {
	it('a reply during a long turn is answered "still working" at once, and the next turn answers it threaded under it', async () => {
		const firstId = '<e2e-busy-first.alice@example.test>';
		await mailFromAlice(stack, {
			messageId: firstId,
			subject: 'Busy job',
			text: 'a long job [[bash:echo one > one.txt]] [[delay:45000]] [[text:first email turn done]]',
		});
		const sessionId = await sessionOfThread(
			'email:e2e-busy-first.alice@example.test',
			MAIL_TIMEOUT_MS,
		);
		await longTurnUnderWay(sessionId);
		const replyId = '<e2e-busy-reply.alice@example.test>';
		await mailFromAlice(stack, {
			messageId: replyId,
			subject: 'Re: Busy job',
			inReplyTo: firstId,
			references: [firstId],
			text: 'also check the docs [[text:queued email answered]]',
		});
		const waiting = await stack.smtp.waitForMail(
			(m) => m.inReplyTo === replyId && m.text.includes('Still working, I will take this next'),
			MAIL_TIMEOUT_MS,
			'"still working"',
		);
		expect(waiting.subject).toBe('Re: Busy job');
		const runsWhileWaiting = (await get(`/api/v1/sessions/${sessionId}/runs`)).items as Json[];
		expect(runsWhileWaiting.map((r) => r.status)).toEqual(['running']);

		const answer = await stack.smtp.waitForMail(
			(m) => m.inReplyTo === replyId && m.text.includes('queued email answered'),
			RUN_TIMEOUT_MS,
			'the answer to the queued reply',
		);
		expect(answer.references).toEqual([firstId, replyId]);
		expect(answer.envelope.to).toEqual(['alice@example.test']);
		expect(answer.text).toContain('answering 1 queued replies');
		const runs = (await get(`/api/v1/sessions/${sessionId}/runs`)).items as Json[];
		expect(runs.map((r) => r.status)).toEqual(['completed', 'completed']);
		expect(Date.parse(runs[1].startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[0].endedAt));
		const prompt = stack.anthropic
			.requestsFor(sessionId)
			.map((r) => lastPrompt(r.body))
			.find((p) => p.includes('also check the docs'))!;
		expect(prompt).toContain('from alice@example.test via email');
	}, 400_000);
});
