// What the queue-mode scenarios run against: n8n 2.41.1 in queue mode (Redis, n8n's database on PostgreSQL, one
// main process, two workers each with its own HOME and user folder), the service with a short LEASE_TTL, the real
// claude CLI against the fake Anthropic API, and a shared folder for local sessions (the "shared storage").
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestService, TEST_API_KEY, type TestService } from '../support/test-service';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-api';
import { ensureN8nCache, type N8nWorkflow } from '../../scripts/n8n/n8n-instance';
import { startN8nQueue, type N8nQueueStack } from '../../scripts/n8n/n8n-queue';
import { ARTIFACTS, claudeOnlyBin, N8N_DELIVERY_ENV, REPO_ROOT } from './backends';
import { startedForBlock } from '../support/started-for-block';
import { stopsFor } from '../support/stops';
import {
	orchestratorCredential,
	sessionFinishedTrigger,
	webhookToNodeWorkflow,
} from './workflow-nodes';

export const LEASE_TTL_SECONDS = 10;
export const QUEUE_WORKFLOW_IDS = {
	start: 'e2eQueueStart001',
	resume: 'e2eQueueResume01',
	finished: 'e2eQueueFinished',
} as const;
export const START_PATH = 'queue/start';
export const RESUME_PATH = 'queue/resume';

export interface QueueE2eStack {
	cluster: N8nQueueStack;
	service: TestService;
	anthropic: FakeAnthropic;
	/** Every worker sees it at the same path: local sessions live here. */
	sharedRoot: string;
	/** HOME of worker i (where its claude keeps conversations). */
	homeOf(index: number): string;
	post(webhookPath: string, body: unknown): Promise<{ status: number; body: any }>;
	stop(): Promise<void>;
}

const CREDENTIAL_ID = 'e2eQueueOrch0001';

function workflows(): N8nWorkflow[] {
	const options = { timeoutSeconds: 300, queueTimeoutSeconds: 300 };
	return [
		webhookToNodeWorkflow({
			id: QUEUE_WORKFLOW_IDS.start,
			name: 'E2E queue: start',
			webhook: { id: 'queue-start-hook', webhookId: 'queue-start-hook', path: START_PATH },
			node: {
				id: 'queue-start-node',
				name: 'Claude Session Start',
				type: 'claudeSessionStart',
				parameters: {
					prompt: '={{ $json.body.prompt }}',
					workspaceType: 'local',
					workspacePath: '={{ $json.body.folder }}',
					threadKey: '={{ $json.body.threadKey }}',
					options,
				},
			},
			credentialId: CREDENTIAL_ID,
		}),
		webhookToNodeWorkflow({
			id: QUEUE_WORKFLOW_IDS.resume,
			name: 'E2E queue: resume',
			webhook: { id: 'queue-resume-hook', webhookId: 'queue-resume-hook', path: RESUME_PATH },
			node: {
				id: 'queue-resume-node',
				name: 'Claude Resume',
				type: 'claudeResume',
				parameters: {
					resumeBy: 'threadKey',
					threadKey: '={{ $json.body.threadKey }}',
					prompt: '={{ $json.body.prompt }}',
					// Two Resumes of one session on different workers wait for each other's lease (the node's
					// default, Queue, would store the second reply for the next turn instead).
					whenBusy: 'wait',
					options,
				},
			},
			credentialId: CREDENTIAL_ID,
		}),
		{
			id: QUEUE_WORKFLOW_IDS.finished,
			name: 'E2E queue: session finished',
			nodes: [
				sessionFinishedTrigger({
					id: 'queue-finished-trigger',
					name: 'Claude Hook Trigger',
					webhookId: 'e2e-queue-finished',
					credentialId: CREDENTIAL_ID,
				}),
			],
			connections: {},
			settings: { executionOrder: 'v1' },
		},
	];
}

export async function startQueueStack(opts: { workers?: number } = {}): Promise<QueueE2eStack> {
	const cache = await ensureN8nCache();
	const baseDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'claude-e2e-queue-')));
	const { stops, stop } = stopsFor(baseDir);
	try {
		const sharedRoot = path.join(baseDir, 'shared');
		fs.mkdirSync(sharedRoot);
		const anthropic = await startFakeAnthropic();
		stops.push(() => anthropic.close());
		const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
		const service = await startTestService(kind, {
			LEASE_TTL: `${LEASE_TTL_SECONDS}s`,
			LEASE_SWEEP_MS: '500',
			...N8N_DELIVERY_ENV,
		});
		stops.push(() => service.stop());
		const binDir = claudeOnlyBin(baseDir);
		const homeOf = (i: number) =>
			path.join(baseDir, `worker-${String.fromCharCode(97 + i)}`, 'home');
		const cluster = await startN8nQueue({
			baseDir,
			packageDir: REPO_ROOT,
			workers: opts.workers ?? 2,
			env: {
				PATH: [cache.nodeBinDir, binDir, process.env.PATH ?? '/usr/bin:/bin'].join(path.delimiter),
				ANTHROPIC_BASE_URL: anthropic.url,
				ANTHROPIC_API_KEY: 'sk-test',
				CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
				CLAUDE_CODE_MAX_RETRIES: '1',
				DISABLE_AUTOUPDATER: '1',
				CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS: sharedRoot,
			},
			// Each worker its own HOME, claude config and orchestrator folders, as on its own machine.
			workerEnv: (i, folder) => ({
				HOME: homeOf(i),
				CLAUDE_CONFIG_DIR: path.join(homeOf(i), '.claude'),
				CLAUDE_CODE_TMPDIR: path.join(folder, 'tmp'),
				CLAUDE_ORCHESTRATOR_HOME: path.join(folder, 'orchestrator'),
			}),
			credentials: [orchestratorCredential(CREDENTIAL_ID, service.url, TEST_API_KEY)],
			workflows: workflows(),
		});
		stops.push(async () => {
			fs.mkdirSync(ARTIFACTS, { recursive: true });
			fs.writeFileSync(path.join(ARTIFACTS, 'queue-main.log'), cluster.main.logs());
			for (const w of cluster.workers)
				fs.writeFileSync(path.join(ARTIFACTS, `queue-${w.name}.log`), w.logs());
			await cluster.stop();
		});
		await cluster.main.waitForWebhook(START_PATH, { method: 'POST' });
		await cluster.main.waitForWebhook(RESUME_PATH, { method: 'POST' });
		const post = async (webhookPath: string, body: unknown) => {
			const res = await fetch(`${cluster.main.url}/webhook/${webhookPath}`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify(body),
				signal: AbortSignal.timeout(300_000),
			});
			const text = await res.text();
			let parsed: unknown = text;
			try {
				parsed = JSON.parse(text);
			} catch {
				// Not JSON: keep the text for the assertion message.
			}
			return { status: res.status, body: parsed as any };
		};
		return { cluster, service, anthropic, sharedRoot, homeOf, post, stop };
	} catch (error) {
		await stop();
		throw error;
	}
}

/** The stack for one describe block: started before its tests, stopped after them. */
export function useQueueStack(): QueueE2eStack {
	return startedForBlock(() => startQueueStack(), 900_000, 'the queue-mode stack');
}
