// The shipped workflow templates, imported unchanged (credentials by name, Settings values filled in) into the
// real n8n, driven the way Slack, a mail server and an HTTP client would drive them.
import { api } from '../support/test-service';
import {
	COLD_INSTALL_TIMEOUT_MS,
	nodeOutput,
	type N8nExecution,
} from '../../scripts/n8n/n8n-instance';
import { imapSearch } from '../fakes/mail';
import { eventEnvelope, postSignedEvent, type SlackMessage } from '../fakes/slack';
import {
	MAIL,
	mentionInNewThread,
	SLACK_CHANNEL,
	slackTriggerUrl,
	startStack,
	WORKFLOW_IDS,
	type E2eStack,
} from './stack';
import { promptsIn } from '../support/claude-fixture';
import { pollUntil } from '../support/wait';
import { mailbox, mailFromAlice } from './alice-mail';
import { triggerWebhookPath } from './templates';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// A claude turn against the fake takes 2-5 s; n8n, the service and the hooks add a few more.
const RUN_TIMEOUT_MS = 90_000;

type Json = Record<string, any>;

const suiteStarted = Date.now();
let stack: E2eStack;
// The webhook-started session; the Slack scenario continues it in its thread.
let started: { sessionId: string; rootTs: string } | undefined;

beforeAll(async () => {
	stack = await startStack();
}, COLD_INSTALL_TIMEOUT_MS + 300_000);

afterAll(async () => {
	await stack?.stop();
	process.stderr.write(
		`e2e-n8n: start-up ${JSON.stringify(stack?.timings ?? {})}, suite ${Date.now() - suiteStarted} ms\n`,
	);
}, 120_000);

async function startViaWebhook(body: unknown): Promise<{ status: number; json: Json; ms: number }> {
	const t0 = Date.now();
	const res = await fetch(`${stack.n8n.url}/webhook/claude/start`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(30_000),
	});
	const text = await res.text();
	return { status: res.status, json: text ? JSON.parse(text) : {}, ms: Date.now() - t0 };
}

/** The root message of the Slack thread the Session Initializer opened for the session. */
const threadRoot = (sessionId: string, what = 'the thread root') =>
	stack.slack.waitForBotMessage((m) => !m.threadTs && m.text.includes(sessionId), 30_000, what);

/** A session started through the webhook with `prompt`, and the root of the Slack thread opened for it. */
async function startInThread(prompt: string): Promise<{ sessionId: string; root: SlackMessage }> {
	const res = await startViaWebhook({ prompt });
	expect(res.status).toBe(202);
	const sessionId = res.json.sessionId as string;
	return { sessionId, root: await threadRoot(sessionId) };
}

/** A daily budget of $0.005 on the thread; the API's answer. */
async function putThreadBudget(threadKey: string) {
	const put = await api(stack.service, 'PUT', '/api/v1/budgets', {
		scope: 'thread',
		scopeValue: threadKey,
		period: 'day',
		limitUsd: 0.005,
	});
	expect(put.status).toBe(201);
	return put;
}

/** A template's answer to a person, not the hook workflow's notice that quotes the same result. */
function isAnswer(m: SlackMessage, text: string): boolean {
	return m.text.includes(text) && !m.text.startsWith(':checkered_flag:');
}

async function session(id: string): Promise<Json> {
	const res = await api(stack.service, 'GET', `/api/v1/sessions/${id}`);
	if (res.status !== 200)
		throw new Error(`GET session ${id}: ${res.status} ${JSON.stringify(res.body)}`);
	return res.body;
}

async function finishedExecutions(workflowId: string, count: number): Promise<N8nExecution[]> {
	return stack.n8n.waitForExecutions(workflowId, count, RUN_TIMEOUT_MS);
}

const DONE = new Set(['success', 'error', 'crashed', 'canceled']);

/**
 * The Slack workflow's executions that one of its triggers started (it also has the Progress trigger), once
 * `count` of them have finished.
 */
