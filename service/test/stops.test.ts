import crypto from 'node:crypto';
import { newSession, startRun, serviceWithTrigger } from '../../test/support/service-sessions';
import { waitFor } from '../../test/support/wait';
import { api, DATABASE_KINDS } from '../../test/support/test-service';

const ENV = { DELIVERY_ALLOWED_HOSTS: '127.0.0.1', DELIVERY_POLL_INTERVAL_MS: '50' };
const WHO = { requestedBy: 'U0ALICE', channel: 'slack' };

describe.each(DATABASE_KINDS)('stopping a running turn (%s)', (kind) => {
	// The Hook Trigger's "Session finished" preset.
	const t = serviceWithTrigger(kind, ENV, ['Stop', 'SessionEnd', 'StopFailure']);

	const session = () => newSession(t.svc, { status: 'running' });
	/** A session whose run holds the lease as `owner`, with its hook token, as the runner leaves it when claude starts. */
	async function running(owner = `worker:1:${crypto.randomUUID()}`) {
		const id = await session();
		expect((await api(t.svc, 'POST', `/api/v1/sessions/${id}/lease`, { owner })).status).toBe(200);
		const { hookToken } = (await api(t.svc, 'POST', `/api/v1/sessions/${id}/hook-token`, {})).body;
		const runId = await startRun(t.svc, id);
		return { id, owner, runId, hookToken: hookToken as string };
	}
	/** The run holding the lease as `owner` ends it, as the runner does when claude exits. */
	const release = (id: string, owner: string) =>
		api(t.svc, 'DELETE', `/api/v1/sessions/${id}/lease?owner=${encodeURIComponent(owner)}`);
	const hook = (id: string, token: string, event: string, extra: Record<string, unknown> = {}) =>
		api(
			t.svc,
			'POST',
			'/api/v1/hooks',
			{ session_id: id, hook_event_name: event, ...extra },
			{ Authorization: `Bearer ${token}` },
		);
	const preToolUse = (id: string, token: string) =>
		hook(id, token, 'PreToolUse', {
			tool_name: 'Bash',
			tool_input: { command: 'echo hi' },
			tool_use_id: `toolu_${crypto.randomUUID().slice(0, 8)}`,
		});

	it('refuses bad requests with a 4xx that says what is wrong', async () => {
		const id = await session();
		expect(
			(await api(t.svc, 'POST', `/api/v1/sessions/${crypto.randomUUID()}/stop`, WHO)).status,
		).toBe(404);
		for (const body of [
			{},
			{ requestedBy: 'a' },
			{ ...WHO, requestedBy: '  ' },
			{ ...WHO, extra: 1 },
			{ ...WHO, waitSeconds: 61 },
			{ ...WHO, channel: 'x'.repeat(101) },
			// The reason travels in a NOTIFY, which holds 8,000 bytes.
			{ ...WHO, reason: '\u0001'.repeat(501) },
		]) {
			const res = await api(t.svc, 'POST', `/api/v1/sessions/${id}/stop`, body);
			expect(res.status).toBe(400);
		}
		expect((await api(t.svc, 'POST', `/api/v1/sessions/not-a-uuid/stop`, WHO)).status).toBe(400);
		expect((await api(t.svc, 'GET', `/api/v1/sessions/${id}/stop`)).status).toBe(400);
		// A NUL cannot be stored: the owner is read as text PostgreSQL takes (no database error), and holds nothing.
		const nul = await api(t.svc, 'GET', `/api/v1/sessions/${id}/stop?owner=a%00b`);
		expect([nul.status, nul.body]).toEqual([200, { stop: null, leaseHeld: false }]);
		expect(
			(
				await api(t.svc, 'POST', `/api/v1/sessions/${id}/stop`, WHO, {
					Authorization: 'Bearer nope',
				})
			).status,
		).toBe(401);
	});

	it('answers 409 when no turn runs: there is nothing to stop', async () => {
		const id = await session();
		const res = await api(t.svc, 'POST', `/api/v1/sessions/${id}/stop`, WHO);
		expect(res.status).toBe(409);
		expect(res.body).toMatchObject({
			error: 'not_running',
			message: expect.stringContaining('nothing to stop'),
		});
	});

	it("wakes the runner's long poll, answers its hooks with continue:false, and tells its lease renewals", async () => {
		const { id, owner, hookToken } = await running();
		expect((await preToolUse(id, hookToken)).body).toEqual({});

		// The runner's long poll, waiting when the stop comes.
		const poll = api(
			t.svc,
			'GET',
			`/api/v1/sessions/${id}/stop?owner=${encodeURIComponent(owner)}&waitSeconds=20`,
		);
		const asked = Date.now();
		const res = await api(t.svc, 'POST', `/api/v1/sessions/${id}/stop`, {
			...WHO,
			reason: 'wrong direction',
		});
		expect(res.status).toBe(202);
		expect(res.body).toMatchObject({
			sessionId: id,
			status: 'stopping',
			requestedBy: 'U0ALICE',
			channel: 'slack',
			alreadyRequested: false,
		});
		const heard = await poll;
		process.stdout.write(
			`stop heard by the long poll ${Date.now() - asked} ms after it was asked (${kind})\n`,
		);
		expect(heard.status).toBe(200);
		expect(heard.body.stop).toMatchObject({
			requestedBy: 'U0ALICE',
			channel: 'slack',
			reason: 'wrong direction',
		});

		const pre = await preToolUse(id, hookToken);
		expect(pre.body).toEqual({
			continue: false,
			stopReason: 'Stopped by U0ALICE from slack: wrong direction. Do not start anything new.',
			hookSpecificOutput: {
				hookEventName: 'PreToolUse',
				permissionDecision: 'deny',
				permissionDecisionReason: expect.stringContaining('Stopped by U0ALICE'),
			},
		});
		expect(
			(
				await hook(id, hookToken, 'PostToolUse', {
					tool_name: 'Bash',
					tool_use_id: 'toolu_x',
					tool_response: {},
				})
			).body,
		).toEqual({
			continue: false,
			stopReason: expect.stringContaining('Stopped by U0ALICE'),
		});
		const renewed = await api(t.svc, 'POST', `/api/v1/sessions/${id}/lease`, { owner });
		expect(renewed.body.stop).toMatchObject({ requestedBy: 'U0ALICE' });
		// The same stop asked again is the first one.
		const again = await api(t.svc, 'POST', `/api/v1/sessions/${id}/stop`, {
			requestedBy: 'bob@example.test',
			channel: 'email',
		});
		expect(again.status).toBe(202);
		expect(again.body).toMatchObject({ requestedBy: 'U0ALICE', alreadyRequested: true });

		// The next run (a new lease and token) is not stopped by it.
		expect((await release(id, owner)).status).toBe(204);
		expect(
			(await api(t.svc, 'POST', `/api/v1/sessions/${id}/lease`, { owner: 'worker:2:next' })).status,
		).toBe(200);
		const next = (await api(t.svc, 'POST', `/api/v1/sessions/${id}/hook-token`, {})).body.hookToken;
		expect((await preToolUse(id, next)).body).toEqual({});
		const quiet = await api(
			t.svc,
			'GET',
			`/api/v1/sessions/${id}/stop?owner=worker:2:next&waitSeconds=0`,
		);
		expect(quiet.body).toEqual({ stop: null, leaseHeld: true });
	});

	it("a stop that comes between the lease and the run's hook token applies to that token's hooks", async () => {
		const id = await session();
		const owner = `worker:1:${crypto.randomUUID()}`;
		expect((await api(t.svc, 'POST', `/api/v1/sessions/${id}/lease`, { owner })).status).toBe(200);
		expect((await api(t.svc, 'POST', `/api/v1/sessions/${id}/stop`, WHO)).status).toBe(202);
		const { hookToken } = (await api(t.svc, 'POST', `/api/v1/sessions/${id}/hook-token`, {})).body;
		// The stop is carried over to the token's generation with a signal: heard by this replica within moments.
		let pre = await preToolUse(id, hookToken);
		await waitFor(
			async () => {
				pre = await preToolUse(id, hookToken);
				return pre.body.continue === false;
			},
			15_000,
			100,
		);
		expect(pre.body).toMatchObject({
			continue: false,
			hookSpecificOutput: { permissionDecision: 'deny' },
		});
		// A restarted replica reads it back from the database the same way.
		const { rows } = await t.svc.db.query<{ same: boolean }>(
			`SELECT st.hook_generation = s.hook_token_generation AS same
			FROM session_stops st JOIN sessions s ON s.id = st.session_id WHERE st.session_id = $1`,
			[id],
		);
		expect(rows).toEqual([{ same: true }]);
	});

	it('with waitSeconds answers once the run has ended: stopped, with what it did and cost; Session finished fires with that status', async () => {
		const { id, owner, runId } = await running();
		const stopping = api(t.svc, 'POST', `/api/v1/sessions/${id}/stop`, { ...WHO, waitSeconds: 30 });
		// The runner hears of it, records the run's end, and gives the lease back.
		const heard = await api(
			t.svc,
			'GET',
			`/api/v1/sessions/${id}/stop?owner=${encodeURIComponent(owner)}&waitSeconds=20`,
		);
		expect(heard.body.stop).toMatchObject({ requestedBy: 'U0ALICE' });
		const ended = await api(t.svc, 'PUT', `/api/v1/sessions/${id}/runs/${runId}`, {
			kind: 'start',
			status: 'stopped',
			isError: false,
			costUsd: 0.0421,
			numTurns: 3,
			errorMessage: 'Stopped by U0ALICE from slack.',
			endedAt: new Date().toISOString(),
		});
		expect(ended.status).toBe(200);
		expect((await release(id, owner)).status).toBe(204);

		const res = await stopping;
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({
			sessionId: id,
			status: 'stopped',
			requestedBy: 'U0ALICE',
			run: { id: runId, status: 'stopped', costUsd: 0.0421, numTurns: 3, toolCalls: 0 },
		});
		const s = (await api(t.svc, 'GET', `/api/v1/sessions/${id}`)).body;
		expect(s).toMatchObject({ status: 'stopped', costUsd: 0.0421, isError: false });

		expect(
			await waitFor(() => t.receiver.emitted.some((e: any) => e.sessionId === id), 10_000),
		).toBe(true);
		const delivered = t.receiver.emitted.find((e: any) => e.sessionId === id) as any;
		expect(delivered).toMatchObject({
			event: 'SessionEnd',
			source: 'service',
			session: { status: 'stopped', costUsd: 0.0421 },
		});
		expect(delivered.payload).toMatchObject({
			reason: 'stopped',
			run_id: runId,
			stopped_by: { requestedBy: 'U0ALICE', channel: 'slack' },
		});
	});

	it('a long poll for a lease this owner does not hold answers at once', async () => {
		const { id } = await running();
		const res = await api(
			t.svc,
			'GET',
			`/api/v1/sessions/${id}/stop?owner=someone-else&waitSeconds=20`,
		);
		expect(res.body).toEqual({ stop: null, leaseHeld: false });
		expect(
			(await api(t.svc, 'GET', `/api/v1/sessions/${crypto.randomUUID()}/stop?owner=x`)).status,
		).toBe(404);
	});
});
