// n8n in queue mode on this machine (reference/n8n.md §6, §8): one main process that receives webhooks and
// enqueues executions in Redis, and workers that run them. n8n's own database is PostgreSQL (queue mode needs
// one database every process shares); each worker has its own user folder and HOME, as separate machines would,
// with the community package installed in each.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';

import { freePort } from './free-port';
import { installFromDir } from './install-package';
import { n8nCachePaths, type N8nCachePaths } from './n8n-cache';
import { HARNESS_ENCRYPTION_KEY, n8nEnv } from './n8n-env';
import { startN8n, type N8nCredential, type N8nInstance, type N8nWorkflow } from './n8n-instance';
import { LogSink, spawnGroup, stopGroup, type SpawnedGroup } from './process-group';
import { setTimeout as sleep } from 'node:timers/promises';

export interface QueueStackOptions {
	/** Folders of the main process and the workers are made under it. */
	baseDir: string;
	/** A built package root installed into every user folder. */
	packageDir: string;
	workers?: number;
	/** Given to every process (claude's environment, the allowed roots…). */
	env?: Record<string, string>;
	/** Given to one worker only, over `env`: its own HOME, at least. */
	workerEnv?: (index: number, folder: string) => Record<string, string>;
	credentials?: N8nCredential[];
	workflows?: N8nWorkflow[];
	port?: number;
	/** Where n8n's database is created: a PostgreSQL URL whose user may CREATE DATABASE. */
	postgresUrl?: string;
	/** n8n's database; made when missing. Default: a fresh one per stack, dropped on stop. */
	databaseName?: string;
	redis?: { host: string; port: number };
	/** Bull's key prefix in Redis: stacks sharing a Redis never see each other's jobs. */
	queuePrefix?: string;
	readyTimeoutMs?: number;
}

export interface N8nWorker {
	readonly name: string;
	readonly userFolder: string;
	isRunning(): boolean;
	/** The worker process (leader of its process group). */
	readonly pid: number | undefined;
	start(): Promise<void>;
	/** SIGTERM: n8n lets running jobs finish first. */
	stop(): Promise<void>;
	/** SIGKILL to the worker and everything it started, claude included: what a machine that dies does. */
	kill(): Promise<void>;
	logs(): string;
}

export interface N8nQueueStack {
	main: N8nInstance;
	workers: N8nWorker[];
	databaseName: string;
	stop(): Promise<void>;
}

const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

async function ensureDatabase(adminUrl: string, name: string): Promise<boolean> {
	if (!NAME.test(name))
		throw new Error(
			`n8n database name ${JSON.stringify(name)}: use lower-case letters, digits and _`,
		);
	const client = new Client({ connectionString: adminUrl });
	await client.connect();
	try {
		const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
		if (rowCount) return false;
		await client.query(`CREATE DATABASE "${name}"`);
		return true;
	} finally {
		await client.end();
	}
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
	const client = new Client({ connectionString: adminUrl });
	await client.connect();
	try {
		await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
	} finally {
		await client.end();
	}
}

/** The settings every process of the stack shares: queue mode on Redis, one PostgreSQL database, one key. */
function queueEnv(
	pg: URL,
	databaseName: string,
	redis: { host: string; port: number },
	prefix: string,
): Record<string, string> {
	return {
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: redis.host,
		QUEUE_BULL_REDIS_PORT: String(redis.port),
		QUEUE_BULL_PREFIX: prefix,
		OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: pg.hostname,
		DB_POSTGRESDB_PORT: pg.port || '5432',
		DB_POSTGRESDB_DATABASE: databaseName,
		DB_POSTGRESDB_USER: decodeURIComponent(pg.username || 'postgres'),
		...(pg.password ? { DB_POSTGRESDB_PASSWORD: decodeURIComponent(pg.password) } : {}),
		N8N_ENCRYPTION_KEY: HARNESS_ENCRYPTION_KEY,
	};
}

