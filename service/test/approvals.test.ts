import crypto from 'node:crypto';
import { TriggerReceiver } from '../../test/support/trigger-receiver';
import { waitFor, sleep } from '../../test/support/wait';
import { createHookAnswerer } from '../src/approvals/hook-answer';
import type { Database } from '../src/db';
import type { HookEvent } from '../src/hooks/hook-event';
import {
	api,
	DATABASE_KINDS,
	startTestService,
	type TestService,
} from '../../test/support/test-service';

type Json = Record<string, any>;

const DEFER = { hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'defer' } };

describe.each(DATABASE_KINDS)('approvals (%s)', (kind) => {
	let svc: TestService;
	const receivers: TriggerReceiver[] = [];
	beforeAll(async () => {
		// The expiry sweep is off here, so the lazy path (a read, a click, a resume) is what is tested; it has its own suite.
		svc = await startTestService(kind, {
			DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
			DELIVERY_POLL_INTERVAL_MS: '50',
			APPROVAL_SWEEP_MS: '0',
		});
	});
	afterAll(async () => {
		await Promise.all(receivers.map((r) => r.stop()));
		await svc?.stop();
	});

	/** A session as Claude Session Start makes it, with a policy and a Slack thread. */
	async function session(policy?: Json) {
		const id = crypto.randomUUID();
		const threadKey = `slack:C0APPROVE:${Date.now()}.${crypto.randomInt(100000, 999999)}`;
		expect(
			(
				await api(svc, 'POST', '/api/v1/sessions', {
					id,
					workspaceType: 'local',
					workspacePath: '/srv/repo',
					threadKey,
				})
			).status,
		).toBe(201);
		if (policy)
			expect((await api(svc, 'PUT', `/api/v1/sessions/${id}/approval-policy`, policy)).status).toBe(
				200,
			);
		const { hookToken } = (await api(svc, 'POST', `/api/v1/sessions/${id}/hook-token`)).body;
		return { id, threadKey, hook: { Authorization: `Bearer ${hookToken}` } };
	}
	const preToolUse = (
		sessionId: string,
		command: string,
		toolUseId = `toolu_${crypto.randomBytes(8).toString('hex')}`,
	) => ({
		session_id: sessionId,
		hook_event_name: 'PreToolUse',
		cwd: '/srv/repo',
		tool_name: 'Bash',
		tool_input: { command, description: 'test' },
		tool_use_id: toolUseId,
	});
	/** What Claude Code does: POST the event with the session's hook token (gated sessions mark the URL). */
	const hook = (
		s: { hook: Record<string, string> },
		payload: Json,
		query = '?approvals=required',
	) => api(svc, 'POST', `/api/v1/hooks${query}`, payload, s.hook);
	/** A decision with the API key, unless other `headers` are given. */
	const decide = (id: string, body: Json, headers?: Record<string, string>) =>
		api(svc, 'POST', `/api/v1/approvals/${id}/decision`, body, headers);
	const decideAs = (id: string, decision: string, decidedBy: string, channel: string) =>
		decide(id, { decision, decidedBy, channel });
	/** The session's ApprovalDecided events, oldest first. */
	const decidedOf = async (sessionId: string) =>
		(await api(svc, 'GET', `/api/v1/sessions/${sessionId}/events?limit=100`)).body.items.filter(
			(e: Json) => e.event === 'ApprovalDecided',
		) as Json[];
	const approvalsOf = async (sessionId: string) =>
		(await api(svc, 'GET', `/api/v1/approvals?sessionId=${sessionId}`)).body.items as Json[];

	/** A session under `policy` whose PreToolUse of `command` was gated: the session, the call and its approval. */
	const gatedCall = async (policy: Json, command: string) => {
		const s = await session(policy);
		const gated = preToolUse(s.id, command);
		await hook(s, gated);
		const [a] = await approvalsOf(s.id);
		return { s, gated, a };
	};

	it('keeps and checks the policy a session runs under', async () => {
		const s = await session();
		const put = await api(svc, 'PUT', `/api/v1/sessions/${s.id}/approval-policy`, {
			rules: ['Bash(git push *)'],
			deciders: ['<@u0alice>', 'Bob <BOB@example.com>'],
		});
		expect(put.body).toEqual({
			rules: ['Bash(git push *)'],
			outsideAllowedTools: false,
			allowedTools: [],
			deciders: ['U0ALICE', 'bob@example.com'],
		});
		expect(
			(await api(svc, 'GET', `/api/v1/sessions/${s.id}/approval-policy`)).body.deciders,
		).toEqual(['U0ALICE', 'bob@example.com']);
		const bad = await api(svc, 'PUT', `/api/v1/sessions/${s.id}/approval-policy`, {
			rules: ['Bash(git push *'],
		});
		expect(bad.status).toBe(400);
		expect(bad.body.message).toMatch(
			/rules\.0: rules: "Bash\(git push \*" opens "\(" but does not end with "\)"/,
		);
		expect(
			(
				await api(svc, 'PUT', `/api/v1/sessions/${crypto.randomUUID()}/approval-policy`, {
					rules: ['Bash'],
				})
			).status,
		).toBe(404);
		expect((await api(svc, 'DELETE', `/api/v1/sessions/${s.id}/approval-policy`)).status).toBe(204);
		expect((await api(svc, 'GET', `/api/v1/sessions/${s.id}/approval-policy`)).status).toBe(404);
	});

	it('defers a gated call and records it as pending; everything else gets {}', async () => {
		const s = await session({ rules: ['Bash(git push *)'], deciders: ['U0ALICE'] });
		const other = await hook(s, preToolUse(s.id, 'git status'));
		expect(other).toMatchObject({ status: 200, body: {} });
		expect(
			(await hook(s, { session_id: s.id, hook_event_name: 'UserPromptSubmit', prompt: 'push it' }))
				.body,
		).toEqual({});

		const gated = preToolUse(s.id, 'git push origin main');
		const res = await hook(s, gated);
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject(DEFER);
		expect(res.body.hookSpecificOutput.permissionDecisionReason).toMatch(
			/Waiting for a person to approve Bash \(Bash\(git push \*\)\)/,
		);

		const [pending, ...more] = await approvalsOf(s.id);
		expect(more).toEqual([]);
		expect(pending).toMatchObject({
			sessionId: s.id,
			toolUseId: gated.tool_use_id,
			toolName: 'Bash',
			toolInput: gated.tool_input,
			rule: 'Bash(git push *)',
			threadKey: s.threadKey,
			deciders: ['U0ALICE'],
			status: 'pending',
			decidedBy: null,
		});
		expect(Date.parse(pending.requestedAt)).toBeLessThanOrEqual(Date.now());
		expect(Date.parse(pending.expiresAt) - Date.parse(pending.requestedAt)).toBeGreaterThan(
			23 * 3600_000,
		);
		expect(
			(await api(svc, 'GET', '/api/v1/approvals?status=pending')).body.items.map((a: Json) => a.id),
		).toContain(pending.id);

		// The resumed run asks again before anyone decided: defer again, still one request.
		expect((await hook(s, gated)).body).toMatchObject(DEFER);
		expect(await approvalsOf(s.id)).toHaveLength(1);
		const events = (await api(svc, 'GET', `/api/v1/sessions/${s.id}/events?limit=100`)).body
			.items as Json[];
		const requested = events.filter((e) => e.event === 'ApprovalRequested');
		expect(requested).toHaveLength(1);
		expect(requested[0].payload).toMatchObject({
			source: 'service',
			approval_id: pending.id,
			tool_use_id: gated.tool_use_id,
			thread_key: s.threadKey,
		});
	});

	it('records a decision once: the second click changes nothing; the resumed PreToolUse is allowed', async () => {
		const { s, gated, a } = await gatedCall(
			{ rules: ['Bash(git push *)'], deciders: ['U0ALICE', 'U0BOB'] },
			'git push origin main',
		);

		const first = await decideAs(a.id, 'approve', 'U0ALICE', 'slack');
		expect(first.status).toBe(200);
		expect(first.body).toMatchObject({
			changed: true,
			message: 'Approved by U0ALICE via slack: Bash (Bash(git push *)).',
			approval: { status: 'approved', decidedBy: 'U0ALICE', channel: 'slack' },
		});
		const again = await decideAs(a.id, 'approve', 'U0ALICE', 'slack');
		expect(again.body).toMatchObject({
			changed: false,
			approval: {
				status: 'approved',
				decidedBy: 'U0ALICE',
				decidedAt: first.body.approval.decidedAt,
			},
		});
		expect(again.body.message).toMatch(
			/^Already approved by U0ALICE via slack at .*; this decision changed nothing\.$/,
		);
		const late = await decideAs(a.id, 'deny', 'U0BOB', 'slack');
		expect(late.body).toMatchObject({
			changed: false,
			approval: { status: 'approved', decidedBy: 'U0ALICE' },
		});

		const resumed = await hook(s, gated);
		expect(resumed.body.hookSpecificOutput).toMatchObject({ permissionDecision: 'allow' });
		expect(resumed.body.hookSpecificOutput.permissionDecisionReason).toMatch(
			/^Approved by U0ALICE via slack at /,
		);
		const decided = await decidedOf(s.id);
		expect(decided.map((e: Json) => [e.payload.status, e.payload.decided_by])).toEqual([
			['approved', 'U0ALICE'],
		]);
	});

	it('refuses a person the policy does not name, tells them so, and keeps the attempt', async () => {
		const { a } = await gatedCall(
			{ rules: ['Bash'], deciders: ['U0ALICE', 'alice@example.com'] },
			'rm -rf build',
		);
		const eve = await decideAs(a.id, 'approve', 'U0EVE', 'slack');
		expect(eve.status).toBe(403);
		expect(eve.body.message).toBe(
			"U0EVE is not allowed to decide this approval; only the people named in the session's approval policy can.",
		);
		const byMail = await decideAs(a.id, 'deny', 'Alice <ALICE@example.com>', 'email');
		expect(byMail.body).toMatchObject({
			changed: true,
			approval: { status: 'denied', decidedBy: 'Alice <ALICE@example.com>' },
		});
		const stored = (await api(svc, 'GET', `/api/v1/approvals/${a.id}`)).body;
		expect(stored.refusals).toEqual([{ by: 'U0EVE', channel: 'slack', at: expect.any(String) }]);
		expect((await decideAs(a.id, 'approve', 'U0EVE', 'slack')).status).toBe(403);
	});

	it('denies the resumed call and lists it as denied', async () => {
		const { s, gated, a } = await gatedCall({ rules: ['Bash(git push *)'] }, 'git push --force');
		const denied = await decide(a.id, {
			decision: 'deny',
			decidedBy: 'someone@example.com',
			channel: 'email',
			note: 'not on Fridays',
		});
		expect(denied.body).toMatchObject({
			changed: true,
			message: 'Denied by someone@example.com via email: Bash (Bash(git push *)).',
		});
		const resumed = await hook(s, gated);
		expect(resumed.body.hookSpecificOutput).toMatchObject({ permissionDecision: 'deny' });
		expect(resumed.body.hookSpecificOutput.permissionDecisionReason).toMatch(
			/^Denied by someone@example.com via email at .*: not on Fridays Do not retry this call\.$/,
		);
		const logs = (await api(svc, 'GET', `/api/v1/sessions/${s.id}/logs`)).body.items as Json[];
		expect(logs.find((c) => c.toolUseId === gated.tool_use_id)).toMatchObject({
			status: 'denied',
			error: expect.stringMatching(/^Denied by/),
		});
		expect(
			(await api(svc, 'GET', `/api/v1/approvals?sessionId=${s.id}&status=denied`)).body.items,
		).toHaveLength(1);
	});

	it('expires an undecided request as a deny, applied lazily by a read, a decision or the resume', async () => {
		const s = await session({ rules: ['Bash'], expiresInSeconds: 1 });
		const first = preToolUse(s.id, 'make deploy');
		const second = preToolUse(s.id, 'make clean');
		await hook(s, first);
		await hook(s, second);
		await sleep(1200);
		const [b, a] = await approvalsOf(s.id);
		expect([a.status, b.status]).toEqual(['expired', 'expired']);
		expect(
			(await api(svc, 'GET', `/api/v1/approvals?sessionId=${s.id}&status=pending`)).body.items,
		).toEqual([]);

		// A click after the deadline settles it as expired (the workflow then resumes, and Claude hears "no").
		const click = await decideAs(a.id, 'approve', 'U0ALICE', 'slack');
		expect(click.body).toMatchObject({
			changed: true,
			approval: { status: 'expired', decidedBy: null },
		});
		expect(click.body.message).toMatch(
			/^The approval request for Bash expired at .* without a decision, so the call is denied\.$/,
		);
		expect((await decideAs(a.id, 'approve', 'U0ALICE', 'slack')).body.changed).toBe(false);
		expect((await hook(s, first)).body.hookSpecificOutput).toMatchObject({
			permissionDecision: 'deny',
			permissionDecisionReason: expect.stringMatching(/expired/),
		});

		// The other one is written down by the resume itself.
		const resumed = await hook(s, second);
		expect(resumed.body.hookSpecificOutput).toMatchObject({ permissionDecision: 'deny' });
		expect((await api(svc, 'GET', `/api/v1/approvals/${b.id}`)).body).toMatchObject({
			status: 'expired',
			decidedAt: expect.any(String),
		});
		const decided = await decidedOf(s.id);
		expect(decided.map((e: Json) => e.payload.status)).toEqual(['expired', 'expired']);
	});

	it('gates anything outside the allowed tools when the policy says so', async () => {
		const s = await session({ outsideAllowedTools: true, allowedTools: ['Read', 'Bash(ls *)'] });
		expect((await hook(s, preToolUse(s.id, 'ls -la'))).body).toEqual({});
		expect((await hook(s, preToolUse(s.id, 'ls && curl https://example.com'))).body).toMatchObject(
			DEFER,
		);
		const [a] = await approvalsOf(s.id);
		expect(a.rule).toBe('outside allowed tools');
	});

	it('fires "Approval requested" Hook Trigger deliveries with the approval in the payload', async () => {
		const r = new TriggerReceiver();
		receivers.push(r);
		await r.start();
		const sub = await api(svc, 'POST', '/api/v1/subscriptions', {
			url: r.url,
			events: ['ApprovalRequested'],
		});
		r.staticData = { subscriptionId: sub.body.id, secret: sub.body.secret };
		const s = await session({ rules: ['Bash(git push *)'], deciders: ['U0ALICE'] });
		await hook(s, preToolUse(s.id, 'git status'));
		await hook(s, preToolUse(s.id, 'git push origin main'));
		expect(await waitFor(() => r.emitted.some((e) => e.sessionId === s.id), 10_000)).toBe(true);
		const mine = r.emitted.filter((e) => e.sessionId === s.id);
		expect(mine).toHaveLength(1);
		const [a] = await approvalsOf(s.id);
		expect(mine[0]).toMatchObject({
			event: 'ApprovalRequested',
			source: 'service',
			toolName: 'Bash',
			toolInput: { command: 'git push origin main' },
			session: { threadKey: s.threadKey },
			payload: {
				approval_id: a.id,
				rule: 'Bash(git push *)',
				deciders: ['U0ALICE'],
				decision_path: `/api/v1/approvals/${a.id}/decision`,
			},
		});
	});

	it('lets only the API key decide: a hook token is refused, and cannot gate another session', async () => {
		const { s, a } = await gatedCall({ rules: ['Bash'] }, 'make');
		expect((await decide(a.id, { decision: 'approve', decidedBy: 'U1' }, s.hook)).status).toBe(403);
		expect((await decide(a.id, { decision: 'approve', decidedBy: 'U1' }, {})).status).toBe(401);
		expect((await decide(a.id, { decision: 'maybe', decidedBy: 'U1' })).body.message).toMatch(
			/decision must be "approve" or "deny"/,
		);
		expect(
			(await decide(crypto.randomUUID(), { decision: 'approve', decidedBy: 'U1' })).status,
		).toBe(404);
		// Another session's hook token cannot make this session's calls wait (or go).
		const other = await session({ rules: ['Bash'] });
		expect((await hook(other, preToolUse(s.id, 'make again'))).status).toBe(403);
		expect(await approvalsOf(s.id)).toHaveLength(1);
	});

	it('answers ungated PreToolUse and other events with {} as before, without asking anyone', async () => {
		const s = await session();
		for (let i = 0; i < 20; i++)
			expect((await hook(s, preToolUse(s.id, `echo ${i}`), '')).body).toEqual({});
		expect(await approvalsOf(s.id)).toEqual([]);
	});
});

