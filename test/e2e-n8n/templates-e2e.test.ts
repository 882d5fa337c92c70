// The shipped workflow templates, imported unchanged (credentials by name, Settings values filled in) into the
// real n8n, driven the way Slack, a mail server and an HTTP client would drive them.
import { api } from '../../service/test/harness';
import { nodeOutput, type N8nExecution } from '../n8n/n8n-instance';
import { pollUntil } from './poll';
import { SLACK_CHANNEL, startStack, WORKFLOW_IDS, type E2eStack } from './stack';
import { triggerWebhookPath } from './templates';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// A claude turn against the fake takes 2-5 s; n8n, the service and the hooks add a few more.
const RUN_TIMEOUT_MS = 90_000;

type Json = Record<string, any>;

const suiteStarted = Date.now();
let stack: E2eStack;

beforeAll(async () => {
	stack = await startStack();
}, 300_000);

afterAll(async () => {
	await stack?.stop();
	process.stderr.write(`e2e-n8n: start-up ${JSON.stringify(stack?.timings ?? {})}, suite ${Date.now() - suiteStarted} ms\n`);
}, 120_000);

async function startViaWebhook(body: unknown): Promise<{ status: number; json: Json; ms: number }> {
	const t0 = Date.now();
	const res = await fetch(`${stack.n8n.url}/webhook/claude/start`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(30_000),
	});
	const text = await res.text();
	return { status: res.status, json: text ? JSON.parse(text) : {}, ms: Date.now() - t0 };
}

async function session(id: string): Promise<Json> {
	const res = await api(stack.service, 'GET', `/api/v1/sessions/${id}`);
	if (res.status !== 200) throw new Error(`GET session ${id}: ${res.status} ${JSON.stringify(res.body)}`);
	return res.body;
}

async function finishedExecutions(workflowId: string, count: number): Promise<N8nExecution[]> {
	return stack.n8n.waitForExecutions(workflowId, count, RUN_TIMEOUT_MS);
}

describe('Session Initializer (webhook → Claude Session Start → Slack thread)', () => {
	it('answers with the session id at once, then posts the outcome into the session\'s Slack thread', async () => {
		// The delay keeps the run going well after the webhook answered: the HTTP request must not wait for it.
		const res = await startViaWebhook({ prompt: 'Say hello from the webhook [[delay:4000]] [[text:hello from Claude via the webhook]]' });
		expect(res.status).toBe(202);
		expect(res.json.status).toBe('started');
		expect(res.json.sessionId).toMatch(UUID);
		expect(res.ms).toBeLessThan(4_000);
		const sessionId = res.json.sessionId as string;

		const root = await stack.slack.waitForBotMessage((m) => !m.threadTs && m.text.includes(sessionId), 30_000, 'thread root naming the session');
		expect(root.channel).toBe(SLACK_CHANNEL);
		const outcome = await stack.slack.waitForBotMessage(
			(m) => m.threadTs === root.ts && m.text.includes('hello from Claude via the webhook'),
			RUN_TIMEOUT_MS,
			'the outcome in the thread',
		);
		expect(outcome.text).toContain('completed');

		const stored = await session(sessionId);
		expect(stored).toMatchObject({ id: sessionId, status: 'completed', threadKey: `slack:${SLACK_CHANNEL}:${root.ts}` });
		expect(stored.workspace.type).toBe('worktree');
		const thread = await api(stack.service, 'GET', `/api/v1/threads/${encodeURIComponent(`slack:${SLACK_CHANNEL}:${root.ts}`)}`);
		expect(thread.body.sessionId).toBe(sessionId);
		const messages = await api(stack.service, 'GET', `/api/v1/sessions/${sessionId}/messages`);
		expect(JSON.stringify(messages.body)).toContain('Say hello from the webhook');

		const [execution] = await finishedExecutions(WORKFLOW_IDS.start, 1);
		expect(execution.status).toBe('success');
		expect(nodeOutput(execution, 'Claude Session Start')[0]).toMatchObject({ sessionId, status: 'completed', isError: false });
	}, 180_000);
});
