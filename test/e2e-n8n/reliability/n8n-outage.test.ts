import crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startSession } from '../../../nodes/shared/session/session-run';
import { api, startTestService, TEST_API_KEY, type TestService } from '../../support/test-service';
import { claudeFixture, eventNames, type ClaudeFixture } from '../../support/claude-fixture';
import {
	COLD_INSTALL_TIMEOUT_MS,
	ensureN8nCache,
	nodeOutput,
	startN8n,
	type N8nInstance,
	type N8nWorkflow,
} from '../../../scripts/n8n/n8n-instance';
import { fetchClient } from '../../../nodes/shared/session/fetch-client';
import { pollUntil, sleep } from '../../support/wait';

// n8n is stopped for 60 s while Claude sessions go on producing hook events. The service keeps every delivery in
// its outbox and retries; once n8n is back, every event starts the Hook Trigger workflow exactly once, in each
// session's order. Real n8n with this package (dist/: run `npm run build` first), the real service, real claude.
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const OUTAGE_MS = 60_000;
const WORKFLOW_ID = 'reliabOutage0001';
const TRIGGER = 'Every Hook Event';
const WEBHOOK_ID = '0b6f3c1e-8d2a-4f5b-9e7c-3a1d2c4b5e60';

function hookWorkflow(): N8nWorkflow {
	return {
		id: WORKFLOW_ID,
		name: 'Reliability: every hook event',
		nodes: [
			{
				id: 'outage-1',
				name: TRIGGER,
				type: 'n8n-nodes-claude-orchestrator.claudeHookTrigger',
				typeVersion: 1,
				position: [0, 0],
				webhookId: WEBHOOK_ID,
				parameters: {
					preset: 'custom',
					events: ['*'],
					toolFilter: '',
					sessionId: '',
					threadKey: '',
					workspaceType: '',
					options: {},
				},
				credentials: {
					claudeOrchestratorApi: { id: 'reliabOrchCred01', name: 'Claude Orchestrator API' },
				},
			},
			{
				id: 'outage-2',
				name: 'Received',
				type: 'n8n-nodes-base.noOp',
				typeVersion: 1,
				position: [220, 0],
				parameters: {},
			},
		],
		connections: { [TRIGGER]: { main: [[{ node: 'Received', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

describe('n8n stopped for 60 s while hook events arrive', () => {
	let svc: TestService;
	let fx: ClaudeFixture;
	let n8n: N8nInstance | undefined;
	let userFolder: string | undefined;

	beforeAll(() => ensureN8nCache(), COLD_INSTALL_TIMEOUT_MS);
	beforeAll(async () => {
		if (
			!fs.existsSync(
				path.join(REPO_ROOT, 'dist', 'nodes', 'ClaudeHookTrigger', 'ClaudeHookTrigger.node.js'),
			)
		) {
			throw new Error(
				'dist/ has no Claude Hook Trigger: run `npm run build` before `npm run test:e2e`',
			);
		}
		const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
		// Backoff capped at 2 s so n8n's return is noticed within seconds; 100 attempts outlast the outage.
		svc = await startTestService(kind, {
			DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
			DELIVERY_POLL_INTERVAL_MS: '200',
			DELIVERY_BASE_DELAY_MS: '250',
			DELIVERY_MAX_DELAY_MS: '2000',
			DELIVERY_MAX_ATTEMPTS: '100',
		});
		fx = await claudeFixture('orch-n8n-outage');
		n8n = await startN8n({
			packageDir: REPO_ROOT,
			keepUserFolder: true,
			credentials: [
				{
					id: 'reliabOrchCred01',
					name: 'Claude Orchestrator API',
					type: 'claudeOrchestratorApi',
					data: { baseUrl: svc.url, apiKey: TEST_API_KEY, publicUrl: '' },
				},
			],
			workflows: [hookWorkflow()],
		});
		userFolder = n8n.userFolder;
	}, 240_000);
	afterAll(async () => {
		await n8n?.stop();
		if (userFolder) fs.rmSync(userFolder, { recursive: true, force: true });
		await svc?.stop();
		await fx?.close();
	}, 120_000);

	it('delivers every event afterwards, each once, in each session’s order', async () => {
		const client = fetchClient(svc.url, TEST_API_KEY);
		const run = (prompt: string) =>
			startSession(client, {
				prompt,
				workspace: { type: 'local', workspacePath: fx.folder(crypto.randomUUID()) },
				options: fx.options(),
				deps: fx.deps,
			});
		// Activation registers the trigger's subscription with the service.
		await n8n!.waitForWebhook(`${WEBHOOK_ID}/claude-hook`, { method: 'POST', timeoutMs: 30_000 });
		const subscriptionId = await pollUntil(
			async () =>
				((await api(svc, 'GET', '/api/v1/subscriptions')).body.items as Array<{ id: string }>)[0]
					?.id,
			30_000,
			`the Hook Trigger's subscription (n8n log: ${n8n!.logs().slice(-2000)})`,
		);

		// Up: a session's events reach the workflow.
		const before = await run('[[bash:echo up]] [[read:x.txt]]');
		const upCount = (await eventNames(client, before.sessionId)).length;
		await n8n!.waitForExecutions(WORKFLOW_ID, upCount, 60_000);

		// Down for 60 s; sessions keep running and posting hooks meanwhile.
		const port = n8n!.port;
		await n8n!.stop();
		const downAt = Date.now();
		const during = await Promise.all(
			[
				'[[bash:echo a]] [[write:a.txt::a]]',
				'[[bash:echo b]] [[delay:3000]] [[read:a.txt]]',
				'[[text:no tools]]',
			].map(run),
		);
		// An external Claude Code (hooks only, no run) reporting through the whole outage.
		const external = crypto.randomUUID();
		let posted = 0;
		while (Date.now() - downAt < OUTAGE_MS - 3000) {
			const res = await api(svc, 'POST', '/api/v1/hooks', {
				session_id: external,
				hook_event_name: 'PostToolUse',
				tool_name: 'Bash',
				tool_use_id: `toolu_${posted}`,
				tool_input: { command: `echo ${posted}` },
				n: posted,
			});
			expect(res.status).toBe(200);
			posted++;
			await sleep(2000);
		}
		await sleep(Math.max(0, OUTAGE_MS - (Date.now() - downAt)));
		const pendingWhileDown = (await api(svc, 'GET', `/api/v1/subscriptions/${subscriptionId}`)).body
			.deliveries;
		const downMs = Date.now() - downAt;

		// Back on the same folder and port: the workflow is still active and its webhook URL unchanged.
		n8n = await startN8n({ packageDir: REPO_ROOT, userFolder, port, keepUserFolder: true });
		const upAt = Date.now();
		const sessions = [before, ...during].map((o) => o.sessionId).concat(external);
		const expected = new Map<string, string[]>();
		for (const id of sessions) expected.set(id, await eventNames(client, id));
		const total = [...expected.values()].reduce((n, names) => n + names.length, 0);
		expect(pendingWhileDown.pending).toBe(total - upCount);
		expect(pendingWhileDown.dead).toBe(0);

		await pollUntil(
			async () =>
				(await api(svc, 'GET', `/api/v1/subscriptions/${subscriptionId}`)).body.deliveries
					.pending === 0
					? true
					: undefined,
			180_000,
			'the outbox to empty',
		);
		const executions = await n8n.waitForExecutions(WORKFLOW_ID, total, 120_000);
		const recoveredMs = Date.now() - upAt;
		// A moment more: a duplicate would show up now.
		await sleep(3000);
		const all = await n8n.executions(WORKFLOW_ID);
		const items = all.flatMap((e) => nodeOutput(e, TRIGGER)) as Array<{
			deliveryId: string;
			sessionId: string;
			event: string;
		}>;
		expect(all.every((e) => e.status === 'success')).toBe(true);
		expect(items).toHaveLength(total);
		expect(new Set(items.map((i) => i.deliveryId)).size).toBe(total);
		// Each session's events started the workflow in the order the service stored them.
		for (const [id, names] of expected)
			expect(items.filter((i) => i.sessionId === id).map((i) => i.event)).toEqual(names);
		expect(
			(await api(svc, 'GET', `/api/v1/subscriptions/${subscriptionId}`)).body.deliveries,
		).toEqual({ pending: 0, dead: 0 });
		process.stderr.write(
			`[reliability] n8n outage: down ${downMs} ms; ${total - upCount} deliveries pending while down (${during.length} claude sessions + ${posted} external hook events); ` +
				`all ${total} executions ${recoveredMs} ms after n8n was back (${executions.length} seen), duplicates 0, lost 0\n`,
		);
	}, 480_000);
});