async function executionsFrom(trigger: string, count: number): Promise<N8nExecution[]> {
	return pollUntil(
		async () => {
			const all = (await stack.n8n.executions(WORKFLOW_IDS.slack)).filter(
				(e) => e.data?.resultData.runData[trigger],
			);
			return all.filter((e) => DONE.has(e.status)).length >= count ? all : undefined;
		},
		RUN_TIMEOUT_MS,
		`${count} finished execution(s) started by ${trigger}`,
	);
}

describe('Session Initializer (webhook → Claude Session Start → Slack thread)', () => {
	it("answers with the session id at once, then posts the outcome into the session's Slack thread", async () => {
		// The delay keeps the run going well after the webhook answered: the HTTP request must not wait for it.
		const res = await startViaWebhook({
			prompt:
				'Say hello from the webhook [[delay:4000]] [[text:hello from Claude via the webhook]]',
		});
		expect(res.status).toBe(202);
		expect(res.json.status).toBe('started');
		expect(res.json.sessionId).toMatch(UUID);
		expect(res.ms).toBeLessThan(4_000);
		const sessionId = res.json.sessionId as string;

		const root = await threadRoot(sessionId, 'thread root naming the session');
		expect(root.channel).toBe(SLACK_CHANNEL);
		const outcome = await stack.slack.waitForBotMessage(
			(m) => m.threadTs === root.ts && isAnswer(m, 'hello from Claude via the webhook'),
			RUN_TIMEOUT_MS,
			'the outcome in the thread',
		);
		expect(outcome.text).toContain('completed');

		const stored = await session(sessionId);
		expect(stored).toMatchObject({
			id: sessionId,
			status: 'completed',
			threadKey: `slack:${SLACK_CHANNEL}:${root.ts}`,
		});
		expect(stored.workspace.type).toBe('worktree');
		const thread = await api(
			stack.service,
			'GET',
			`/api/v1/threads/${encodeURIComponent(`slack:${SLACK_CHANNEL}:${root.ts}`)}`,
		);
		expect(thread.body.sessionId).toBe(sessionId);
		const messages = await api(stack.service, 'GET', `/api/v1/sessions/${sessionId}/messages`);
		expect(JSON.stringify(messages.body)).toContain('Say hello from the webhook');

		started = { sessionId, rootTs: root.ts };
		const [execution] = await finishedExecutions(WORKFLOW_IDS.start, 1);
		expect(execution.status).toBe('success');
		expect(nodeOutput(execution, 'Claude Session Start')[0]).toMatchObject({
			sessionId,
			status: 'completed',
			isError: false,
		});
	}, 180_000);

	it('refuses a request without a prompt with 400 and starts nothing', async () => {
		const roots = () => stack.slack.botMessages().filter((m) => !m.threadTs).length;
		const before = roots();
		const res = await startViaWebhook({ workspace: stack.baseRepository });
		expect(res.status).toBe(400);
		expect(res.json.error).toContain('prompt');
		expect(roots()).toBe(before);
	});
});

