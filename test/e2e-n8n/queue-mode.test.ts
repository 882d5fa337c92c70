import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeOutput } from '../../scripts/n8n/n8n-instance';
import { transcriptPath } from '../../nodes/shared/session/transcript';
import { pollUntil, sleep } from '../support/wait';
import {
	LEASE_TTL_SECONDS,
	QUEUE_WORKFLOW_IDS,
	RESUME_PATH,
	START_PATH,
	useQueueStack,
} from './queue-stack';

// Real n8n 2.41.1 in queue mode: Redis, n8n's database on PostgreSQL, one main, two workers with their own HOME.
// Sessions must not belong to the worker that ran their last turn.
describe('n8n queue mode: sessions outlive their worker', () => {
	const stack = useQueueStack();

	const session = async (id: string) =>
		(
			await fetch(`${stack.service.url}/api/v1/sessions/${id}`, { headers: stack.service.auth })
		).json() as Promise<any>;
	const lastRequestText = (sessionId: string) => {
		const requests = stack.anthropic.requestsFor(sessionId);
		return JSON.stringify(requests[requests.length - 1]?.body.messages ?? []);
	};
	const folder = (name: string) => {
		const dir = path.join(stack.sharedRoot, name);
		fs.mkdirSync(dir, { recursive: true });
		return dir;
	};

	it('a thread-keyed session started on worker A is resumed on worker B while A is stopped', async () => {
		const [a, b] = stack.cluster.workers;
		await b.stop();
		const dir = folder('handover');
		const threadKey = `slack:CQUEUE:${Date.now()}.000100`;
		const first = await stack.post(START_PATH, {
			prompt: 'first turn [[bash:echo a > a.txt]]',
			folder: dir,
			threadKey,
		});
		expect([first.status, first.body.status]).toEqual([200, 'completed']);
		const sessionId = first.body.sessionId as string;
		// Only worker A was there to run it: its claude wrote the conversation under A's HOME.
		const fileOf = (i: number) =>
			transcriptPath({ CLAUDE_CONFIG_DIR: path.join(stack.homeOf(i), '.claude') }, dir, sessionId);
		expect(fs.existsSync(fileOf(0))).toBe(true);
		expect(fs.existsSync(fileOf(1))).toBe(false);

		await b.start();
		await a.stop();
		const second = await stack.post(RESUME_PATH, {
			threadKey,
			prompt: 'second turn [[bash:echo b > b.txt]]',
		});
		expect(second.status).toBe(200);
		expect(second.body).toMatchObject({ sessionId, status: 'completed', threadKey });
		expect(fs.existsSync(fileOf(1))).toBe(true);
		for (const earlier of ['first turn', 'echo a > a.txt', 'second turn'])
			expect(lastRequestText(sessionId)).toContain(earlier);
		expect(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('a\n');
		expect(fs.readFileSync(path.join(dir, 'b.txt'), 'utf8')).toBe('b\n');
		await a.start();
	}, 600_000);

	it('worker A killed mid-run: the session is interrupted within LEASE_TTL + 5 s, Session finished fires once, and B continues it', async () => {
		const [a, b] = stack.cluster.workers;
		await b.stop();
		const dir = folder('crash');
		const threadKey = `slack:CQUEUE:${Date.now()}.000200`;
		const first = await stack.post(START_PATH, {
			prompt: 'before the crash',
			folder: dir,
			threadKey,
		});
		expect(first.body.status).toBe('completed');
		const sessionId = first.body.sessionId as string;

		// A long turn on A: wait until claude is inside its API call, then take the machine away.
		void stack
			.post(RESUME_PATH, { threadKey, prompt: 'long turn [[delay:30000]]' })
			.catch(() => undefined);
		await pollUntil(
			() => (lastRequestText(sessionId).includes('long turn') ? true : undefined),
			120_000,
			'claude on worker A to send the long turn',
		);
		expect((await session(sessionId)).status).toBe('running');
		const killedAt = Date.now();
		await a.kill();
		await pollUntil(
			async () => ((await session(sessionId)).status === 'interrupted' ? true : undefined),
			(LEASE_TTL_SECONDS + 10) * 1000,
			'the session to be interrupted',
		);
		const took = Date.now() - killedAt;
		process.stdout.write(
			`queue e2e: session interrupted ${took} ms after SIGKILL (LEASE_TTL ${LEASE_TTL_SECONDS} s)\n`,
		);
		expect(took).toBeLessThanOrEqual((LEASE_TTL_SECONDS + 5) * 1000);
		expect((await session(sessionId)).errorMessage).toMatch(/stopped renewing its lease/);

		// Session finished reaches the Hook Trigger workflow, executed by a worker: start B for it.
		await b.start();
		const fromService = async () => {
			const executions = await stack.cluster.main.executions(QUEUE_WORKFLOW_IDS.finished);
			return executions
				.map((e) => {
					try {
						return nodeOutput(e, 'Claude Hook Trigger')[0] as any;
					} catch {
						return undefined;
					}
				})
				.filter((o) => o?.sessionId === sessionId && o?.source === 'service');
		};
		const delivered = await pollUntil(
			async () => ((await fromService()).length > 0 ? fromService() : undefined),
			60_000,
			'Session finished to run',
		);
		expect(delivered).toHaveLength(1);
		expect(delivered[0]).toMatchObject({ event: 'SessionEnd', session: { status: 'interrupted' } });
		await sleep(3_000);
		expect(await fromService()).toHaveLength(1);

		const after = await stack.post(RESUME_PATH, { threadKey, prompt: 'after the crash' });
		expect(after.body).toMatchObject({
			sessionId,
			status: 'completed',
			result: 'fake: after the crash',
		});
		expect(lastRequestText(sessionId)).toContain('before the crash');
		await a.start();
	}, 600_000);

	it('two Resumes of one session sent at the same moment run one after the other, whichever workers take them', async () => {
		const dir = folder('concurrent');
		const threadKey = `slack:CQUEUE:${Date.now()}.000300`;
		const first = await stack.post(START_PATH, { prompt: 'start', folder: dir, threadKey });
		const sessionId = first.body.sessionId as string;
		const results = await Promise.all([
			stack.post(RESUME_PATH, { threadKey, prompt: 'one [[delay:3000]]' }),
			stack.post(RESUME_PATH, { threadKey, prompt: 'two [[delay:3000]]' }),
		]);
		expect(results.map((r) => r.body.status)).toEqual(['completed', 'completed']);
		const runs = (
			(await (
				await fetch(`${stack.service.url}/api/v1/sessions/${sessionId}/runs`, {
					headers: stack.service.auth,
				})
			).json()) as any
		).items as Array<{
			kind: string;
			startedAt: string;
			endedAt: string;
		}>;
		const resumes = runs
			.filter((r) => r.kind === 'resume')
			.sort((x, y) => Date.parse(x.startedAt) - Date.parse(y.startedAt));
		expect(resumes).toHaveLength(2);
		expect(Date.parse(resumes[0].endedAt)).toBeLessThanOrEqual(Date.parse(resumes[1].startedAt));
		// Both turns are in one conversation.
		for (const text of ['one', 'two', 'start']) expect(lastRequestText(sessionId)).toContain(text);
	}, 600_000);
});