describe('the PreToolUse answer when the database does not answer in time', () => {
	const stuck = {
		kind: 'pglite',
		query: () => new Promise(() => undefined),
		transaction: () => new Promise(() => undefined),
	} as unknown as Database;
	const event: HookEvent = {
		sessionId: crypto.randomUUID(),
		eventName: 'PreToolUse',
		toolName: 'Bash',
		toolUseId: 'toolu_1',
		payload: { tool_input: { command: 'git push' } },
		raw: '{"tool_input":{"command":"git push"}}',
		hash: 'h',
		truncated: false,
		receivedAt: new Date().toISOString(),
	};
	const answer = createHookAnswerer(stuck, { ttlMs: 60_000, timeoutMs: 50 });

	it('refuses the call of a gated session (the CLI would run it after its hook timeout)', async () => {
		const out = await answer(event, { toolInput: { command: 'git push' }, required: true });
		expect(out).toMatchObject({
			hookSpecificOutput: {
				permissionDecision: 'deny',
				permissionDecisionReason: expect.stringMatching(/could not check/),
			},
		});
	});

	it('lets an ungated session carry on', async () => {
		expect(await answer(event, { toolInput: {}, required: false })).toBeUndefined();
		expect(
			await answer({ ...event, eventName: 'PostToolUse' }, { toolInput: {}, required: true }),
		).toBeUndefined();
	});
});