describe('Slack Message Handler (Slack Trigger → Claude Resume or Session Start → reply in the thread)', () => {
	it('continues the webhook-started session from a reply in its thread and answers in that thread', async () => {
		if (!started) throw new Error('needs the Session Initializer scenario first');
		const { sessionId, rootTs } = started;
		const sent = await stack.slack.sendUserMessage(slackTriggerUrl(stack), {
			channel: SLACK_CHANNEL,
			threadTs: rootTs,
			text: 'What did you say before? [[text:continued in the Slack thread]]',
		});
		expect(sent.status).toBe(200);

		const reply = await stack.slack.waitForBotMessage(
			(m) => m.threadTs === rootTs && isAnswer(m, 'continued in the Slack thread'),
			RUN_TIMEOUT_MS,
			'the resumed answer in the thread',
		);
		expect(reply.channel).toBe(SLACK_CHANNEL);

		// Same session: the resumed turn's request to the model carries the first turn's prompt before the new one.
		const requests = stack.anthropic.requestsFor(sessionId);
		const last = promptsIn(requests[requests.length - 1].body);
		expect(last.some((p) => p.includes('Say hello from the webhook'))).toBe(true);
		expect(last[last.length - 1]).toContain('What did you say before?');
		const messages = await api(stack.service, 'GET', `/api/v1/sessions/${sessionId}/messages`);
		expect(JSON.stringify(messages.body)).toContain('What did you say before?');

		const executions = await executionsFrom('Slack Trigger', 1);
		const execution = executions[executions.length - 1];
		expect(execution.status).toBe('success');
		expect(nodeOutput(execution, 'Claude Resume')[0]).toMatchObject({
			sessionId,
			status: 'completed',
		});
	}, 180_000);

	it("starts a new session bound to the thread a mention opens, and ignores the bot's own messages", async () => {
		const before = (await stack.n8n.executions(WORKFLOW_IDS.slack)).filter(
			(e) => e.data?.resultData.runData['Slack Trigger'],
		).length;
		const sent = await mentionInNewThread(
			stack,
			'please start fresh [[text:a new session for this thread]]',
		);
		expect(sent.status).toBe(200);
		const threadTs = sent.message.ts;
		await stack.slack.waitForBotMessage(
			(m) => m.threadTs === threadTs && isAnswer(m, 'a new session for this thread'),
			RUN_TIMEOUT_MS,
			"the new session's answer",
		);

		const thread = await api(
			stack.service,
			'GET',
			`/api/v1/threads/${encodeURIComponent(`slack:${SLACK_CHANNEL}:${threadTs}`)}`,
		);
		expect(thread.status).toBe(200);
		expect(thread.body.sessionId).toMatch(UUID);
		expect(thread.body.sessionId).not.toBe(started?.sessionId);

		const executions = await executionsFrom('Slack Trigger', before + 1);
		const execution = executions[executions.length - 1];
		expect(execution.status).toBe('success');
		expect(nodeOutput(execution, 'Claude Session Start')[0]).toMatchObject({
			sessionId: thread.body.sessionId,
			threadKey: `slack:${SLACK_CHANNEL}:${threadTs}`,
		});

		// Real Slack echoes the bot's own replies back as message events: they must not start another turn.
		const echo = await stack.slack.sendUserMessage(slackTriggerUrl(stack), {
			channel: SLACK_CHANNEL,
			threadTs,
			asBot: true,
			text: 'bot echo [[text:must never be answered]]',
		});
		expect(echo.status).toBe(200);
		const afterEcho = await executionsFrom('Slack Trigger', before + 2);
		const ignored = afterEcho[afterEcho.length - 1];
		expect(ignored.status).toBe('success');
		expect(Object.keys(ignored.data?.resultData.runData ?? {})).not.toContain('Claude Resume');
		expect(
			stack.slack.api.messages.filter((m) => m.text.includes('must never be answered')),
		).toHaveLength(1);
	}, 180_000);
});

