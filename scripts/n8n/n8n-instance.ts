import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { listExecutions, waitForExecutions, type N8nExecution } from './executions';
import { freePort } from './free-port';
import { installFromDir, installTarball } from './install-package';
import { N8nApi } from './n8n-api';
import { n8nCachePaths, type N8nCachePaths } from './n8n-cache';
import { runN8nCli, writeInputFile } from './n8n-cli';
import { n8nEnv } from './n8n-env';
import { LogSink, spawnGroup, stopGroup, type SpawnedGroup } from './process-group';
import { setTimeout as sleep } from 'node:timers/promises';

export { nodeOutput, type N8nExecution, type N8nNodeRun } from './executions';
export { HARNESS_ENCRYPTION_KEY } from './n8n-env';
export {
	ensureN8nCache,
	n8nCachePaths,
	COLD_INSTALL_TIMEOUT_MS,
	type N8nCachePaths,
} from './n8n-cache';

/** As `n8n import:credentials` takes it: `data` in plain text, n8n encrypts it with the instance key. */
export interface N8nCredential {
	id: string;
	name: string;
	type: string;
	data: Record<string, unknown>;
}

/** Workflow JSON as exported by n8n; `id` is required so tests can address it. */
export interface N8nWorkflow {
	id: string;
	name: string;
	nodes: Array<Record<string, unknown>>;
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
	[key: string]: unknown;
}

export interface StartN8nOptions {
	/** `npm pack` output: installed with its runtime dependencies, as a user would (realistic, slower). */
	packageTarball?: string;
	/** A built package root: `files` copied, runtime dependencies linked from its node_modules (fast path). */
	packageDir?: string;
	/** Added to (and overriding) the harness env; the shell's env is not inherited beyond PATH/HOME/locale. */
	env?: Record<string, string>;
	port?: number;
	/** Reuse a folder (e.g. from a stopped instance) instead of a fresh temporary one. */
	userFolder?: string;
	/** Imported with the CLI before n8n starts. */
	credentials?: N8nCredential[];
	/** Imported with the CLI before n8n starts, then activated through the API once it is ready. */
	workflows?: N8nWorkflow[];
	/** Keep a folder the harness created after stop() (folders passed in are never deleted). */
	keepUserFolder?: boolean;
	readyTimeoutMs?: number;
}

export interface N8nInstance {
	/** `http://127.0.0.1:<port>`, no trailing slash; production webhooks live under `${url}/webhook/`. */
	readonly url: string;
	readonly port: number;
	readonly userFolder: string;
	/** Where the community package was installed, if one was given. */
	readonly packagePath: string | undefined;
	/** Works running or stopped: credentials are read from the database at execution time. */
	importCredential(cred: N8nCredential | N8nCredential[]): Promise<void>;
	/** CLI import; then activation through the public API now (running) or right after the next start (stopped). */
	importWorkflow(workflow: N8nWorkflow, opts?: { activate?: boolean }): Promise<void>;
	activate(workflowId: string): Promise<void>;
	deactivate(workflowId: string): Promise<void>;
	/** Polls until a production webhook (path after `/webhook/`) is registered; activation is asynchronous. */
	waitForWebhook(
		webhookPath: string,
		opts?: { method?: string; timeoutMs?: number },
	): Promise<void>;
	/** All executions of a workflow with their run data, oldest first. */
	executions(workflowId: string): Promise<N8nExecution[]>;
	/** Polls until `count` executions (default 1) have finished; webhooks answer before n8n saves them. */
	waitForExecutions(
		workflowId: string,
		count?: number,
		timeoutMs?: number,
	): Promise<N8nExecution[]>;
	/** Public API (`/api/v1` + route) with a harness-made API key. */
	api<T = unknown>(method: string, route: string, body?: unknown): Promise<T>;
	/** Any n8n CLI command with this instance's env, e.g. `['execute', '--id=x', '--rawOutput']`. */
	cli(args: string[]): Promise<string>;
	/** Stop then start on the same folder and port (webhook URLs stay valid). Also starts a stopped instance. */
	restart(): Promise<void>;
	/** Kills the whole process group and waits until it is gone; removes a harness-made folder. */
	stop(): Promise<void>;
	/** Server and CLI output of every run so far (also in `<userFolder>/n8n.log`). */
	logs(): string;
}

