// `npm start -- --queue`: n8n in queue mode on this machine, as a team runs it on several: Redis (6379), n8n's
// database on PostgreSQL, one main process and two workers, each worker with its own HOME (its own claude
// conversations and GitHub clones) and one shared folder for local and worktree sessions. Kept under DATA_DIR
// between runs; the templates are imported once, inactive.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { N8nCredential, N8nWorkflow } from './n8n-instance';
import { startN8nQueue } from './n8n-queue';

export interface LocalQueueOptions {
	dataDir: string;
	packageDir: string;
	/** The shell's environment; what matches `passThrough` (claude's settings) reaches every n8n process. */
	shellEnv: NodeJS.ProcessEnv;
	passThrough: RegExp;
	/** The same for every process: workers decrypt the credentials the main process stored. */
	encryptionKey: string;
	/** PATH for every n8n process, a working claude first (scripts/claude-for-n8n.ts). */
	path: string;
	credential: N8nCredential;
	templates: N8nWorkflow[];
	port: number;
	say(message: string): void;
}

/** Starts the stack and says where everything is; resolves to its stop function. */
export async function startLocalQueue(opts: LocalQueueOptions): Promise<() => Promise<void>> {
	const baseDir = path.join(opts.dataDir, 'n8n-queue');
	const env: Record<string, string> = {};
	for (const [k, v] of Object.entries(opts.shellEnv))
		if (v !== undefined && opts.passThrough.test(k)) env[k] = v;
	env.N8N_ENCRYPTION_KEY = opts.encryptionKey;
	env.PATH = opts.path;
	// Local-folder and worktree sessions must be on storage every worker shares: here, one folder of this machine.
	const sharedRoot = env.CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS || path.join(baseDir, 'shared-projects');
	fs.mkdirSync(sharedRoot, { recursive: true });
	const firstRun = !fs.existsSync(path.join(baseDir, '.templates-imported'));
	opts.say('\nStarting n8n in queue mode: main + 2 workers (Redis, n8n database on PostgreSQL)');
	const stack = await startN8nQueue({
		baseDir,
		packageDir: opts.packageDir,
		workers: 2,
		port: opts.port,
		postgresUrl: opts.shellEnv.N8N_QUEUE_POSTGRES_URL,
		databaseName: opts.shellEnv.N8N_QUEUE_DATABASE || 'claude_orchestrator_n8n',
		redis: {
			host: opts.shellEnv.N8N_QUEUE_REDIS_HOST || '127.0.0.1',
			port: Number(opts.shellEnv.N8N_QUEUE_REDIS_PORT || 6379),
		},
		queuePrefix: 'claude_orchestrator',
		env: { ...env, CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS: sharedRoot },
		workerEnv: (_i, folder) => ({
			HOME: path.join(folder, 'home'),
			CLAUDE_ORCHESTRATOR_HOME: path.join(folder, 'orchestrator'),
		}),
		credentials: [opts.credential],
		readyTimeoutMs: 180_000,
	});
	if (firstRun) {
		for (const wf of opts.templates) await stack.main.importWorkflow(wf, { activate: false });
		fs.writeFileSync(path.join(baseDir, '.templates-imported'), new Date().toISOString() + '\n');
	}
	opts.say(
		`\nn8n (queue mode)             ${stack.main.url}  (create the owner account on first visit)`,
	);
	opts.say(
		`  workers                    ${stack.workers.map((w) => `${w.name} (HOME ${path.join(w.userFolder, 'home')})`).join(', ')}`,
	);
	opts.say(
		`  n8n database               "${stack.databaseName}" on PostgreSQL; Redis queue prefix "claude_orchestrator"`,
	);
	opts.say(`  shared workspace root      ${sharedRoot}  (CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS)`);
	opts.say(
		`  templates                  ${opts.templates.map((t) => t.name).join(', ') || 'none'} (inactive until their Slack/email credentials are set)`,
	);
	return () => stack.stop();
}
