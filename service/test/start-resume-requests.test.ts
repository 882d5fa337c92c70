import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { api, DATABASE_KINDS, serviceForSuite } from '../../test/support/test-service';

// What lets a Start or a Resume reach claude in fewer requests: a session created with its lease taken, a thread
// answered with its session, and a lease claim (or creation) that takes the queued replies, says whether a policy is
// stored, and brings the run's hook token, budget reservation and the stored transcript's metadata.
// Each is optional; callers that do not ask get the answers they always got.
describe.each(DATABASE_KINDS)('Start and Resume in fewer requests (%s)', (kind) => {
	const t = serviceForSuite(kind, { LEASE_TTL: '45s' });

	const claim = (id: string, body: Record<string, unknown>) =>
		api(t.svc, 'POST', `/api/v1/sessions/${id}/lease`, body);
	const release = (id: string, owner: string) =>
		api(t.svc, 'DELETE', `/api/v1/sessions/${id}/lease?owner=${encodeURIComponent(owner)}`);
	const queue = (id: string, content: string) =>
		api(t.svc, 'POST', `/api/v1/sessions/${id}/queued-messages`, {
			content,
			author: 'U0ALICE',
			channel: 'slack',
		});
	const waiting = async (id: string) =>
		(await api(t.svc, 'GET', `/api/v1/sessions/${id}/queued-messages`)).body.items as Array<{
			content: string;
		}>;
	/** A run's end recorded, with what it cost: settles its reservation. */
	const finishRun = (id: string, runId: string, kind: 'start' | 'resume', costUsd: number) =>
		api(t.svc, 'PUT', `/api/v1/sessions/${id}/runs/${runId}`, {
			kind,
			status: 'completed',
			costUsd,
			startedAt: new Date().toISOString(),
		});
	const thread = () => `slack:C0RT:${Date.now()}.${crypto.randomInt(1e6)}`;

	it('creates a session with its lease taken, in one transaction, for the service lease time unless asked', async () => {
		const id = crypto.randomUUID();
		const created = await api(t.svc, 'POST', '/api/v1/sessions', {
			id,
			status: 'running',
			workspaceType: 'local',
			workspacePath: '/w',
			lease: { owner: 'worker-a' },
		});
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({
			id,
			status: 'running',
			lease: { owner: 'worker-a', ttlSeconds: 45 },
		});
		expect(created.body.hookToken).toMatch(/^ht2\./);
		const expiresIn = Date.parse(created.body.lease.expiresAt) - Date.now();
		expect(expiresIn).toBeGreaterThan(30_000);
		expect(expiresIn).toBeLessThanOrEqual(46_000);
		// Held as a claim would hold it: another run is refused, the holder renews and releases it.
		const other = await claim(id, { owner: 'worker-b' });
		expect(other.status).toBe(409);
		expect(other.body.message).toMatch(/is busy: another run \(worker-a\)/);
		expect((await claim(id, { owner: 'worker-a' })).status).toBe(200);
		expect((await release(id, 'worker-a')).status).toBe(204);
		expect((await claim(id, { owner: 'worker-b' })).status).toBe(200);

		// Its own time when it says one; without `lease` the answer is as it always was.
		const timed = await api(t.svc, 'POST', '/api/v1/sessions', {
			lease: { owner: 'worker-c', ttlSeconds: 300 },
		});
		expect(timed.status).toBe(201);
		expect(timed.body.lease).toMatchObject({ owner: 'worker-c', ttlSeconds: 300 });
		const plain = await api(t.svc, 'POST', '/api/v1/sessions', {});
		expect(plain.status).toBe(201);
		expect(plain.body).not.toHaveProperty('lease');
		expect((await claim(plain.body.id, { owner: 'worker-d' })).status).toBe(200);
	});

	it('refuses a bad lease with a 400 that names it, and writes nothing: no session, no thread', async () => {
		for (const [lease, said] of [
			[{}, /owner/],
			[{ owner: '' }, /owner is empty/],
			[{ owner: 'x'.repeat(201) }, /owner is at most 200/],
			[{ owner: 'a', ttlSeconds: 2 }, /ttlSeconds is at least 5/],
			[{ owner: 'a', ttlSeconds: 1.5 }, /ttlSeconds is a whole number/],
			[{ owner: 'a', ttlSeconds: 7200 }, /ttlSeconds is at most 3600/],
			[{ owner: 'a', until: 'later' }, /until/],
			['worker-a', /lease/],
			[null, /lease/],
		] as const) {
			const id = crypto.randomUUID();
			const key = thread();
			const res = await api(t.svc, 'POST', '/api/v1/sessions', {
				id,
				threadKey: key,
				prompt: 'never stored',
				lease,
			});
			expect(res.status).toBe(400);
			expect(res.body.message).toMatch(said);
			expect((await api(t.svc, 'GET', `/api/v1/sessions/${id}`)).status).toBe(404);
			expect((await api(t.svc, 'GET', `/api/v1/threads/${encodeURIComponent(key)}`)).status).toBe(
				404,
			);
		}
		// A session that exists already: 409, and its lease is left with whoever holds it.
		const id = crypto.randomUUID();
		expect(
			(await api(t.svc, 'POST', '/api/v1/sessions', { id, lease: { owner: 'first' } })).status,
		).toBe(201);
		const again = await api(t.svc, 'POST', '/api/v1/sessions', { id, lease: { owner: 'second' } });
		expect(again.status).toBe(409);
		expect((await claim(id, { owner: 'second' })).status).toBe(409);
		expect((await claim(id, { owner: 'first' })).status).toBe(200);
	});

	it('answers a thread with its session when asked (include=session), as GET /sessions/:id has it', async () => {
		const key = thread();
		const created = await api(t.svc, 'POST', '/api/v1/sessions', {
			status: 'running',
			workspaceType: 'worktree',
			workspacePath: '/w/2',
			workspaceBranch: 'claude/x',
			repository: 'acme/app',
			prompt: 'fix it',
			threadKey: key,
			threadMetadata: { channel: 'C0RT' },
		});
		expect(created.status).toBe(201);
		const id = created.body.id;
		const path = `/api/v1/threads/${encodeURIComponent(key)}`;
		const plain = await api(t.svc, 'GET', path);
		expect(plain.status).toBe(200);
		expect(plain.body).not.toHaveProperty('session');
		const withSession = await api(t.svc, 'GET', `${path}?include=session`);
		expect(withSession.status).toBe(200);
		// The thread's own fields are what they always were.
		expect(withSession.body).toMatchObject(plain.body);
		const { totals: _totals, ...session } = (await api(t.svc, 'GET', `/api/v1/sessions/${id}`))
			.body;
		expect(withSession.body.session).toEqual(session);
		expect(withSession.body.session).toMatchObject({
			id,
			threadKey: key,
			workspace: { type: 'worktree', path: '/w/2', branch: 'claude/x' },
			hookEventCount: 0,
		});
		expect(withSession.body.metadata).toEqual({ channel: 'C0RT' });

		const bad = await api(t.svc, 'GET', `${path}?include=runs`);
		expect(bad.status).toBe(400);
		expect(bad.body.message).toMatch(/include can only be "session"/);
		expect(
			(await api(t.svc, 'GET', `/api/v1/threads/${encodeURIComponent(thread())}?include=session`))
				.status,
		).toBe(404);
	});

	it('takes the queued replies with a granted claim, and nothing with a refused one', async () => {
		const id = (
			await api(t.svc, 'POST', '/api/v1/sessions', {
				status: 'running',
				workspaceType: 'local',
				workspacePath: '/w',
				lease: { owner: 'worker-a' },
			})
		).body.id as string;
		for (const text of ['first', 'second', 'third'])
			expect((await queue(id, text)).status).toBe(201);
		const runId = crypto.randomUUID();
		// Refused: the replies still wait.
		const refused = await claim(id, { owner: 'worker-b', takeQueued: { runId } });
		expect(refused.status).toBe(409);
		expect((await waiting(id)).map((m) => m.content)).toEqual(['first', 'second', 'third']);
		expect((await release(id, 'worker-a')).status).toBe(204);

		// Granted, with a budget for two of them: the oldest two are this run's, the third waits.
		const cost = (content: string) => content.length + 'U0ALICE'.length + 'slack'.length + 100;
		const granted = await claim(id, {
			owner: 'worker-b',
			takeQueued: { runId, maxBytes: cost('first') + cost('second') },
		});
		expect(granted.status).toBe(200);
		expect(granted.body).toMatchObject({ owner: 'worker-b', stop: null });
		expect(granted.body.taken.items.map((m: { content: string }) => m.content)).toEqual([
			'first',
			'second',
		]);
		expect((await waiting(id)).map((m) => m.content)).toEqual(['third']);
		// The same run asking with POST …/take gets the same replies (a lost answer is not a lost reply).
		const again = await api(t.svc, 'POST', `/api/v1/sessions/${id}/queued-messages/take`, {
			owner: 'worker-b',
			runId,
		});
		expect(again.body.items.map((m: { id: number }) => m.id)).toEqual(
			granted.body.taken.items.map((m: { id: number }) => m.id),
		);
		// Nothing waiting for another run: an empty list, not an absent one.
		expect((await release(id, 'worker-b')).status).toBe(204);
		const next = await claim(id, {
			owner: 'worker-c',
			takeQueued: { runId: crypto.randomUUID() },
		});
		expect(next.body.taken.items.map((m: { content: string }) => m.content)).toEqual(['third']);
		expect((await release(id, 'worker-c')).status).toBe(204);
		const empty = await claim(id, {
			owner: 'worker-d',
			takeQueued: { runId: crypto.randomUUID() },
		});
		expect(empty.body.taken).toEqual({ items: [] });
	});

	it('says with a granted claim whether an approval policy is stored, only when asked', async () => {
		const id = (await api(t.svc, 'POST', '/api/v1/sessions', {})).body.id as string;
		const without = await claim(id, { owner: 'worker-a', withApprovalPolicy: true });
		expect(without.status).toBe(200);
		expect(without.body.approvalPolicy).toBe(false);
		expect(
			(
				await api(t.svc, 'PUT', `/api/v1/sessions/${id}/approval-policy`, {
					rules: ['Bash(git push *)'],
					deciders: ['U0ALICE'],
				})
			).status,
		).toBe(200);
		const renewed = await claim(id, { owner: 'worker-a', withApprovalPolicy: true });
		expect(renewed.body.approvalPolicy).toBe(true);
		// An old caller's claim and renewal: the answer it always had.
		const plain = await claim(id, { owner: 'worker-a' });
		expect(plain.status).toBe(200);
		expect(Object.keys(plain.body).sort()).toEqual(['expiresAt', 'owner', 'stop', 'ttlSeconds']);
	});

	it('refuses bad claim extras with a 400 that names them, taking neither lease nor replies', async () => {
		const id = (
			await api(t.svc, 'POST', '/api/v1/sessions', {
				status: 'running',
				lease: { owner: 'worker-a' },
			})
		).body.id as string;
		expect((await queue(id, 'waits')).status).toBe(201);
		expect((await release(id, 'worker-a')).status).toBe(204);
		for (const [body, said] of [
			[{ owner: 'w', takeQueued: { runId: 'nope' } }, /takeQueued\.runId is not a uuid/],
			[
				{ owner: 'w', takeQueued: { runId: crypto.randomUUID(), maxBytes: -1 } },
				/takeQueued\.maxBytes is at least 0/,
			],
			[
				{ owner: 'w', takeQueued: { runId: crypto.randomUUID(), maxBytes: 10_000_000 } },
				/takeQueued\.maxBytes is at most/,
			],
			[{ owner: 'w', takeQueued: { runId: crypto.randomUUID(), all: true } }, /all/],
			[{ owner: 'w', takeQueued: true }, /takeQueued/],
			[{ owner: 'w', withApprovalPolicy: 'yes' }, /withApprovalPolicy/],
			[{ takeQueued: { runId: crypto.randomUUID() } }, /owner/],
		] as const) {
			const res = await claim(id, body);
			expect(res.status).toBe(400);
			expect(res.body.message).toMatch(said);
		}
		// Neither the lease nor the reply was taken by any of them.
		expect((await waiting(id)).map((m) => m.content)).toEqual(['waits']);
		expect((await claim(id, { owner: 'someone-else' })).status).toBe(200);
		expect(
			(await claim(crypto.randomUUID(), { owner: 'w', takeQueued: { runId: crypto.randomUUID() } }))
				.status,
		).toBe(404);
	});

	it('brings with a granted lease what the run would ask for next: its hook token, budget reservation and transcript metadata', async () => {
		// A budget with less left than the run asks for: the reservation is capped to it, as the route would cap it.
		expect(
			(
				await api(t.svc, 'PUT', '/api/v1/budgets', {
					name: 'lease extras',
					scope: 'thread',
					scopeValue: 'slack:C0RT:extras',
					period: 'day',
					limitUsd: 2,
				})
			).status,
		).toBe(201);
		const startRun = crypto.randomUUID();
		const created = await api(t.svc, 'POST', '/api/v1/sessions', {
			threadKey: 'slack:C0RT:extras',
			status: 'running',
			lease: {
				owner: 'worker-a',
				hookToken: { ttlSeconds: 3600 },
				budgetReservation: { runId: startRun, requestUsd: 5 },
			},
		});
		expect(created.status).toBe(201);
		const id = created.body.id as string;
		const { lease } = created.body;
		// The creation's token is the run's, for the run's time (plus the grace period): the run asks for no other.
		expect(lease.hookToken).toEqual({
			hookToken: created.body.hookToken,
			hookTokenExpiresAt: created.body.hookTokenExpiresAt,
		});
		expect(Date.parse(lease.hookToken.hookTokenExpiresAt) - Date.now()).toBeGreaterThan(3500_000);
		expect(lease.budgetReservation).toMatchObject({ granted: true, runId: startRun, capUsd: 2 });
		const held = await api(t.svc, 'GET', '/api/v1/budgets');
		expect(held.body.items[0]).toMatchObject({ name: 'lease extras', heldUsd: 2 });
		expect((await finishRun(id, startRun, 'start', 0.5)).status).toBe(200);
		expect((await release(id, 'worker-a')).status).toBe(204);

		// A Resume's claim: no transcript stored yet (null), then one.
		const resumeRun = crypto.randomUUID();
		const ask = {
			owner: 'worker-b',
			hookToken: { ttlSeconds: 600 },
			budgetReservation: { runId: resumeRun },
			withTranscriptMeta: true,
		};
		const first = await claim(id, ask);
		expect(first.status).toBe(200);
		expect(first.body).toMatchObject({
			owner: 'worker-b',
			hookToken: { hookToken: expect.stringMatching(/^ht2\./) },
			budgetReservation: { granted: true, runId: resumeRun, capUsd: 1.5 },
			transcriptMeta: null,
		});
		// The token works for the session's hooks, and the creation's no longer does.
		const post = (token: string) =>
			api(
				t.svc,
				'POST',
				'/api/v1/hooks',
				{ session_id: id, hook_event_name: 'Notification', message: token.slice(-6) },
				{
					authorization: `Bearer ${token}`,
				},
			);
		expect((await post(first.body.hookToken.hookToken)).status).toBe(200);
		expect((await post(created.body.hookToken)).status).toBe(401);
		const source = '{"type":"user"}\n';
		expect(
			(
				await api(t.svc, 'PUT', `/api/v1/sessions/${id}/transcript`, {
					contentGzipBase64: zlib.gzipSync(source).toString('base64'),
				})
			).status,
		).toBe(200);
		expect((await release(id, 'worker-b')).status).toBe(204);
		// The held reservation is the run's: asked again (a retried claim), it stays the one reservation.
		const again = await claim(id, { ...ask, owner: 'worker-c' });
		expect(again.body.budgetReservation).toMatchObject({
			granted: true,
			runId: resumeRun,
			capUsd: 1.5,
		});
		expect(again.body.transcriptMeta).toMatchObject({
			version: 1,
			sourceSizeBytes: source.length,
			sourceSha256: crypto.createHash('sha256').update(source).digest('hex'),
		});
		// A budget with nothing left: granted lease, refused reservation, and the message saying why.
		expect((await release(id, 'worker-c')).status).toBe(204);
		expect((await finishRun(id, resumeRun, 'resume', 1.5)).status).toBe(200);
		const spent = await claim(id, {
			...ask,
			owner: 'worker-d',
			budgetReservation: { runId: crypto.randomUUID() },
		});
		expect(spent.status).toBe(200);
		expect(spent.body.budgetReservation).toMatchObject({ granted: false });
		expect(spent.body.budgetReservation.message).toMatch(/lease extras/);
	});

	it('refuses a bad reservation or token ask with a 400 that names it, taking no lease and creating no session', async () => {
		const id = (await api(t.svc, 'POST', '/api/v1/sessions', {})).body.id as string;
		for (const [extra, said] of [
			[{ budgetReservation: { runId: 'nope' } }, /budgetReservation.*runId/],
			[
				{ budgetReservation: { runId: crypto.randomUUID(), requestUsd: -1 } },
				/requestUsd must be more than 0/,
			],
			[{ budgetReservation: { runId: crypto.randomUUID(), sessionId: id } }, /sessionId/],
			[{ hookToken: { ttlSeconds: 5 } }, /hookToken\.ttlSeconds is at least 60/],
			[{ withTranscriptMeta: 'yes' }, /withTranscriptMeta/],
		] as const) {
			const res = await claim(id, { owner: 'w', ...extra });
			expect(res.status).toBe(400);
			expect(res.body.message).toMatch(said);
			const sid = crypto.randomUUID();
			if (!('withTranscriptMeta' in extra)) {
				const create = await api(t.svc, 'POST', '/api/v1/sessions', {
					id: sid,
					lease: { owner: 'w', ...extra },
				});
				expect(create.status).toBe(400);
				expect(create.body.message).toMatch(said);
				expect((await api(t.svc, 'GET', `/api/v1/sessions/${sid}`)).status).toBe(404);
			}
		}
		// No lease was taken by any of them, and no reservation made.
		expect((await claim(id, { owner: 'someone-else' })).status).toBe(200);
		expect(
			(await t.svc.db.query('SELECT 1 FROM budget_reservations WHERE session_id = $1', [id])).rows,
		).toHaveLength(0);
	});
});
