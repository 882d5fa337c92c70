import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
	resumeTurn,
	serviceWithClaude,
	startWorktreeTurn,
	succeededCalls,
} from '../../../../test/support/claude-service';
import { toolCalls } from '../../../../test/support/claude-fixture';
import { waitUntil } from '../../../../test/support/wait';
import { git } from '../../../../test/support/git';
import { claudePidFor } from '../../../../test/support/claude-pid';

// The claude process dies mid-run from outside (the OOM killer, an operator's kill -9): no result line, no
// SessionEnd hook. The session must end as failed with the reason, and its worktree must be left as it was:
// the files and the branch there, nothing removed, and Resume able to continue in it.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`claude killed mid-run (${kind})`, () => {
	const h = serviceWithClaude(kind, 'orch-killed');

	it('ends the session as failed with the reason and leaves the worktree intact', async () => {
		const { client } = h;
		const sessionId = crypto.randomUUID();
		const { repo, run } = startWorktreeTurn(
			h,
			sessionId,
			'[[bash:echo before > before.txt]] [[write:notes.md::work in progress]] [[delay:30000]] [[bash:echo after > after.txt]]',
		);
		// Both tool calls done: claude now waits for the (slow) next model answer.
		expect(await succeededCalls(client, sessionId, 2)).toBe(true);
		const pid = await waitUntil(() => claudePidFor(sessionId), 10_000);
		expect(pid).toBeDefined();
		process.kill(pid!, 'SIGKILL');

		const out = await run;
		expect(out).toMatchObject({
			sessionId,
			status: 'failed',
			isError: true,
			workspace: { type: 'worktree' },
		});
		expect(out.errorMessage).toMatch(/claude was killed by SIGKILL without printing a result line/);

		const stored = await client.request<any>('GET', `/api/v1/sessions/${sessionId}`);
		expect(stored).toMatchObject({
			status: 'failed',
			isError: true,
			errorMessage: out.errorMessage,
			runCount: 1,
		});
		expect(stored.endedAt).toEqual(expect.any(String));
		const calls = await toolCalls(client, sessionId);
		expect(calls.map((c) => [c.tool, c.status])).toEqual([
			['Bash', 'succeeded'],
			['Write', 'succeeded'],
		]);
		// The lease is released: nothing holds the session any more.
		const lease = await client.request<{ owner: string }>(
			'POST',
			`/api/v1/sessions/${sessionId}/lease`,
			{ owner: 'probe', ttlSeconds: 5 },
		);
		expect(lease.owner).toBe('probe');
		await client.request('DELETE', `/api/v1/sessions/${sessionId}/lease`, undefined, {
			owner: 'probe',
		});

		// The worktree is as the killed run left it: its files, its branch, git's record of it.
		const wt = out.workspace.path;
		expect(fs.readFileSync(path.join(wt, 'before.txt'), 'utf8')).toBe('before\n');
		expect(fs.readFileSync(path.join(wt, 'notes.md'), 'utf8')).toBe('work in progress');
		expect(fs.existsSync(path.join(wt, 'after.txt'))).toBe(false);
		expect(git(wt, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(out.workspace.branch);
		expect(git(wt, 'status', '--porcelain').split('\n').sort()).toEqual([
			'?? before.txt',
			'?? notes.md',
		]);
		expect(git(repo.path, 'worktree', 'list', '--porcelain')).toContain(`worktree ${wt}`);
		expect(claudePidFor(sessionId)).toBeUndefined();

		// And the session goes on from there.
		const resumed = await resumeTurn(
			h,
			sessionId,
			'[[read:notes.md]] [[bash:echo again > after.txt]]',
		);
		expect(resumed).toMatchObject({ status: 'completed', workspace: { path: wt } });
		expect(fs.readFileSync(path.join(wt, 'after.txt'), 'utf8')).toBe('again\n');
		expect((await client.request<any>('GET', `/api/v1/sessions/${sessionId}`)).runCount).toBe(2);
	}, 120_000);
});