describe("Slack progress and Slack's own retries (one working message, updated in place; each event once)", () => {
	// The Progress trigger of the Slack template: at most one delivery every 3 s per session.
	const INTERVAL_MS = 3000;
	// The thread as this template writes it (the hook notifications workflow also posts its "finished a turn" line).
	const templateMessages = (threadTs: string) =>
		stack.slack
			.botMessages({ channel: SLACK_CHANNEL, threadTs })
			.filter((m) => !m.text.startsWith(':checkered_flag:'));

	it(
		'updates one working message as 20 tool calls happen, never more often than every 3 s, and ends it with the result',
		async () => {
			const steps = Array.from(
				{ length: 20 },
				(_, i) => `[[delay:350]] [[bash:echo step-${i + 1}]]`,
			).join(' ');
			const sent = await mentionInNewThread(
				stack,
				`a long job ${steps} [[text:finished all twenty steps]]`,
			);
			expect(sent.status).toBe(200);
			const threadTs = sent.message.ts;
			const working = await stack.slack.waitForBotMessage(
				(m) => m.threadTs === threadTs && m.text.startsWith(':hourglass_flowing_sand:'),
				30_000,
				'the working message',
			);
			// 21 model turns: about 30 s on a quiet machine, past 90 s on a loaded one.
			const done = await stack.slack.waitForBotMessage(
				(m) => m.ts === working.ts && m.text.includes('finished all twenty steps'),
				4 * RUN_TIMEOUT_MS,
				'the working message replaced by the result',
			);
			// One message in the thread, edited in place: no second post.
			expect(templateMessages(threadTs)).toEqual([expect.objectContaining({ ts: working.ts })]);
			const posts = stack.slack.api.calls.filter(
				(c) =>
					c.method === 'chat.postMessage' &&
					c.body.thread_ts === threadTs &&
					!String(c.body.text).startsWith(':checkered_flag:'),
			);
			expect(posts).toHaveLength(1);
			expect(done.text).toContain('completed');
			expect(done.text).toContain('20 tool calls');

			const edits = done.edits ?? [];
			const progress = edits.filter(
				(e) => e.text.includes('tool calls so far') || e.text.includes('tool call so far'),
			);
			expect(progress.length).toBeGreaterThanOrEqual(2);
			// Counts only go up, and the result is the last edit.
			const counts = progress.map((e) => Number(/(\d+) tool calls? so far/.exec(e.text)![1]));
			expect([...counts].sort((a, b) => a - b)).toEqual(counts);
			// The run's cost so far (claude's own per-request figures, exported about once a second) shows once some
			// has arrived; when it does, it only grows and stays within the run's final cost (in the result's facts).
			const costs = progress
				.map((e) => /\$(\d+\.\d{4}) so far/.exec(e.text)?.[1])
				.filter((c) => c !== undefined)
				.map(Number);
			process.stdout.write(
				`slack progress: cost so far shown in ${costs.length} of ${progress.length} updates\n`,
			);
			expect([...costs].sort((a, b) => a - b)).toEqual(costs);
			const finalCost = Number(/\$(\d+\.\d{4})_?$/.exec(done.text)?.[1]);
			for (const c of costs) expect(c).toBeLessThanOrEqual(finalCost);
			expect(edits[edits.length - 1].text).toContain('finished all twenty steps');
			const gaps = edits.slice(1).map((e, i) => e.at - edits[i].at);
			for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(INTERVAL_MS);

			// What the service did: one delivery per window, the rest superseded by a later event of the session.
			const thread = await api(
				stack.service,
				'GET',
				`/api/v1/threads/${encodeURIComponent(`slack:${SLACK_CHANNEL}:${threadTs}`)}`,
			);
			const sessionId = thread.body.sessionId as string;
			const subs = (
				await api(stack.service, 'GET', `/api/v1/subscriptions?workflowId=${WORKFLOW_IDS.slack}`)
			).body.items as Json[];
			const progressSub = subs.find((x) => x.nodeName === 'Progress')!;
			expect(progressSub).toMatchObject({
				events: ['PostToolUse', 'PostToolUseFailure', 'RunFinished'],
				minIntervalSeconds: 3,
			});
			// The trigger answers once its workflow ran: the service records RunFinished delivered just after the edit.
			const rows = await pollUntil(
				async () => {
					const items = (
						await api(
							stack.service,
							'GET',
							`/api/v1/deliveries?subscriptionId=${progressSub.id}&sessionId=${sessionId}&limit=500`,
						)
					).body.items as Json[];
					return items.some((d) => d.event === 'RunFinished' && d.status === 'delivered')
						? items
						: undefined;
				},
				60_000,
				'RunFinished recorded as delivered',
			);
			const delivered = rows.filter((d) => d.status === 'delivered');
			// Fewer deliveries than events (how many fewer depends on how fast the machine runs the turn).
			expect(delivered.length + rows.filter((d) => d.status === 'superseded').length).toBe(
				rows.length,
			);
			expect(delivered.reduce((n, d) => n + 1 + Number(d.coalesced), 0)).toBe(rows.length);
			expect(rows).toHaveLength(21); // 20 PostToolUse and RunFinished
			expect(delivered.some((d) => d.event === 'RunFinished')).toBe(true);
			const runs = (await api(stack.service, 'GET', `/api/v1/sessions/${sessionId}/runs`)).body
				.items as Json[];
			expect(runs[0].statusMessage).toBe(`slack:${SLACK_CHANNEL}:${working.ts}`);
			const turnMs = new Date(runs[0].endedAt).getTime() - new Date(runs[0].startedAt).getTime();
			process.stderr.write(
				`slack progress: 20 tool calls in ${(turnMs / 1000).toFixed(1)} s → ${rows.length} events, ${delivered.length} delivered ` +
					`(${rows.length - delivered.length} superseded), ${edits.length} chat.update (${progress.length} progress + result), ` +
					`gaps ${gaps.join('/')} ms\n`,
			);
		},
		5 * RUN_TIMEOUT_MS + 60_000,
	);

	it('starts one session when Slack delivers the same mention twice (a retry), and leaves one message in the thread', async () => {
		const before = (await stack.n8n.executions(WORKFLOW_IDS.slack)).filter(
			(e) => e.data?.resultData.runData['Slack Trigger'],
		).length;
		const ts = stack.slack.api.nextTs();
		const text = `<@${stack.slack.api.bot.userId}> only once please [[bash:echo once >> once.txt]] [[text:answered once]]`;
		stack.slack.api.messages.push({ channel: SLACK_CHANNEL, ts, text, user: 'U0PERSON' });
		const event = {
			type: 'app_mention',
			channel: SLACK_CHANNEL,
			channel_type: 'channel',
			user: 'U0PERSON',
			text,
			ts,
			event_ts: ts,
			team: stack.slack.api.team.id,
		};
		// The same envelope (same event_id) twice, the second marked as Slack marks a resend; both at once.
		const envelope = eventEnvelope(event, stack.slack.api.team.id);
		const [first, retry] = await Promise.all([
			postSignedEvent(slackTriggerUrl(stack), stack.slack.signingSecret, envelope),
			postSignedEvent(slackTriggerUrl(stack), stack.slack.signingSecret, envelope, undefined, {
				'X-Slack-Retry-Num': '1',
				'X-Slack-Retry-Reason': 'http_timeout',
			}),
		]);
		expect([first.status, retry.status]).toEqual([200, 200]);

		const answer = await stack.slack.waitForBotMessage(
			(m) => m.threadTs === ts && isAnswer(m, 'answered once'),
			RUN_TIMEOUT_MS,
			'the answer',
		);
		const executions = await executionsFrom('Slack Trigger', before + 2);
		const mine = executions.slice(-2);
		const outcomes = mine.map((e) => {
			const runData = e.data?.resultData.runData ?? {};
			const node = runData['Claude Session Start'] ? 'Claude Session Start' : 'Claude Resume';
			return nodeOutput(e, node)[0];
		});
		expect(outcomes.map((o) => o.status).sort()).toEqual(['completed', 'duplicate']);
		const ran = outcomes.find((o) => o.status === 'completed')!;
		expect(outcomes.find((o) => o.status === 'duplicate')).toMatchObject({
			sessionId: ran.sessionId,
			duplicateOf: { eventKey: `slack:${SLACK_CHANNEL}:${ts}` },
		});

		// One session for the thread; one claim of the event's key; Claude ran once.
		const thread = await api(
			stack.service,
			'GET',
			`/api/v1/threads/${encodeURIComponent(`slack:${SLACK_CHANNEL}:${ts}`)}`,
		);
		expect(thread.body.sessionId).toBe(ran.sessionId);
		const key = await api(
			stack.service,
			'GET',
			`/api/v1/event-keys/${encodeURIComponent(`slack:${SLACK_CHANNEL}:${ts}`)}`,
		);
		expect(key.body).toMatchObject({ sessionId: ran.sessionId, action: 'start' });
		expect(
			stack.anthropic.requests
				.filter((r) => JSON.stringify(r.body).includes('only once please'))
				.map((r) => r.sessionId),
		).toEqual(expect.arrayContaining([ran.sessionId]));
		expect(
			new Set(
				stack.anthropic.requests
					.filter((r) => JSON.stringify(r.body).includes('only once please'))
					.map((r) => r.sessionId),
			).size,
		).toBe(1);
		const runs = (await api(stack.service, 'GET', `/api/v1/sessions/${ran.sessionId}/runs`)).body
			.items as Json[];
		expect(runs).toHaveLength(1);
		// The duplicate's working message was taken back: the thread holds the answer only.
		expect(templateMessages(ts)).toEqual([expect.objectContaining({ ts: answer.ts })]);
		expect(stack.slack.api.deleted.filter((m) => m.threadTs === ts)).toHaveLength(1);
	}, 240_000);
});

