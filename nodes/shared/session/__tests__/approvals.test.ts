import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { lastConversation } from '../../../../test/support/claude-fixture';
import { serviceWithClaude } from '../../../../test/support/claude-service';
import { parseApprovalPolicy } from '../approvals';
import type { OrchestratorClient } from '../client';
import { resumeSession, startSession } from '../session-run';
import { sleep } from '../../../../test/support/wait';

// The real claude CLI against the loopback fake API and the real service: a gated call really ends the run
// (PreToolUse answers "defer"), and the resumed run really gets the recorded decision.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

/** The processes whose command line names the session: none once a run stopped to wait for a person. */
function processesOf(sessionId: string): string[] {
	const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
	return out.split('\n').filter((l) => l.includes(sessionId) && !/\bps -eo\b/.test(l));
}

describe(`approvals with the real claude CLI (${kind})`, () => {
	const h = serviceWithClaude(kind, 'orch-approvals');
	const options = (extra: Record<string, unknown> = {}) => h.fx.options(extra);
	const policy = (p: Record<string, unknown>) => ({ approvalPolicy: { policy: p } });
	let n = 0;
	const folder = () => h.fx.folder(`ws-${++n}`);
	const decide = (id: string, decision: 'approve' | 'deny', decidedBy = 'U0ALICE') =>
		h.client.request<any>('POST', `/api/v1/approvals/${id}/decision`, {
			decision,
			decidedBy,
			channel: 'slack',
		});

	/** A first turn in `dir` with Bash allowed and `rules` as its approval policy. */
	const startWithBash = (
		dir: string,
		prompt: string,
		rules: Record<string, unknown>,
		{ threadKey, client = h.client }: { threadKey?: string; client?: OrchestratorClient } = {},
	) =>
		startSession(client, {
			prompt,
			threadKey,
			workspace: { type: 'local', workspacePath: dir },
			options: options({ allowedTools: 'Bash', ...policy(rules) }),
			deps: h.fx.deps,
		});

	/** The next turn once an approval is settled, with Bash allowed as the first turn had it. */
	const resumeWithBash = (sessionId: string) =>
		resumeSession(h.client, {
			sessionId,
			options: options({ allowedTools: 'Bash' }),
			deps: h.fx.deps,
		});

	it('stops a gated call as waiting_approval with nothing running, then an approval runs it and Claude goes on', async () => {
		const dir = folder();
		const prompt =
			'[[bash:echo ok > plain.txt]] [[bash:echo shipped > shipped.txt]] [[bash:echo after > after.txt]]';
		const threadKey = `slack:C0APPROVE:${Date.now()}.000100`;
		const out = await startWithBash(
			dir,
			prompt,
			{ tools: 'Bash(echo shipped *)', deciders: 'U0ALICE, alice@example.com' },
			{ threadKey },
		);
		expect(out).toMatchObject({ status: 'waiting_approval', isError: false, threadKey });
		expect(out.pendingApproval).toMatchObject({
			id: expect.any(String),
			toolName: 'Bash',
			toolInput: { command: 'echo shipped > shipped.txt' },
			toolUseId: expect.stringMatching(/^toolu_/),
			requestedAt: expect.any(String),
			rule: 'Bash(echo shipped *)',
			deciders: ['U0ALICE', 'alice@example.com'],
			threadKey,
		});
		expect(fs.existsSync(path.join(dir, 'plain.txt'))).toBe(true);
		expect(fs.existsSync(path.join(dir, 'shipped.txt'))).toBe(false);
		expect(processesOf(out.sessionId)).toEqual([]);
		const waiting = await h.client.request<any>('GET', `/api/v1/sessions/${out.sessionId}`);
		expect(waiting).toMatchObject({ status: 'waiting_approval', terminalReason: 'tool_deferred' });
		expect(
			(await h.client.request<any>('GET', `/api/v1/sessions/${out.sessionId}/runs`)).items.map(
				(r: any) => r.status,
			),
		).toEqual(['waiting_approval']);
		const requestsBefore = h.fx.fake.requestsFor(out.sessionId).length;

		// A Resume before anyone decided stops again on the same call, without asking the model anything.
		const early = await resumeWithBash(out.sessionId);
		expect(early).toMatchObject({
			status: 'waiting_approval',
			pendingApproval: { id: out.pendingApproval!.id },
		});
		expect(h.fx.fake.requestsFor(out.sessionId).length).toBe(requestsBefore);

		expect((await decide(out.pendingApproval!.id!, 'approve')).changed).toBe(true);
		const resumed = await resumeWithBash(out.sessionId);
		expect(resumed).toMatchObject({
			status: 'completed',
			isError: false,
			result: 'Done: 3 tool call(s). Last result: (Bash completed with no output)',
		});
		expect(resumed.pendingApproval).toBeUndefined();
		expect(fs.readFileSync(path.join(dir, 'shipped.txt'), 'utf8')).toBe('shipped\n');
		expect(fs.readFileSync(path.join(dir, 'after.txt'), 'utf8')).toBe('after\n');
		const logs = await h.client.request<any>('GET', `/api/v1/sessions/${out.sessionId}/logs`);
		expect(logs.items.map((c: any) => c.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
		expect((await h.client.request<any>('GET', `/api/v1/sessions/${out.sessionId}`)).status).toBe(
			'completed',
		);
	});

	it('parallel gated calls: the run waits on one, the others are settled as dropped, and nothing is left pending', async () => {
		const dir = folder();
		const out = await startWithBash(
			dir,
			'[[bash:echo one > one.txt]]+[[bash:echo two > two.txt]]+[[bash:echo free > free.txt]] [[bash:echo after > after.txt]]',
			{ tools: 'Bash(echo one *), Bash(echo two *)' },
		);
		// Claude Code keeps the last deferred call; the ungated one beside them ran.
		expect(out).toMatchObject({
			status: 'waiting_approval',
			pendingApproval: { toolInput: { command: 'echo two > two.txt' } },
		});
		expect(fs.readdirSync(dir)).toEqual(['free.txt']);
		const approvals = async () =>
			(await h.client.request<any>('GET', `/api/v1/approvals?sessionId=${out.sessionId}`)).items;
		const dropped = (await approvals()).find(
			(a: any) => a.toolInput.command === 'echo one > one.txt',
		);
		expect(dropped).toMatchObject({
			status: 'denied',
			decidedBy: 'service',
			channel: 'service',
			note: expect.stringMatching(/dropped from the conversation/),
		});
		expect(
			(await approvals()).filter((a: any) => a.status === 'pending').map((a: any) => a.id),
		).toEqual([out.pendingApproval!.id]);
		// Deciding the dropped one changes nothing; it is already settled.
		expect((await decide(dropped.id, 'approve')).changed).toBe(false);
		const events = (
			await h.client.request<any>('GET', `/api/v1/sessions/${out.sessionId}/events?limit=100`)
		).items;
		expect(
			events
				.filter((e: any) => e.event === 'ApprovalDecided')
				.map((e: any) => e.payload.approval_id),
		).toEqual([dropped.id]);

		await decide(out.pendingApproval!.id!, 'approve');
		const resumed = await resumeWithBash(out.sessionId);
		expect(resumed).toMatchObject({
			status: 'completed',
			result: 'Done: 3 tool call(s). Last result: (Bash completed with no output)',
		});
		expect(fs.readdirSync(dir).sort()).toEqual(['after.txt', 'free.txt', 'two.txt']);
		const logs = (await h.client.request<any>('GET', `/api/v1/sessions/${out.sessionId}/logs`))
			.items;
		expect(logs.map((c: any) => [c.input.command, c.status])).toEqual([
			['echo one > one.txt', 'denied'],
			['echo two > two.txt', 'succeeded'],
			['echo free > free.txt', 'succeeded'],
			['echo after > after.txt', 'succeeded'],
		]);
		expect((await approvals()).filter((a: any) => a.status === 'pending')).toEqual([]);
	});

	it('a denial refuses the call, lists it as denied, and Claude continues', async () => {
		const dir = folder();
		const out = await startWithBash(
			dir,
			'[[bash:echo pushed > pushed.txt]] [[bash:echo next > next.txt]]',
			{ tools: 'Bash(echo pushed *)' },
		);
		expect(out.status).toBe('waiting_approval');
		await decide(out.pendingApproval!.id!, 'deny', 'bob@example.com');
		const resumed = await resumeWithBash(out.sessionId);
		expect(resumed).toMatchObject({
			status: 'completed',
			result: 'Done: 2 tool call(s). Last result: (Bash completed with no output)',
		});
		expect(resumed.permissionDenials).toEqual([
			expect.objectContaining({ tool_name: 'Bash', tool_use_id: out.pendingApproval!.toolUseId }),
		]);
		expect(fs.existsSync(path.join(dir, 'pushed.txt'))).toBe(false);
		expect(fs.existsSync(path.join(dir, 'next.txt'))).toBe(true);
		const logs = await h.client.request<any>('GET', `/api/v1/sessions/${out.sessionId}/logs`);
		expect(logs.items[0]).toMatchObject({
			toolUseId: out.pendingApproval!.toolUseId,
			status: 'denied',
			error: expect.stringMatching(/^Denied by bob@example.com via slack/),
		});
		// The model was told why.
		const lastRequest = lastConversation(h.fx.fake, out.sessionId);
		expect(lastRequest).toContain('Denied by bob@example.com via slack');
	});

	it('an approval nobody decides expires as a deny on the next Resume', async () => {
		const dir = folder();
		const out = await startWithBash(dir, '[[bash:echo late > late.txt]]', {
			tools: 'Bash',
			expiresAfterMinutes: 0.02,
		});
		expect(out.status).toBe('waiting_approval');
		expect(
			Date.parse(out.pendingApproval!.expiresAt!) - Date.parse(out.pendingApproval!.requestedAt!),
		).toBe(1000);
		await sleep(1500);
		const resumed = await resumeWithBash(out.sessionId);
		expect(resumed.status).toBe('completed');
		expect(resumed.result).toMatch(/Last result \(error\): .*request expired/);
		expect(fs.existsSync(path.join(dir, 'late.txt'))).toBe(false);
		expect(
			await h.client.request<any>('GET', `/api/v1/approvals/${out.pendingApproval!.id}`),
		).toMatchObject({ status: 'expired' });
	});

	it('fails closed: with the service out of reach of the hooks, a gated session runs no tool', async () => {
		const dir = folder();
		// The API calls reach the service; the hooks claude sends go to a closed port.
		const blind = { ...h.client, baseUrl: 'http://127.0.0.1:9' };
		const out = await startWithBash(
			dir,
			'[[bash:echo shipped > shipped.txt]]',
			{ tools: 'Bash(echo shipped *)' },
			{ client: blind },
		);
		expect(out.status).toBe('completed');
		expect(fs.existsSync(path.join(dir, 'shipped.txt'))).toBe(false);
		expect(out.result).toMatch(/blocking because onFailure is "block"|hook error/i);
	});

	it('gates anything outside the allowed tools, and a Resume keeps the stored policy', async () => {
		const dir = folder();
		const out = await startSession(h.client, {
			prompt: '[[bash:ls]] [[write:new.txt::hello]]',
			workspace: { type: 'local', workspacePath: dir },
			options: options({ allowedTools: 'Bash(ls *)', ...policy({ outsideAllowedTools: true }) }),
			deps: h.fx.deps,
		});
		expect(out).toMatchObject({
			status: 'waiting_approval',
			pendingApproval: { toolName: 'Write', rule: 'outside allowed tools' },
		});
		await decide(out.pendingApproval!.id!, 'approve');
		const resumed = await resumeSession(h.client, {
			sessionId: out.sessionId,
			options: options(),
			deps: h.fx.deps,
		});
		expect(resumed.status).toBe('completed');
		expect(fs.readFileSync(path.join(dir, 'new.txt'), 'utf8')).toBe('hello');
		// A later turn is still under the policy.
		const again = await resumeSession(h.client, {
			sessionId: out.sessionId,
			prompt: '[[write:other.txt::x]]',
			options: options(),
			deps: h.fx.deps,
		});
		expect(again).toMatchObject({
			status: 'waiting_approval',
			pendingApproval: { toolName: 'Write' },
		});
	});

	it('reads the option from the node or from JSON, and says what is wrong with a bad rule', async () => {
		expect(
			parseApprovalPolicy(
				{
					policy: {
						tools: 'Bash(git push *), Write',
						deciders: 'U1\nbob@example.com',
						expiresAfterMinutes: 30,
					},
				},
				undefined,
			),
		).toEqual({
			rules: ['Bash(git push *)', 'Write'],
			outsideAllowedTools: false,
			allowedTools: [],
			deciders: ['U1', 'bob@example.com'],
			expiresInSeconds: 1800,
		});
		expect(
			parseApprovalPolicy('{"rules":["Bash"],"outsideAllowedTools":true}', 'Read, Bash(ls *)'),
		).toMatchObject({ allowedTools: ['Read', 'Bash(ls *)'] });
		expect(parseApprovalPolicy({}, undefined)).toBeUndefined();
		expect(
			parseApprovalPolicy({ policy: { tools: '', deciders: 'U1' } }, undefined),
		).toBeUndefined();
		expect(() => parseApprovalPolicy('{nope', undefined)).toThrow(
			/Approval Policy: not valid JSON/,
		);
		await expect(
			startSession(h.client, {
				prompt: 'x',
				workspace: { type: 'local', workspacePath: folder() },
				options: options(policy({ tools: 'Bash(git push *' })),
				deps: h.fx.deps,
			}),
		).rejects.toThrow(/Invalid Approval Policy: .*rules\.0: .*does not end with/);
	});
});
