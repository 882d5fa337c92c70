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
import { claudePidFor, groupAlive } from '../../../../test/support/claude-pid';

// A person stops a turn while it runs (POST /api/v1/sessions/:id/stop): the runner holding the lease hears of it
// through its long poll, SIGINTs claude (which still prints its result and cost), and the run and the session
// end `stopped` with that cost. The real claude against the fake API, a real service.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`stopping a running turn (${kind})`, () => {
	const h = serviceWithClaude(kind, 'orch-stop');

	it('ends the run as stopped with its cost, its process group gone, and no tool call after the request', async () => {
		const { client } = h;
		const sessionId = crypto.randomUUID();
		const { run } = startWorktreeTurn(
			h,
			sessionId,
			'long job [[bash:echo one > one.txt]] [[delay:60000]] [[bash:echo two > two.txt]]',
		);
		// The first call is done; claude waits for the (slow) next model answer.
		expect(await succeededCalls(client, sessionId, 1)).toBe(true);
		const pid = await waitUntil(() => claudePidFor(sessionId), 10_000);
		expect(pid).toBeDefined();

		const asked = Date.now();
		const stop = await client.request<any>('POST', `/api/v1/sessions/${sessionId}/stop`, {
			requestedBy: 'U0ALICE',
			channel: 'slack',
			waitSeconds: 30,
		});
		const tookMs = Date.now() - asked;
		process.stdout.write(`stop answered with the run's end ${tookMs} ms after it was asked\n`);
		expect(groupAlive(pid!)).toBe(false);
		expect(stop).toMatchObject({
			sessionId,
			status: 'stopped',
			requestedBy: 'U0ALICE',
			channel: 'slack',
			run: { status: 'stopped', toolCalls: 1 },
		});
		expect(stop.run.costUsd).toBeGreaterThan(0);

		const out = await run;
		expect(out).toMatchObject({
			sessionId,
			status: 'stopped',
			isError: false,
			stoppedBy: { requestedBy: 'U0ALICE', channel: 'slack' },
		});
		expect(out.costUsd).toBe(stop.run.costUsd);
		expect(out.errorMessage).toMatch(/^Stopped by U0ALICE from slack at /);
		const stored = await client.request<any>('GET', `/api/v1/sessions/${sessionId}`);
		expect(stored).toMatchObject({ status: 'stopped', isError: false, costUsd: out.costUsd });
		expect((await toolCalls(client, sessionId)).map((c) => [c.tool, c.status])).toEqual([
			['Bash', 'succeeded'],
		]);
		expect(fs.existsSync(path.join(out.workspace.path, 'one.txt'))).toBe(true);
		expect(fs.existsSync(path.join(out.workspace.path, 'two.txt'))).toBe(false);
		expect(claudePidFor(sessionId)).toBeUndefined();

		// Nothing holds the session: the next turn runs, continuing the conversation.
		const next = await resumeTurn(h, sessionId, 'carry on [[text:carried on]]');
		expect(next).toMatchObject({ status: 'completed', result: 'carried on' });
		const again = await client
			.request<any>('POST', `/api/v1/sessions/${sessionId}/stop`, {
				requestedBy: 'U0ALICE',
				channel: 'slack',
			})
			.catch((e: { status?: number }) => e);
		expect(again.status).toBe(409);
	}, 180_000);
});
