import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { serviceWithClaude } from '../../../../test/support/claude-service';
import type { OrchestratorClient } from '../client';
import { claimSession } from '../lease';
import { resumeSession, startSession } from '../session-run';

// The same external event (a Slack message delivered twice) starts or continues a session once, and a run's
// status message is stored with it. The real claude CLI against the fake API, the real service.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`event keys and status messages on Start and Resume (${kind})`, () => {
	const h = serviceWithClaude(kind, 'orch-keys');
	let deps: typeof h.fx.deps & { remoteBaseUrl: string };
	beforeAll(() => {
		deps = { ...h.fx.deps, remoteBaseUrl: 'file:///nonexistent' };
	});
	const options = (extra: Record<string, unknown> = {}) => h.fx.options(extra);
	const folder = () => h.fx.folder(crypto.randomUUID());

	it('starts one session for an event delivered twice at once, and continues it once for a reply delivered twice', async () => {
		const workspacePath = folder();
		const eventKey = `slack:C0KEYS:${Date.now()}.000100`;
		const threadKey = `slack:C0KEYS:${Date.now()}.000100`;
		const start = () =>
			startSession(h.client, {
				prompt: 'first [[bash:echo one >> log.txt]] [[text:started]]',
				workspace: { type: 'local', workspacePath },
				threadKey,
				options: options({ eventKey }),
				deps,
			});
		const outs = await Promise.all([start(), start()]);
		const ran = outs.filter((o) => o.status === 'completed');
		const dup = outs.filter((o) => o.status === 'duplicate');
		expect(ran).toHaveLength(1);
		expect(dup).toHaveLength(1);
		expect(dup[0]).toMatchObject({
			sessionId: ran[0].sessionId,
			isError: false,
			duplicateOf: { eventKey, sessionId: ran[0].sessionId, action: 'start' },
		});
		// One run, one session: the command ran once.
		expect(fs.readFileSync(path.join(workspacePath, 'log.txt'), 'utf8')).toBe('one\n');
		const sessions = await h.client.request<any>('GET', '/api/v1/sessions?limit=200');
		expect(sessions.items.filter((s: any) => s.workspace?.path === workspacePath)).toHaveLength(1);

		const replyKey = `slack:C0KEYS:${Date.now()}.000200`;
		const resume = () =>
			resumeSession(h.client, {
				threadKey,
				prompt: 'again [[bash:echo two >> log.txt]] [[text:resumed]]',
				options: options({ eventKey: replyKey }),
				deps,
			});
		const first = await resume();
		expect(first).toMatchObject({ status: 'completed', result: 'resumed' });
		const second = await resume();
		expect(second).toMatchObject({
			status: 'duplicate',
			sessionId: ran[0].sessionId,
			duplicateOf: { eventKey: replyKey, action: 'resume' },
		});
		expect(fs.readFileSync(path.join(workspacePath, 'log.txt'), 'utf8')).toBe('one\ntwo\n');
		const runs = await h.client.request<any>('GET', `/api/v1/sessions/${ran[0].sessionId}/runs`);
		expect(runs.items).toHaveLength(2);
	}, 180_000);

	const keyStatus = async (key: string) =>
		(await fetch(`${h.svc.url}/api/v1/event-keys/${encodeURIComponent(key)}`, {
			headers: { Authorization: `Bearer ${h.svc.apiKey}` },
		}).then((r) => r.status)) as number;

	it('runs once when the first claim reached the service but its answer was lost, and the retry came', async () => {
		const workspacePath = folder();
		const eventKey = `slack:C0LOST:${Date.now()}.000100`;
		// The service takes the first claim; the answer never comes back (a proxy restart), as a 503 would say.
		let lost = 0;
		const losing: OrchestratorClient = {
			...h.client,
			async request(method, route, body, qs) {
				const answer = await h.client.request(method, route, body, qs);
				if (method === 'POST' && route === '/api/v1/event-keys' && lost++ === 0)
					throw Object.assign(new Error('upstream connect error'), { status: 503 });
				return answer as never;
			},
		};
		const out = await startSession(losing, {
			prompt: '[[bash:echo once >> log.txt]] [[text:ran]]',
			workspace: { type: 'local', workspacePath },
			options: options({ eventKey }),
			deps,
		});
		expect(lost).toBe(2);
		expect(out).toMatchObject({ status: 'completed', result: 'ran' });
		expect(fs.readFileSync(path.join(workspacePath, 'log.txt'), 'utf8')).toBe('once\n');
		// A resend of the event (another claim) is still a duplicate of this run.
		const again = await startSession(h.client, {
			prompt: '[[bash:echo twice >> log.txt]] [[text:ran again]]',
			workspace: { type: 'local', workspacePath },
			options: options({ eventKey }),
			deps,
		});
		expect(again).toMatchObject({ status: 'duplicate', sessionId: out.sessionId });
		expect(fs.readFileSync(path.join(workspacePath, 'log.txt'), 'utf8')).toBe('once\n');
	}, 120_000);

	it('gives the key back when a Start fails before claude runs, so the resent event runs', async () => {
		const eventKey = `slack:C0FAIL:${Date.now()}.000100`;
		// Outside the allowed roots: workspace preparation refuses it, nothing is created.
		const outside = fs.mkdtempSync(path.join(h.fx.root, 'outside-'));
		await expect(
			startSession(h.client, {
				prompt: '[[bash:echo no >> log.txt]] [[text:never]]',
				workspace: { type: 'local', workspacePath: outside },
				options: options({ eventKey }),
				deps,
			}),
		).rejects.toThrow();
		expect(fs.existsSync(path.join(outside, 'log.txt'))).toBe(false);
		expect(await keyStatus(eventKey)).toBe(404);
		const workspacePath = folder();
		const resent = await startSession(h.client, {
			prompt: '[[bash:echo yes >> log.txt]] [[text:ran]]',
			workspace: { type: 'local', workspacePath },
			options: options({ eventKey }),
			deps,
		});
		expect(resent).toMatchObject({ status: 'completed', result: 'ran' });
		expect(fs.readFileSync(path.join(workspacePath, 'log.txt'), 'utf8')).toBe('yes\n');
		expect(await keyStatus(eventKey)).toBe(200);
	}, 120_000);

	it('gives the key back when a Resume cannot get the session, and keeps it once claude ran even if the run failed', async () => {
		const workspacePath = folder();
		const started = await startSession(h.client, {
			prompt: '[[text:started]]',
			workspace: { type: 'local', workspacePath },
			options: options(),
			deps,
		});
		expect(started.status).toBe('completed');
		const replyKey = `slack:C0BUSY:${Date.now()}.000200`;
		const resume = (prompt: string, extra: Record<string, unknown> = {}) =>
			resumeSession(h.client, {
				sessionId: started.sessionId,
				prompt,
				whenBusy: 'fail',
				options: options({ eventKey: replyKey, ...extra }),
				deps,
			});
		// Another turn holds the session and When Busy is Fail: nothing runs, the key is given back.
		const other = await claimSession(h.client, started.sessionId, 0);
		try {
			await expect(resume('[[bash:echo busy >> log.txt]] [[text:no]]')).rejects.toThrow(/busy/);
		} finally {
			await other.release();
		}
		expect(await keyStatus(replyKey)).toBe(404);
		expect(fs.existsSync(path.join(workspacePath, 'log.txt'))).toBe(false);
		// The resend runs, and fails after claude acted (an API error): the key is kept, a resend is a duplicate.
		await expect(resume('[[bash:echo ran >> log.txt]] [[error:400]]')).resolves.toMatchObject({
			status: 'failed',
			isError: true,
		});
		expect(fs.readFileSync(path.join(workspacePath, 'log.txt'), 'utf8')).toBe('ran\n');
		expect(await keyStatus(replyKey)).toBe(200);
		await expect(resume('[[bash:echo again >> log.txt]] [[text:no]]')).resolves.toMatchObject({
			status: 'duplicate',
		});
		expect(fs.readFileSync(path.join(workspacePath, 'log.txt'), 'utf8')).toBe('ran\n');
	}, 180_000);

	it('still claims against a service older than claim ids (which refuses the field)', async () => {
		const eventKey = `slack:C0OLD:${Date.now()}.000100`;
		const sent: unknown[] = [];
		const old: OrchestratorClient = {
			...h.client,
			async request(method, route, body, qs) {
				if (route === '/api/v1/event-keys') {
					sent.push(body);
					if ((body as { claimId?: string }).claimId)
						throw Object.assign(new Error('400 Unrecognized key: "claimId"'), { status: 400 });
				}
				return h.client.request(method, route, body, qs) as never;
			},
		};
		const start = () =>
			startSession(old, {
				prompt: '[[text:old service]]',
				workspace: { type: 'local', workspacePath: folder() },
				options: options({ eventKey }),
				deps,
			});
		await expect(start()).resolves.toMatchObject({ status: 'completed', result: 'old service' });
		await expect(start()).resolves.toMatchObject({ status: 'duplicate' });
		expect(sent).toHaveLength(4);
		expect(sent[1]).toEqual({ key: eventKey, sessionId: expect.any(String), action: 'start' });
	}, 120_000);

	it('stores the status message with the run from its first record on', async () => {
		const statusMessage = `slack:C0STATUS:${Date.now()}.000300`;
		const out = await startSession(h.client, {
			prompt: '[[bash:echo hi]] [[text:with a status message]]',
			workspace: { type: 'local', workspacePath: folder() },
			options: options({ statusMessage }),
			deps,
		});
		expect(out.status).toBe('completed');
		const runs = await h.client.request<any>('GET', `/api/v1/sessions/${out.sessionId}/runs`);
		expect(runs.items).toEqual([expect.objectContaining({ status: 'completed', statusMessage })]);
		const events = await h.client.request<any>(
			'GET',
			`/api/v1/sessions/${out.sessionId}/events?limit=200`,
		);
		const finished = events.items.filter((e: any) => e.event === 'RunFinished');
		expect(finished).toHaveLength(1);
		expect(finished[0].payload).toMatchObject({
			status: 'completed',
			result: 'with a status message',
			status_message: statusMessage,
			tool_calls: 1,
		});
		expect(finished[0].payload.cost_usd).toBeGreaterThan(0);
	}, 120_000);

	it('refuses an event key or status message that is not a reference', () => {
		expect(() => options({ eventKey: 'two words' })).toThrow(/Event Key/);
		expect(() => options({ statusMessage: 'C0123:1712345678.000200' })).toThrow(/Status Message/);
		expect(options({ eventKey: ' slack:C1:1.2 ', statusMessage: '' })).toMatchObject({
			eventKey: 'slack:C1:1.2',
			statusMessage: undefined,
		});
	});
});