describe.each(DATABASE_KINDS)('approval expiry sweep (%s)', (kind) => {
	let svc: TestService;
	beforeAll(async () => {
		svc = await startTestService(kind, { APPROVAL_SWEEP_MS: '100' });
	});
	afterAll(() => svc?.stop());

	it('settles an overdue request as expired on its own, once: Approval Decided fires and the call is marked not run', async () => {
		const id = crypto.randomUUID();
		await api(svc, 'POST', '/api/v1/sessions', {
			id,
			workspaceType: 'local',
			workspacePath: '/srv/repo',
		});
		await api(svc, 'PUT', `/api/v1/sessions/${id}/approval-policy`, {
			rules: ['Bash'],
			expiresInSeconds: 1,
		});
		const pre = {
			session_id: id,
			hook_event_name: 'PreToolUse',
			tool_name: 'Bash',
			tool_input: { command: 'make deploy' },
			tool_use_id: 'toolu_late',
		};
		expect((await api(svc, 'POST', '/api/v1/hooks', pre)).body).toMatchObject(DEFER);
		const decidedEvents = async () =>
			(await api(svc, 'GET', `/api/v1/sessions/${id}/events?limit=100`)).body.items.filter(
				(e: Json) => e.event === 'ApprovalDecided',
			);

		expect(await waitFor(async () => (await decidedEvents()).length > 0, 5000)).toBe(true);
		const [event] = await decidedEvents();
		expect(event.payload).toMatchObject({
			status: 'expired',
			tool_use_id: 'toolu_late',
			decided_at: expect.any(String),
		});
		const [call] = (await api(svc, 'GET', `/api/v1/sessions/${id}/logs`)).body.items;
		expect(call).toMatchObject({
			toolUseId: 'toolu_late',
			status: 'denied',
			error: expect.stringMatching(/expired at .*, so it was not run/),
		});

		// The resumed run hears "no"; nothing is settled twice.
		expect((await api(svc, 'POST', '/api/v1/hooks', pre)).body.hookSpecificOutput).toMatchObject({
			permissionDecision: 'deny',
		});
		await sleep(300);
		expect(await decidedEvents()).toHaveLength(1);
	});
});