const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 20_000;

export async function startN8n(opts: StartN8nOptions = {}): Promise<N8nInstance> {
	const cache = await n8nCachePaths();
	const ownsFolder = !opts.userFolder;
	const userFolder = opts.userFolder ?? fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-harness-'));
	fs.mkdirSync(userFolder, { recursive: true });
	let packagePath: string | undefined;
	if (opts.packageTarball) packagePath = await installTarball(userFolder, opts.packageTarball);
	if (opts.packageDir) packagePath = installFromDir(userFolder, opts.packageDir);
	const port = opts.port ?? (await freePort());
	const env = n8nEnv({ cache, userFolder, port, brokerPort: await freePort(), extra: opts.env });
	const removeFolder = ownsFolder && !opts.keepUserFolder;
	const instance = new Instance(
		cache,
		env,
		userFolder,
		port,
		packagePath,
		removeFolder,
		opts.readyTimeoutMs ?? READY_TIMEOUT_MS,
	);
	try {
		if (opts.credentials?.length) await instance.importCredential(opts.credentials);
		if (opts.workflows?.length) await instance.importWorkflows(opts.workflows, true);
		await instance.start();
	} catch (err) {
		await instance.stop().catch(() => undefined);
		throw err;
	}
	return instance;
}

class Instance implements N8nInstance {
	readonly url: string;
	private readonly log: LogSink;
	private readonly rest: N8nApi;
	private server: SpawnedGroup | undefined;
	// Workflows to activate after the next start: activation goes through the running server's API.
	private readonly pending = new Set<string>();

	constructor(
		private readonly cache: N8nCachePaths,
		private readonly env: Record<string, string>,
		readonly userFolder: string,
		readonly port: number,
		readonly packagePath: string | undefined,
		private readonly removeFolderOnStop: boolean,
		private readonly readyTimeoutMs: number,
	) {
		this.url = `http://127.0.0.1:${port}`;
		this.log = new LogSink(path.join(userFolder, 'n8n.log'));
		this.rest = new N8nApi(() => this.url, userFolder);
	}

	async start(): Promise<void> {
		if (this.server?.isRunning()) throw new Error('n8n is already running');
		this.log.write(`\n[harness] n8n start on ${this.url} (user folder ${this.userFolder})\n`);
		const started = Date.now();
		const server = spawnGroup(this.cache.nodeBin, [this.cache.n8nBin, 'start'], {
			cwd: this.userFolder,
			env: this.env,
			log: this.log,
		});
		this.server = server;
		await this.waitReady(server);
		this.log.write(`\n[harness] ready in ${Date.now() - started} ms\n`);
		for (const id of [...this.pending]) {
			await this.activate(id);
			this.pending.delete(id);
		}
	}

	private async waitReady(server: SpawnedGroup): Promise<void> {
		const deadline = Date.now() + this.readyTimeoutMs;
		while (Date.now() < deadline) {
			if (!server.isRunning()) {
				const { code, signal } = await server.exited;
				throw new Error(
					`n8n exited during startup (${signal ?? `exit ${code}`}):\n${this.log.tail(40)}`,
				);
			}
			try {
				const res = await fetch(`${this.url}/healthz/readiness`, {
					signal: AbortSignal.timeout(2_000),
				});
				if (res.ok) return;
			} catch {
				// Not listening yet.
			}
			await sleep(200);
		}
		throw new Error(`n8n was not ready within ${this.readyTimeoutMs} ms:\n${this.log.tail(40)}`);
	}

