import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { expectConversationHolds, lastConversation } from '../../../../test/support/claude-fixture';
import { serviceWithClaude } from '../../../../test/support/claude-service';
import { checkResumedSession, resumeSession, startSession } from '../session-run';
import { projectSlug, transcriptPath } from '../transcript';
import { sleep } from '../../../../test/support/wait';

// Two "workers": the same service and shared workspace folder, but each its own HOME, as two machines would have.
// The real claude CLI against the loopback fake API.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`a session's conversation follows it from worker to worker (${kind})`, () => {
	// A short lease, swept often: a worker that dies is noticed within seconds.
	const h = serviceWithClaude(kind, 'orch-workers', { LEASE_TTL: '3s', LEASE_SWEEP_MS: '200' });
	const workerA = () => h.fx.home('worker-a');
	const workerB = () => h.fx.home('worker-b');
	/** A turn on a worker: `home` is its claude home. */
	const start = (folder: string, prompt: string, home: Record<string, string>) =>
		startSession(h.client, {
			prompt,
			workspace: { type: 'local', workspacePath: folder },
			options: h.fx.options({ env: home }),
			deps: h.fx.deps,
		});
	const resume = (sessionId: string, prompt: string, home: Record<string, string>) =>
		resumeSession(h.client, {
			sessionId,
			prompt,
			options: h.fx.options({ env: home }),
			deps: h.fx.deps,
		});
	const transcriptMeta = (sessionId: string) =>
		h.client.request<any>('GET', `/api/v1/sessions/${sessionId}/transcript/meta`);

	it('names the transcript file as Claude Code does', () => {
		// Measured with 2.1.331: a folder "/tmp/x/a.b_c d/x-y" is stored under "-tmp-x-a-b-c-d-x-y".
		expect(projectSlug('/tmp/x/a.b_c d/x-y')).toBe('-tmp-x-a-b-c-d-x-y');
		expect(transcriptPath({ CLAUDE_CONFIG_DIR: '/cfg', HOME: '/h' }, '/srv/work/repo', 'id')).toBe(
			'/cfg/projects/-srv-work-repo/id.jsonl',
		);
		expect(transcriptPath({ HOME: '/h' }, '/srv/work/repo', 'id')).toBe(
			'/h/.claude/projects/-srv-work-repo/id.jsonl',
		);
	});

	it('a Resume on worker B continues the conversation worker A started, and back again', async () => {
		const folder = h.fx.folder('app');
		const first = await start(folder, 'first question [[bash:echo 1 > one.txt]]', workerA());
		expect(first.status).toBe('completed');
		const fileA = transcriptPath(workerA(), folder, first.sessionId);
		const fileB = transcriptPath(workerB(), folder, first.sessionId);
		expect(fs.existsSync(fileA)).toBe(true);
		const stored = await transcriptMeta(first.sessionId);
		expect(stored).toMatchObject({ version: 1, sourceSizeBytes: fs.statSync(fileA).size });
		expect(fs.existsSync(fileB)).toBe(false);

		const second = await resume(
			first.sessionId,
			'second question [[bash:echo 2 > two.txt]]',
			workerB(),
		);
		expect(second).toMatchObject({
			sessionId: first.sessionId,
			status: 'completed',
			isError: false,
		});
		// The fake API saw worker A's turn in the request worker B sent.
		expectConversationHolds(h.fx.fake, first.sessionId, [
			'first question',
			'echo 1 > one.txt',
			'second question',
		]);
		expect(fs.readFileSync(path.join(folder, 'one.txt'), 'utf8')).toBe('1\n');
		expect(fs.readFileSync(path.join(folder, 'two.txt'), 'utf8')).toBe('2\n');
		expect(fs.existsSync(fileB)).toBe(true);
		const afterB = await transcriptMeta(first.sessionId);
		expect(afterB.version).toBe(2);
		expect(afterB.sourceSizeBytes).toBeGreaterThan(stored.sourceSizeBytes);

		// Worker A still holds its older copy: it is replaced by the service's before claude runs.
		const third = await resume(first.sessionId, 'third question', workerA());
		expect(third).toMatchObject({
			sessionId: first.sessionId,
			status: 'completed',
			result: 'fake: third question',
		});
		expectConversationHolds(h.fx.fake, first.sessionId, [
			'first question',
			'second question',
			'echo 2 > two.txt',
			'third question',
		]);
		expect((await transcriptMeta(first.sessionId)).version).toBe(3);
	});

	it('a turn on the worker that ran the last one sends only the lines it added, and another worker still gets the whole conversation', async () => {
		const folder = h.fx.folder('append');
		const first = await start(folder, 'first question [[bash:echo 1 > one.txt]]', workerA());
		const fileA = transcriptPath(workerA(), folder, first.sessionId);
		const sizeAfterFirst = (await transcriptMeta(first.sessionId)).sourceSizeBytes;
		// What each upload sent: the whole file, or what it added to the stored one.
		const uploads: Array<{ bytes: number; appendTo?: { sourceSizeBytes: number } }> = [];
		const traced: typeof h.client = {
			...h.client,
			request: (method, p, body, qs) => {
				if (method === 'PUT' && p.endsWith('/transcript')) {
					const b = body as { contentGzipBase64: string; appendTo?: { sourceSizeBytes: number } };
					uploads.push({
						bytes: zlib.gunzipSync(Buffer.from(b.contentGzipBase64, 'base64')).length,
						appendTo: b.appendTo,
					});
				}
				return h.client.request(method, p, body, qs);
			},
		};
		for (const prompt of ['second question [[bash:echo 2 > two.txt]]', 'third question'])
			expect(
				await resumeSession(traced, {
					sessionId: first.sessionId,
					prompt,
					options: h.fx.options({ env: workerA() }),
					deps: h.fx.deps,
				}),
			).toMatchObject({ status: 'completed' });
		expect(uploads).toHaveLength(2);
		for (const u of uploads) {
			expect(u.appendTo).toBeDefined();
			expect(u.bytes).toBeLessThan(fs.statSync(fileA).size / 2);
		}
		// The stored conversation is the file's, whole: its hash, its size and its lines.
		const file = fs.readFileSync(fileA);
		const meta = await transcriptMeta(first.sessionId);
		expect(meta).toMatchObject({
			version: 3,
			sourceSizeBytes: file.length,
			sourceSha256: crypto.createHash('sha256').update(file).digest('hex'),
		});
		expect(sizeAfterFirst).toBeLessThan(file.length);
		const stored = await h.client.request<{ contentGzipBase64: string; sha256: string }>(
			'GET',
			`/api/v1/sessions/${first.sessionId}/transcript`,
		);
		const text = zlib.gunzipSync(Buffer.from(stored.contentGzipBase64, 'base64'));
		expect(crypto.createHash('sha256').update(text).digest('hex')).toBe(stored.sha256);
		expect(
			text
				.toString('utf8')
				.split('\n')
				.map((l) => (l ? JSON.parse(l).type : '')),
		).toEqual(
			file
				.toString('utf8')
				.split('\n')
				.map((l) => (l ? JSON.parse(l).type : '')),
		);

		// Worker B has nothing: it gets the stored conversation (one gzip stream of three parts) and continues it.
		const fourth = await resume(first.sessionId, 'fourth question', workerB());
		expect(fourth).toMatchObject({ status: 'completed', result: 'fake: fourth question' });
		expectConversationHolds(h.fx.fake, first.sessionId, [
			'first question',
			'second question',
			'third question',
			'fourth question',
		]);
	});

	it('refuses to resume when neither this worker nor the service has the conversation, before claude starts', async () => {
		const { client } = h;
		const folder = h.fx.folder('lost');
		const id = crypto.randomUUID();
		await client.request('POST', '/api/v1/sessions', {
			id,
			status: 'completed',
			workspaceType: 'local',
			workspacePath: folder,
		});
		await expect(resume(id, 'hello?', workerB())).rejects.toThrow(
			new RegExp(
				`Session ${id} cannot be resumed: its conversation is neither on this worker \\(${os.hostname()}`,
			),
		);
		expect(h.fx.fake.requestsFor(id)).toHaveLength(0);
		const runs = await client.request<any>('GET', `/api/v1/sessions/${id}/runs`);
		expect(runs.items).toEqual([
			expect.objectContaining({
				kind: 'resume',
				status: 'failed',
				errorMessage: expect.stringMatching(/neither on this worker/),
			}),
		]);
	});

	it('a turn cut off by a dead worker ends interrupted, and a Resume on another worker continues the conversation', async () => {
		const { client } = h;
		const folder = h.fx.folder('cut');
		const first = await start(folder, 'before the crash [[bash:echo 1 > one.txt]]', workerA());
		// Worker A claims the session for a second turn and dies: nothing renews its lease, no run end is reported.
		await client.request('POST', `/api/v1/sessions/${first.sessionId}/lease`, {
			owner: 'worker-a:999:dead',
		});
		await client.request('PUT', `/api/v1/sessions/${first.sessionId}/runs/${crypto.randomUUID()}`, {
			kind: 'resume',
			status: 'running',
			prompt: 'lost turn',
		});
		const deadline = Date.now() + 8_000;
		let status = '';
		while (Date.now() < deadline && status !== 'interrupted') {
			status = (await client.request<any>('GET', `/api/v1/sessions/${first.sessionId}`)).status;
			if (status !== 'interrupted') await sleep(200);
		}
		expect(status).toBe('interrupted');
		const resumed = await resume(first.sessionId, 'after the crash', workerB());
		expect(resumed).toMatchObject({
			sessionId: first.sessionId,
			status: 'completed',
			result: 'fake: after the crash',
		});
		expect(lastConversation(h.fx.fake, first.sessionId)).toContain('before the crash');
		expect((await client.request<any>('GET', `/api/v1/sessions/${first.sessionId}`)).status).toBe(
			'completed',
		);
	});

	it('fails a resumed run that answers with another session id instead of passing it off as the same conversation', () => {
		const id = crypto.randomUUID();
		const other = crypto.randomUUID();
		const base = {
			status: 'completed',
			isError: false,
			sessionId: other,
			stderrTail: '',
		} as Parameters<typeof checkResumedSession>[0];
		expect(checkResumedSession(base, id)).toMatchObject({
			status: 'failed',
			isError: true,
			errorMessage: expect.stringContaining(
				`asked to resume session ${id} but ran session ${other}`,
			),
		});
		expect(checkResumedSession({ ...base, sessionId: id }, id)).toMatchObject({
			status: 'completed',
		});
	});
});
