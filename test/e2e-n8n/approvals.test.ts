// Approvals through the real n8n: a gated Bash command stops the session as waiting_approval with nothing left
// running; the templates ask in Slack (buttons) or by email; a signed click or a reply decides; Claude Resume
// continues with the decision. Double clicks, a person the policy does not name and an expired request too.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { api } from '../support/test-service';
import { imapAppend } from '../fakes/mail';
import { slackSignature, type SlackApiCall } from '../fakes/slack';
import {
	APPROVAL_WORKFLOW_IDS,
	APPROVALS_MAIL,
	FALLBACK_CHANNEL,
	SLACK_SIGNING_SECRET,
	START_PATH,
	useApprovalsStack,
} from './approvals-stack';
import { pollUntil } from '../support/wait';

type Json = Record<string, any>;

const RUN_TIMEOUT_MS = 90_000;
// imapflow waits ~15 s before IDLE, so n8n reads new mail 10-15 s after it arrives.
const MAIL_TIMEOUT_MS = 60_000;
const CHANNEL = 'C0E2EAPPROVE';
const ALICE = 'U0ALICE';

const stack = useApprovalsStack();

/** A gated session started through n8n; its answer is Claude Session Start's output. */
async function startGated(body: {
	prompt: string;
	threadKey: string;
	tools: string;
	deciders: string;
	expiresAfterMinutes?: number;
}): Promise<Json> {
	const res = await fetch(`${stack.n8n.url}/webhook/${START_PATH}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
	});
	const text = await res.text();
	if (res.status !== 200) throw new Error(`start workflow answered ${res.status}: ${text}`);
	return JSON.parse(text) as Json;
}

/** A root message in the fake Slack, so the session has a real thread to be asked in. */
function slackThread(): { threadKey: string; ts: string } {
	const ts = stack.slack.api.nextTs();
	stack.slack.api.messages.push({ channel: CHANNEL, ts, text: 'please ship it', user: 'U0PERSON' });
	return { threadKey: `slack:${CHANNEL}:${ts}`, ts };
}

/** A gated session started in a new Slack thread, and that thread. */
async function startGatedInThread(
	body: Omit<Parameters<typeof startGated>[0], 'threadKey'>,
): Promise<{ thread: { threadKey: string; ts: string }; out: Json }> {
	const thread = slackThread();
	return { thread, out: await startGated({ ...body, threadKey: thread.threadKey }) };
}

/** Slack's block_actions interaction: form-encoded `payload=`, signed over the exact bytes sent. */
async function click(
	on: { approvalId: string; messageTs: string; threadTs?: string },
	by: { action: 'approve' | 'deny'; user: string; secret?: string; timestamp?: number },
) {
	const opts = { ...on, ...by };
	const payload = {
		type: 'block_actions',
		user: { id: opts.user, username: opts.user.toLowerCase(), team_id: stack.slack.api.team.id },
		team: { id: stack.slack.api.team.id },
		channel: { id: CHANNEL, name: 'e2e' },
		container: {
			type: 'message',
			message_ts: opts.messageTs,
			channel_id: CHANNEL,
			is_ephemeral: false,
		},
		message: {
			type: 'message',
			ts: opts.messageTs,
			...(opts.threadTs ? { thread_ts: opts.threadTs } : {}),
			text: 'approval',
		},
		actions: [
			{
				type: 'button',
				action_id: opts.action,
				block_id: 'claude_approval',
				value: opts.approvalId,
				action_ts: String(Date.now() / 1000),
			},
		],
		response_url: 'https://hooks.slack.com/actions/T0FAKE/1/x',
		trigger_id: '1.2.3',
	};
	const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
	const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
	const res = await fetch(`${stack.n8n.url}/webhook/claude/slack-interactions`, {
		method: 'POST',
		headers: {
			'content-type': 'application/x-www-form-urlencoded',
			'x-slack-request-timestamp': String(timestamp),
			'x-slack-signature': slackSignature(opts.secret ?? SLACK_SIGNING_SECRET, timestamp, body),
		},
		body,
		signal: AbortSignal.timeout(30_000),
	});
	return { status: res.status, body: await res.text() };
}

/** The approval message the template posted for this approval: chat.postMessage with the two buttons. */
async function approvalMessage(approvalId: string): Promise<{ call: SlackApiCall; ts: string }> {
	return pollUntil(
		() => {
			const i = stack.slack.api.calls.findIndex(
				(c) =>
					c.method === 'chat.postMessage' &&
					JSON.stringify(c.body.blocks ?? '').includes(approvalId),
			);
			if (i === -1) return undefined;
			const call = stack.slack.api.calls[i];
			const stored = stack.slack.api.messages.find(
				(m) => m.botId && m.text === call.body.text && m.channel === call.body.channel,
			);
			return stored ? { call, ts: stored.ts } : undefined;
		},
		RUN_TIMEOUT_MS,
		`the Slack approval message for ${approvalId}`,
	);
}

const threadReplies = (threadTs: string) =>
	stack.slack.botMessages({ channel: CHANNEL, threadTs }).map((m) => m.text);
const waitForReply = (threadTs: string, what: RegExp) =>
	stack.slack.waitForBotMessage(
		(m) => m.threadTs === threadTs && what.test(m.text),
		RUN_TIMEOUT_MS,
		`a thread reply matching ${what}`,
	);

const approval = async (id: string) =>
	(await api(stack.service, 'GET', `/api/v1/approvals/${id}`)).body as Json;
const runsOf = async (sessionId: string) =>
	(await api(stack.service, 'GET', `/api/v1/sessions/${sessionId}/runs`)).body.items as Json[];

/** While a person decides: no claude process for the session, and no n8n execution running or waiting. */
async function nothingHeld(sessionId: string) {
	const ps = execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' })
		.split('\n')
		.filter((l) => l.includes(sessionId));
	expect(ps).toEqual([]);
	const executions = async (status: string) =>
		(await stack.n8n.api<{ data: Json[] }>('GET', `/executions?status=${status}&limit=50`)).data;
	// The execution that posted the request may still be saving; none may stay open for the person.
	await pollUntil(
		async () => ((await executions('running')).length === 0 ? true : undefined),
		15_000,
		'n8n executions to finish',
	);
	expect(await executions('waiting')).toEqual([]);
}

describe('approvals in Slack', () => {
	it('stops a gated command as waiting_approval, asks with buttons in the thread, and a signed Approve runs it', async () => {
		const { thread, out } = await startGatedInThread({
			prompt:
				'[[bash:echo before > before.txt]] [[bash:echo shipped > shipped.txt]] [[bash:echo after > after.txt]]',
			tools: 'Bash(echo shipped *)',
			deciders: `${ALICE}, alice@example.test`,
		});
		expect(out).toMatchObject({
			status: 'waiting_approval',
			isError: false,
			pendingApproval: { toolName: 'Bash', toolInput: { command: 'echo shipped > shipped.txt' } },
		});
		const worktree = out.workspace.path as string;
		expect(fs.existsSync(path.join(worktree, 'before.txt'))).toBe(true);
		expect(fs.existsSync(path.join(worktree, 'shipped.txt'))).toBe(false);
		expect((await api(stack.service, 'GET', `/api/v1/sessions/${out.sessionId}`)).body.status).toBe(
			'waiting_approval',
		);

		const asked = await approvalMessage(out.pendingApproval.id);
		const at = { approvalId: out.pendingApproval.id, messageTs: asked.ts, threadTs: thread.ts };
		expect(asked.call.body).toMatchObject({ channel: CHANNEL, thread_ts: thread.ts });
		const buttons = asked.call.body.blocks.find((b: Json) => b.type === 'actions').elements;
		expect(buttons.map((b: Json) => [b.action_id, b.value])).toEqual([
			['approve', out.pendingApproval.id],
			['deny', out.pendingApproval.id],
		]);
		expect(asked.call.body.blocks[0].text.text).toContain('echo shipped > shipped.txt');
		await nothingHeld(out.sessionId);

		expect((await click(at, { action: 'approve', user: ALICE })).status).toBe(200);
		const reply = await waitForReply(thread.ts, /Approved by U0ALICE via slack/);
		expect(reply.text).toContain('Done: 3 tool call(s)');
		expect(fs.readFileSync(path.join(worktree, 'shipped.txt'), 'utf8')).toBe('shipped\n');
		expect(fs.readFileSync(path.join(worktree, 'after.txt'), 'utf8')).toBe('after\n');
		expect(await approval(out.pendingApproval.id)).toMatchObject({
			status: 'approved',
			decidedBy: ALICE,
			channel: 'slack',
			decidedAt: expect.any(String),
		});
		expect((await runsOf(out.sessionId)).map((r) => r.status)).toEqual([
			'waiting_approval',
			'completed',
		]);

		// A second click changes nothing, resumes nothing, and says who decided.
		expect((await click(at, { action: 'deny', user: ALICE })).status).toBe(200);
		await waitForReply(thread.ts, /Already approved by U0ALICE via slack/);
		expect(await approval(out.pendingApproval.id)).toMatchObject({ status: 'approved' });
		expect(await runsOf(out.sessionId)).toHaveLength(2);
	});

	it('refuses a person the policy does not name, in the thread; a Deny refuses the call, lists it as denied, and Claude continues', async () => {
		const { thread, out } = await startGatedInThread({
			prompt: '[[bash:echo pushed > pushed.txt]] [[bash:echo next > next.txt]]',
			tools: 'Bash(echo pushed *)',
			deciders: ALICE,
		});
		expect(out.status).toBe('waiting_approval');
		const asked = await approvalMessage(out.pendingApproval.id);
		const at = { approvalId: out.pendingApproval.id, messageTs: asked.ts, threadTs: thread.ts };

		await click(at, { action: 'approve', user: 'U0EVE' });
		await waitForReply(thread.ts, /<@U0EVE>: U0EVE is not allowed to decide this approval/);
		expect(await approval(out.pendingApproval.id)).toMatchObject({
			status: 'pending',
			refusals: [expect.objectContaining({ by: 'U0EVE', channel: 'slack' })],
		});
		expect(await runsOf(out.sessionId)).toHaveLength(1);

		await click(at, { action: 'deny', user: ALICE });
		const reply = await waitForReply(thread.ts, /Denied by U0ALICE via slack/);
		expect(reply.text).toContain('Done: 2 tool call(s)');
		const worktree = out.workspace.path as string;
		expect(fs.existsSync(path.join(worktree, 'pushed.txt'))).toBe(false);
		expect(fs.existsSync(path.join(worktree, 'next.txt'))).toBe(true);
		const logs = (await api(stack.service, 'GET', `/api/v1/sessions/${out.sessionId}/logs`)).body
			.items as Json[];
		expect(logs.find((c) => c.toolUseId === out.pendingApproval.toolUseId)).toMatchObject({
			status: 'denied',
		});
		expect(
			(
				await api(
					stack.service,
					'GET',
					`/api/v1/approvals?sessionId=${out.sessionId}&status=denied`,
				)
			).body.items,
		).toHaveLength(1);
	});

	it('an approval left too long expires as a deny; a forged or stale click is refused and records nothing', async () => {
		const { thread, out } = await startGatedInThread({
			prompt: '[[bash:echo late > late.txt]]',
			tools: 'Bash(echo late *)',
			deciders: ALICE,
			expiresAfterMinutes: 0.05,
		});
		expect(out.status).toBe('waiting_approval');
		const asked = await approvalMessage(out.pendingApproval.id);
		const at = { approvalId: out.pendingApproval.id, messageTs: asked.ts, threadTs: thread.ts };

		const forged = await click(at, { action: 'approve', user: ALICE, secret: 'not-the-secret' });
		expect(forged.status).toBe(401);
		const stale = await click(at, {
			action: 'approve',
			user: ALICE,
			timestamp: Math.floor(Date.now() / 1000) - 600,
		});
		expect(stale.status).toBe(401);
		expect(await approval(out.pendingApproval.id)).toMatchObject({ decidedBy: null, refusals: [] });

		await pollUntil(
			async () =>
				(await approval(out.pendingApproval.id)).status === 'expired' ? true : undefined,
			10_000,
			'the request to expire',
		);
		await click(at, { action: 'approve', user: ALICE });
		const reply = await waitForReply(
			thread.ts,
			/expired at .* without a decision, so the call is denied/,
		);
		expect(reply.text).toMatch(/Last result \(error\)/);
		expect(fs.existsSync(path.join(out.workspace.path, 'late.txt'))).toBe(false);
		expect(await approval(out.pendingApproval.id)).toMatchObject({
			status: 'expired',
			decidedAt: expect.any(String),
		});
		expect(threadReplies(thread.ts).filter((t) => /Approved by/.test(t))).toEqual([]);
	});

	it('asks in the Settings channel when the session has no Slack thread', async () => {
		const out = await startGated({
			prompt: '[[bash:echo solo > solo.txt]]',
			threadKey: `email:solo-${Date.now()}@example.test`,
			tools: 'Bash(echo solo *)',
			deciders: ALICE,
		});
		const asked = await approvalMessage(out.pendingApproval.id);
		expect(asked.call.body.channel).toBe(FALLBACK_CHANNEL);
		expect(asked.call.body.thread_ts ?? '').toBe('');
	});
});

describe('approvals by email', () => {
	const reply = (opts: {
		from: string;
		approvalId: string;
		requestMessageId: string;
		firstLine: string;
		n: number;
	}) =>
		[
			`From: ${opts.from}`,
			`To: ${APPROVALS_MAIL.address}`,
			`Subject: Re: Approval needed: Bash [approval ${opts.approvalId}]`,
			`Message-ID: <reply-${opts.n}-${Date.now()}@example.test>`,
			`In-Reply-To: ${opts.requestMessageId}`,
			`References: <thread-root@example.test> ${opts.requestMessageId}`,
			'Date: Tue, 24 Nov 2026 10:00:00 +0000',
			'',
			opts.firstLine,
			'',
			'On Tue, Claude wrote:',
			'> Reply with "approve" or "deny" on the first line.',
			'',
		].join('\r\n');
	const deliver = (message: string) =>
		imapAppend(
			{
				host: stack.dovecot.host,
				port: stack.dovecot.port,
				user: APPROVALS_MAIL.address,
				password: APPROVALS_MAIL.password,
			},
			message,
		);

	it('emails the request into the thread; a reply that says approve runs the command; unclear, unauthorised and repeated replies change nothing', async () => {
		const out = await startGated({
			prompt: '[[bash:echo mailed > mailed.txt]]',
			threadKey: 'email:thread-root@example.test',
			tools: 'Bash(echo mailed *)',
			deciders: 'alice@example.test',
		});
		expect(out).toMatchObject({
			status: 'waiting_approval',
			pendingApproval: { deciders: ['alice@example.test'] },
		});
		const id = out.pendingApproval.id as string;
		const request = await stack.smtp.waitForMail(
			(m) => m.subject?.includes(`[approval ${id}]`) ?? false,
			RUN_TIMEOUT_MS,
			'the approval email',
		);
		expect(request).toMatchObject({
			envelope: { to: ['alice@example.test'] },
			inReplyTo: '<thread-root@example.test>',
			references: ['<thread-root@example.test>'],
		});
		expect(request.messageId).toMatch(new RegExp(`^<approval\\.${id}@example\\.test>$`));
		expect(request.text).toContain('echo mailed > mailed.txt');
		expect(request.raw).toMatch(/^Reply-To: approvals@example\.test/m);
		await nothingHeld(out.sessionId);

		let n = 0;
		const answered = (what: RegExp) =>
			stack.smtp.waitForMail(
				(m) =>
					m.envelope.to.includes('eve@example.test') || m.envelope.to.includes('alice@example.test')
						? what.test(m.text)
						: false,
				MAIL_TIMEOUT_MS,
				`an answer matching ${what}`,
			);

		await deliver(
			reply({
				from: 'Eve <eve@example.test>',
				approvalId: id,
				requestMessageId: request.messageId!,
				firstLine: 'approve',
				n: ++n,
			}),
		);
		const refused = await answered(/eve@example\.test is not allowed to decide this approval/);
		expect(refused.envelope.to).toEqual(['eve@example.test']);
		await deliver(
			reply({
				from: 'Alice <alice@example.test>',
				approvalId: id,
				requestMessageId: request.messageId!,
				firstLine: 'maybe later?',
				n: ++n,
			}),
		);
		await answered(/Please reply with "approve" or "deny" on the first line/);
		expect(await approval(id)).toMatchObject({ status: 'pending' });

		await deliver(
			reply({
				from: 'Alice <alice@example.test>',
				approvalId: id,
				requestMessageId: request.messageId!,
				firstLine: 'Approve, go ahead.',
				n: ++n,
			}),
		);
		const outcome = await answered(/Approved by alice@example\.test via email/);
		expect(outcome.text).toContain('Done: 1 tool call(s)');
		expect(outcome.inReplyTo).toMatch(/^<reply-3-/);
		expect(fs.readFileSync(path.join(out.workspace.path, 'mailed.txt'), 'utf8')).toBe('mailed\n');
		expect(await approval(id)).toMatchObject({
			status: 'approved',
			decidedBy: 'alice@example.test',
			channel: 'email',
		});

		await deliver(
			reply({
				from: 'Alice <alice@example.test>',
				approvalId: id,
				requestMessageId: request.messageId!,
				firstLine: 'deny',
				n: ++n,
			}),
		);
		await answered(/Already approved by alice@example\.test via email/);
		expect(await runsOf(out.sessionId)).toHaveLength(2);
		// An execution that sent its answer may still be finishing: wait until none is running.
		const executions = await pollUntil(
			async () => {
				const all = await stack.n8n.executions(APPROVAL_WORKFLOW_IDS.email);
				return all.every((e) => e.status !== 'running' && e.status !== 'new') ? all : undefined;
			},
			60_000,
			"the email workflow's executions finished",
		);
		expect(executions.every((e) => e.status === 'success')).toBe(true);
	});

	it('a reply that says deny refuses the command and Claude goes on', async () => {
		const out = await startGated({
			prompt: '[[bash:echo dropped > dropped.txt]] [[bash:echo kept > kept.txt]]',
			threadKey: `email:deny-root-${Date.now()}@example.test`,
			tools: 'Bash(echo dropped *)',
			deciders: 'alice@example.test',
		});
		const id = out.pendingApproval.id as string;
		const request = await stack.smtp.waitForMail(
			(m) => m.subject?.includes(`[approval ${id}]`) ?? false,
			RUN_TIMEOUT_MS,
			'the approval email',
		);
		await deliver(
			reply({
				from: 'alice@example.test',
				approvalId: id,
				requestMessageId: request.messageId!,
				firstLine: 'deny',
				n: 99,
			}),
		);
		const outcome = await stack.smtp.waitForMail(
			(m) => /Denied by alice@example\.test via email/.test(m.text),
			MAIL_TIMEOUT_MS,
			'the deny outcome',
		);
		expect(outcome.text).toContain('Done: 2 tool call(s)');
		expect(fs.existsSync(path.join(out.workspace.path, 'dropped.txt'))).toBe(false);
		expect(fs.existsSync(path.join(out.workspace.path, 'kept.txt'))).toBe(true);
		expect(await approval(id)).toMatchObject({ status: 'denied', channel: 'email' });
	});
});