describe('Email Handler (Email Trigger → Claude Resume or Session Start → threaded reply over SMTP)', () => {
	// n8n's IMAP trigger fires 9-15 s after delivery (imapflow idles 15 s after its last command), then claude runs.
	const MAIL_TIMEOUT_MS = 120_000;

	it('answers a new email in a new session, then continues that session from the reply, keeping the thread headers', async () => {
		const firstId = '<e2e-first.alice@example.test>';
		await mailFromAlice(stack, {
			messageId: firstId,
			subject: 'Build question',
			text: 'Is the build green? [[text:the build is green]]',
		});
		const answer = await stack.smtp.waitForMail(
			(m) => m.inReplyTo === firstId,
			MAIL_TIMEOUT_MS,
			'the answer to the first email',
		);
		expect(answer).toMatchObject({
			subject: 'Re: Build question',
			references: [firstId],
			from: MAIL.address,
			envelope: { to: ['alice@example.test'] },
		});
		expect(answer.text).toContain('the build is green');
		expect(answer.messageId).toMatch(/^<.+@.+>$/);
		const thread = await api(
			stack.service,
			'GET',
			`/api/v1/threads/${encodeURIComponent('email:e2e-first.alice@example.test')}`,
		);
		expect(thread.status).toBe(200);
		const sessionId = thread.body.sessionId as string;

		// Alice answers Claude's reply from her mail client: In-Reply-To names Claude's message, References the chain.
		const secondId = '<e2e-second.alice@example.test>';
		await mailFromAlice(stack, {
			messageId: secondId,
			subject: 'Re: Build question',
			inReplyTo: answer.messageId,
			references: [firstId, answer.messageId!],
			text: `And the tests? [[text:the tests pass too]]\r\n\r\nOn ${new Date().toUTCString()}, ${MAIL.from} wrote:\r\n> the build is green`,
		});
		const second = await stack.smtp.waitForMail(
			(m) => m.inReplyTo === secondId,
			MAIL_TIMEOUT_MS,
			'the answer to the reply',
		);
		expect(second.subject).toBe('Re: Build question');
		expect(second.references).toEqual([firstId, answer.messageId, secondId]);
		expect(second.text).toContain('the tests pass too');

		// The same session continued: the model saw the first email's turn, and only the new text of the reply.
		const requests = stack.anthropic.requestsFor(sessionId);
		const prompts = promptsIn(requests[requests.length - 1].body);
		expect(prompts.some((p) => p.includes('Is the build green?'))).toBe(true);
		expect(prompts[prompts.length - 1]).toContain('And the tests?');
		expect(prompts[prompts.length - 1]).not.toContain('> the build is green');

		// The mail leaves from the workflow's last node; n8n records the execution as finished just after.
		const executions = (await finishedExecutions(WORKFLOW_IDS.email, 2)).filter(
			(e) => e.status === 'success',
		);
		expect(executions.length).toBeGreaterThanOrEqual(2);
		const resumed = executions.find(
			(e) => nodeOutput(e, 'Claude Resume')[0]?.sessionId === sessionId,
		);
		expect(resumed).toBeDefined();
		// The trigger marked both messages read, so a restart does not answer them again.
		expect(await imapSearch(mailbox(stack), 'UNSEEN')).toEqual([]);
	}, 300_000);

	it('tells an email thread that went over its budget, in that thread, with the budget, what was spent and when it resets', async () => {
		// An email thread's key is known before its first mail arrives: the budget is in place before the run reserves,
		// so the run is capped at it and its cost crosses the limit (claude checks its cap after each response).
		const rootId = '<e2e-budget.alice@example.test>';
		const threadKey = 'email:e2e-budget.alice@example.test';
		// The service queues an event only for the subscriptions it has: the workflow's Budget Reached trigger must be one.
		await pollUntil(
			async () => {
				const subs = await api(
					stack.service,
					'GET',
					`/api/v1/subscriptions?workflowId=${WORKFLOW_IDS.email}`,
				);
				return (subs.body.items as Json[]).some((sub) => sub.nodeName === 'Budget Reached')
					? true
					: undefined;
			},
			60_000,
			"the email workflow's Budget Reached subscription",
		);
		const put = await putThreadBudget(threadKey);
		await mailFromAlice(stack, {
			messageId: rootId,
			subject: 'Costly question',
			text: 'Spend a little [[bash:echo one]] [[text:spent]]',
		});

		const notice = await stack.smtp.waitForMail(
			(m) => m.inReplyTo === rootId && m.text.startsWith('Budget reached'),
			MAIL_TIMEOUT_MS,
			'the Budget Reached mail in the thread',
		);
		expect(notice).toMatchObject({
			subject: 'Re: Costly question',
			references: [rootId],
			from: MAIL.address,
			envelope: { to: ['alice@example.test'] },
		});
		expect(notice.text).toContain(`The budget for thread ${threadKey} per UTC day`);
		expect(notice.text).toMatch(
			/\$0\.\d{4} of \$0\.0050 spent today \(UTC\); it resets at \d{4}-\d{2}-\d{2}T00:00:00\.000Z/,
		);
		expect(notice.raw).toMatch(/^Auto-Submitted: auto-generated\r?$/im);
		const budget = (await api(stack.service, 'GET', `/api/v1/budgets/${put.body.id}`)).body;
		expect(budget.spentUsd).toBeGreaterThan(0.005);

		// The reply address came from what the template recorded with the thread, carried by the event.
		const thread = await api(
			stack.service,
			'GET',
			`/api/v1/threads/${encodeURIComponent(threadKey)}`,
		);
		expect(thread.body.metadata).toEqual({
			email: {
				replyTo: 'alice@example.test',
				subject: 'Re: Costly question',
				inReplyTo: rootId,
				references: [rootId],
			},
		});
		const events = await api(
			stack.service,
			'GET',
			`/api/v1/sessions/${thread.body.sessionId}/events?limit=200`,
		);
		const reached = (events.body.items as Json[]).filter((e) => e.event === 'BudgetReached');
		expect(reached.map((e) => e.payload.thread_metadata)).toEqual([thread.body.metadata]);
		// One notice per budget, period and session: the thread got exactly one.
		expect(
			stack.smtp.mails.filter((m) => m.inReplyTo === rootId && m.text.startsWith('Budget reached')),
		).toHaveLength(1);
	}, 300_000);
});