export async function startN8nQueue(opts: QueueStackOptions): Promise<N8nQueueStack> {
	const cache = await n8nCachePaths();
	const adminUrl =
		opts.postgresUrl ??
		process.env.N8N_QUEUE_POSTGRES_URL ??
		'postgres://postgres@127.0.0.1:5432/postgres';
	const suffix = `${process.pid}_${Date.now().toString(36)}`;
	const databaseName = opts.databaseName ?? `n8n_queue_${suffix}`;
	const created = await ensureDatabase(adminUrl, databaseName);
	const dropOnStop = !opts.databaseName && created;
	const shared = {
		...queueEnv(
			new URL(adminUrl),
			databaseName,
			opts.redis ?? { host: '127.0.0.1', port: 6379 },
			opts.queuePrefix ?? `n8nq_${suffix}`,
		),
		...(opts.env ?? {}),
	};
	const workers: QueueWorker[] = [];
	let main: N8nInstance | undefined;
	const stop = async () => {
		await Promise.all(workers.map((w) => w.stop().catch(() => undefined)));
		await main?.stop().catch(() => undefined);
		if (dropOnStop) await dropDatabase(adminUrl, databaseName).catch(() => undefined);
	};
	try {
		const mainFolder = path.join(opts.baseDir, 'main');
		// The main process runs no executions, but imports and activates the workflows (n8n's own migrations run here first).
		main = await startN8n({
			userFolder: mainFolder,
			packageDir: opts.packageDir,
			port: opts.port,
			env: { ...shared, HOME: path.join(mainFolder, 'home') },
			credentials: opts.credentials,
			workflows: opts.workflows,
			readyTimeoutMs: opts.readyTimeoutMs,
		});
		for (let i = 0; i < (opts.workers ?? 2); i++) {
			const name = `worker-${String.fromCharCode(97 + i)}`;
			const folder = path.join(opts.baseDir, name);
			fs.mkdirSync(path.join(folder, 'home'), { recursive: true });
			installFromDir(folder, opts.packageDir);
			const env = {
				...shared,
				HOME: path.join(folder, 'home'),
				...(opts.workerEnv?.(i, folder) ?? {}),
			};
			workers.push(new QueueWorker(cache, name, folder, env, opts.readyTimeoutMs ?? 120_000));
		}
		await Promise.all(workers.map((w) => w.start()));
		return { main, workers, databaseName, stop };
	} catch (error) {
		await stop();
		throw error;
	}
}

class QueueWorker implements N8nWorker {
	private group: SpawnedGroup | undefined;
	private readonly log: LogSink;

	constructor(
		private readonly cache: N8nCachePaths,
		readonly name: string,
		readonly userFolder: string,
		private readonly extra: Record<string, string>,
		private readonly readyTimeoutMs: number,
	) {
		this.log = new LogSink(path.join(userFolder, 'n8n-worker.log'));
	}

	get pid(): number | undefined {
		return this.group?.isRunning() ? this.group.child.pid : undefined;
	}

	isRunning(): boolean {
		return this.group?.isRunning() ?? false;
	}

	async start(): Promise<void> {
		if (this.isRunning()) return;
		const healthPort = await freePort();
		const env = n8nEnv({
			cache: this.cache,
			userFolder: this.userFolder,
			port: await freePort(),
			brokerPort: await freePort(),
			extra: {
				...this.extra,
				QUEUE_HEALTH_CHECK_ACTIVE: 'true',
				QUEUE_HEALTH_CHECK_PORT: String(healthPort),
			},
		});
		this.log.write(
			`\n[harness] ${this.name} start (user folder ${this.userFolder}, HOME ${env.HOME})\n`,
		);
		const group = spawnGroup(this.cache.nodeBin, [this.cache.n8nBin, 'worker', '--concurrency=5'], {
			cwd: this.userFolder,
			env,
			log: this.log,
		});
		this.group = group;
		const deadline = Date.now() + this.readyTimeoutMs;
		while (Date.now() < deadline) {
			if (!group.isRunning())
				throw new Error(`${this.name} exited during startup:\n${this.log.tail(40)}`);
			const res = await fetch(`http://127.0.0.1:${healthPort}/healthz/readiness`, {
				signal: AbortSignal.timeout(2_000),
			}).catch(() => undefined);
			if (res?.ok) return;
			await sleep(250);
		}
		throw new Error(
			`${this.name} was not ready within ${this.readyTimeoutMs} ms:\n${this.log.tail(40)}`,
		);
	}

	async stop(): Promise<void> {
		const group = this.group;
		this.group = undefined;
		if (group) await stopGroup(group, 30_000);
		this.log.write(`\n[harness] ${this.name} stopped\n`);
	}

	async kill(): Promise<void> {
		const group = this.group;
		const pid = group?.child.pid;
		if (!group || pid === undefined) return;
		// claude runs in a process group of its own (the runner detaches it): find it through the parent chain.
		for (const p of [...descendants(pid), pid]) {
			try {
				process.kill(p, 'SIGKILL');
			} catch {
				// Already gone.
			}
		}
		await group.exited;
		this.group = undefined;
		await stopGroup(group, 1_000).catch(() => undefined);
		this.log.write(`\n[harness] ${this.name} killed (SIGKILL)\n`);
	}

	logs(): string {
		return this.log.toString();
	}
}

/** Every process below `pid`, from /proc. */
export function descendants(pid: number): number[] {
	const children = new Map<number, number[]>();
	for (const entry of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
			const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
			children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
		} catch {
			// Exited meanwhile.
		}
	}
	const out: number[] = [];
	const walk = (p: number) => {
		for (const c of children.get(p) ?? []) {
			out.push(c);
			walk(c);
		}
	};
	walk(pid);
	return out;
}