	async importCredential(cred: N8nCredential | N8nCredential[]): Promise<void> {
		const file = writeInputFile(
			this.userFolder,
			'credentials',
			Array.isArray(cred) ? cred : [cred],
		);
		await this.cli(['import:credentials', `--input=${file}`]);
	}

	importWorkflow(workflow: N8nWorkflow, opts: { activate?: boolean } = {}): Promise<void> {
		return this.importWorkflows([workflow], opts.activate ?? true);
	}

	async importWorkflows(workflows: N8nWorkflow[], activate: boolean): Promise<void> {
		for (const wf of workflows)
			if (!wf.id) throw new Error(`workflow "${wf.name}" needs an id to be imported`);
		// Imported inactive: activation through the API runs the nodes' webhook create() and reports its errors.
		const file = writeInputFile(
			this.userFolder,
			'workflows',
			workflows.map((wf) => ({ ...wf, active: false })),
		);
		await this.cli(['import:workflow', `--input=${file}`]);
		if (!activate) return;
		for (const wf of workflows) {
			if (this.server?.isRunning()) await this.activate(wf.id);
			else this.pending.add(wf.id);
		}
	}

	async activate(workflowId: string): Promise<void> {
		await this.api('POST', `/workflows/${encodeURIComponent(workflowId)}/activate`);
	}

	async deactivate(workflowId: string): Promise<void> {
		await this.api('POST', `/workflows/${encodeURIComponent(workflowId)}/deactivate`);
	}

	async waitForWebhook(
		webhookPath: string,
		{ method, timeoutMs = 15_000 }: { method?: string; timeoutMs?: number } = {},
	): Promise<void> {
		const url = `${this.url}/webhook/${webhookPath.replace(/^\/+/, '')}`;
		const deadline = Date.now() + timeoutMs;
		let allowed = '';
		while (Date.now() < deadline) {
			// A CORS preflight lists the path's registered methods (webhook_entity rows) and starts no execution.
			// Without an Origin header n8n answers 204 for any path, so the header is what makes this a probe.
			const res = await fetch(url, {
				method: 'OPTIONS',
				headers: { origin: this.url },
				signal: AbortSignal.timeout(2_000),
			}).catch(() => undefined);
			allowed = res?.headers.get('access-control-allow-methods') ?? '';
			const methods = allowed
				.split(',')
				.map((m) => m.trim().toUpperCase())
				.filter((m) => m && m !== 'OPTIONS');
			if (method ? methods.includes(method.toUpperCase()) : methods.length > 0) return;
			await sleep(100);
		}
		throw new Error(
			`webhook ${url} not registered${method ? ` for ${method}` : ''} within ${timeoutMs} ms (allowed methods: "${allowed}")`,
		);
	}

	executions(workflowId: string): Promise<N8nExecution[]> {
		return listExecutions(this.rest, workflowId);
	}

	waitForExecutions(
		workflowId: string,
		count?: number,
		timeoutMs?: number,
	): Promise<N8nExecution[]> {
		return waitForExecutions(this.rest, workflowId, count, timeoutMs);
	}

	api<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
		if (!this.server?.isRunning()) return Promise.reject(new Error('n8n is not running'));
		return this.rest.request<T>(method, route, body);
	}

	cli(args: string[]): Promise<string> {
		return runN8nCli(this.cache, this.env, args, this.log);
	}

	async restart(): Promise<void> {
		await this.halt();
		await this.start();
	}

	async stop(): Promise<void> {
		await this.halt();
		if (this.removeFolderOnStop) fs.rmSync(this.userFolder, { recursive: true, force: true });
	}

	private async halt(): Promise<void> {
		if (!this.server) return;
		const server = this.server;
		this.server = undefined;
		const started = Date.now();
		await stopGroup(server, STOP_GRACE_MS);
		this.log.write(`\n[harness] n8n stopped in ${Date.now() - started} ms\n`);
	}

	logs(): string {
		return this.log.toString();
	}
}