describe("Hook notifications (Claude Hook Trigger → a message in the session's Slack thread)", () => {
	it('registered one subscription per trigger with the service when n8n activated the workflow', async () => {
		const expected: Record<string, string[]> = {
			'Session Finished': ['SessionEnd', 'Stop', 'StopFailure'],
			'Tool Failed': ['PostToolUseFailure'],
			'Permission Denied': ['PermissionDenied'],
			'Budget Warning': ['BudgetWarning'],
			'Budget Reached': ['BudgetReached'],
		};
		// n8n registers a workflow's triggers one after another once it is active: wait until all have.
		const byNode = await pollUntil(
			async () => {
				const subs = await api(
					stack.service,
					'GET',
					`/api/v1/subscriptions?workflowId=${WORKFLOW_IDS.hooks}`,
				);
				expect(subs.status).toBe(200);
				const found = Object.fromEntries((subs.body.items as Json[]).map((s) => [s.nodeName, s]));
				return Object.keys(expected).every((node) => found[node]) ? found : undefined;
			},
			60_000,
			'a subscription for each trigger of the hook workflow',
		);
		for (const [node, events] of Object.entries(expected)) {
			expect([...byNode[node].events].sort()).toEqual(events);
			expect(byNode[node].url).toBe(
				`${stack.n8n.url}/webhook/${triggerWebhookPath(stack.workflows.hooks, node, 'claude-hook')}`,
			);
		}
	});

	it("tells the session's thread that a tool failed, a tool was denied and the session finished", async () => {
		const before = (await stack.n8n.executions(WORKFLOW_IDS.hooks)).length;
		// A read-only command inside the workspace that runs and fails, then a network call acceptEdits mode refuses.
		const { sessionId, root } = await startInThread(
			'Use two tools [[bash:ls nonexistent-e2e-dir]] [[bash:curl -s http://127.0.0.1:9/never]] [[text:done with the tools]]',
		);
		const inThread = (needle: string, what: string) =>
			stack.slack.waitForBotMessage(
				(m) => m.threadTs === root.ts && m.text.includes(needle),
				RUN_TIMEOUT_MS,
				what,
			);

		const failed = await inThread(':warning: Bash failed', 'the tool-failed notice');
		expect(failed.text).toContain('nonexistent-e2e-dir');
		const denied = await inThread(
			':no_entry: Claude was not allowed to run Bash',
			'the permission-denied notice',
		);
		expect(denied.text).toContain('curl');
		await inThread(':checkered_flag: Claude finished a turn', 'the session-finished notice');

		// Each notice came from an execution of the hook workflow that ran its Slack node. Other sessions' events
		// (an earlier scenario's, delivered late) run the workflow too: wait for this session's, not for a count.
		const postedEvents = async () => {
			const executions = await finishedExecutions(WORKFLOW_IDS.hooks, before + 3);
			const posted = executions
				.slice(before)
				.filter(
					(e) => e.status === 'success' && e.data?.resultData.runData['Post In Session Thread'],
				);
			return posted
				.flatMap((e) => nodeOutput(e, 'Format Notification'))
				.filter((item) => item.sessionId === sessionId)
				.map((item) => item.event);
		};
		const events = await pollUntil(
			async () => {
				const seen = await postedEvents();
				return ['PostToolUseFailure', 'PermissionDenied', 'Stop'].every((e) => seen.includes(e))
					? seen
					: undefined;
			},
			RUN_TIMEOUT_MS,
			"the hook workflow's executions that posted the three notices",
		).catch(postedEvents);
		expect(events).toEqual(
			expect.arrayContaining(['PostToolUseFailure', 'PermissionDenied', 'Stop']),
		);
	}, 180_000);

	it('tells a thread that went over its budget, in that thread, with the budget, what was spent and when it resets', async () => {
		// The delay leaves time to set the thread's budget while its first run is still going; whether the budget
		// lands before the run reserves (the run is capped at it) or after (its cost carries the thread past it),
		// the run's cost crosses the limit and Budget Reached fires.
		const { root } = await startInThread(
			'Spend a little [[delay:3000]] [[bash:echo one]] [[text:spent]]',
		);
		const threadKey = `slack:${SLACK_CHANNEL}:${root.ts}`;
		const put = await putThreadBudget(threadKey);

		const notice = await stack.slack.waitForBotMessage(
			(m) => m.threadTs === root.ts && m.text.startsWith(':octagonal_sign: Budget reached'),
			RUN_TIMEOUT_MS,
			'the Budget Reached notice',
		);
		expect(notice.text).toContain(`The budget for thread ${threadKey} per UTC day`);
		expect(notice.text).toMatch(
			/\$0\.\d{4} of \$0\.0050 spent today \(UTC\); it resets at \d{4}-\d{2}-\d{2}T00:00:00\.000Z/,
		);
		const budget = (await api(stack.service, 'GET', `/api/v1/budgets/${put.body.id}`)).body;
		expect(budget.spentUsd).toBeGreaterThan(0.005);
	}, 180_000);
});
