// `npm start`: the whole product on this machine with embedded defaults. The service (embedded database,
// dashboard) starts first and answers at once; then a real n8n (Node 24 + n8n 2.41.1, installed once into a cache
// outside the repository) starts with this package installed, the credential created and the templates imported.
//
//   npm start                                    service + local n8n
//   npm start -- --service-only                  the service alone
//   npm start -- --n8n-url URL --n8n-api-key KEY  service + the credential and templates installed into that n8n
//   npm start -- --queue                         service + n8n in queue mode: main + two workers (scripts/n8n/local-queue.ts)
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../service/src/config';
import { startService } from '../service/src/service';
import { startLocalQueue } from './n8n/local-queue';
import { ensureN8nCache, startN8n, type N8nWorkflow } from './n8n/n8n-instance';

const ROOT = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
	const i = args.indexOf(name);
	return i >= 0 ? args[i + 1] : undefined;
};
const say = (msg: string) => process.stdout.write(`${msg}\n`);

// What claude needs from the user's shell, passed through to n8n (which starts claude).
const PASSED_TO_N8N = /^(ANTHROPIC_|CLAUDE_|E2B_API_KEY$|DISABLE_|IS_SANDBOX$|HTTPS?_PROXY$|NO_PROXY$|NODE_EXTRA_CA_CERTS$|GITHUB_TOKEN$)/;

function templates(): N8nWorkflow[] {
	const dir = path.join(ROOT, 'workflows');
	if (!fs.existsSync(dir)) return [];
	return fs
		.readdirSync(dir)
		.filter((f) => f.endsWith('.json'))
		.sort()
		.map((f) => {
			const wf = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as N8nWorkflow;
			// Templates carry no ids; a stable one per file lets a later start re-import over the same workflow.
			return { ...wf, id: wf.id || crypto.createHash('sha256').update(f).digest('hex').slice(0, 16) };
		});
}

/** The claude binary installed with this package's dev dependencies, when none is on PATH. */
function bundledClaudeDir(): string | undefined {
	const scope = path.join(ROOT, 'node_modules', '@anthropic-ai');
	if (!fs.existsSync(scope)) return undefined;
	const platform = fs.readdirSync(scope).find((d) => d.startsWith('claude-code-') && fs.existsSync(path.join(scope, d, 'claude')));
	return platform ? path.join(scope, platform) : undefined;
}

function readOrCreate(file: string, make: () => string): string {
	if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
	fs.mkdirSync(path.dirname(file), { recursive: true });
	const value = make();
	fs.writeFileSync(file, value + '\n', { mode: 0o600 });
	return value;
}

async function installIntoExistingN8n(n8nUrl: string, n8nApiKey: string, credential: Record<string, unknown>) {
	const call = async (method: string, route: string, body: unknown) => {
		const res = await fetch(`${n8nUrl.replace(/\/+$/, '')}/api/v1${route}`, {
			method,
			headers: { 'X-N8N-API-KEY': n8nApiKey, 'content-type': 'application/json' },
			body: JSON.stringify(body),
			signal: AbortSignal.timeout(30_000),
		});
		const text = await res.text();
		if (!res.ok) throw new Error(`${method} ${route} on ${n8nUrl}: ${res.status} ${text.slice(0, 300)}`);
		return JSON.parse(text) as { id: string; name: string };
	};
	const cred = await call('POST', '/credentials', { name: 'Claude Orchestrator', type: 'claudeOrchestratorApi', data: credential });
	say(`  credential "${cred.name}" created (id ${cred.id})`);
	for (const wf of templates()) {
		// The public API takes only these fields.
		const created = await call('POST', '/workflows', { name: wf.name, nodes: wf.nodes, connections: wf.connections, settings: wf.settings ?? {} });
		say(`  workflow "${created.name}" imported (id ${created.id}, inactive: add its Slack/email credentials, then activate it)`);
	}
}

async function main() {
	const config = loadConfig({
		// n8n on this machine receives Hook Trigger deliveries on loopback.
		DELIVERY_ALLOWED_HOSTS: '127.0.0.1,localhost',
		...process.env,
	});
	const service = await startService(config);
	const dataDir = config.dataDir;
	const credential = { baseUrl: service.url, apiKey: service.apiKey, publicUrl: config.publicUrl ?? '' };
	say(`\nClaude Orchestrator service  ${service.url}`);
	say(`  dashboard                  ${service.url}/  (sign in with the API key)`);
	say(`  API key                    ${service.apiKey}  (also in ${path.join(dataDir, 'api-key')})`);

	let stopN8n: (() => Promise<void>) | undefined;
	const n8nUrl = option('--n8n-url');
	if (n8nUrl) {
		const key = option('--n8n-api-key') ?? process.env.N8N_API_KEY;
		if (!key) throw new Error('--n8n-url needs --n8n-api-key (an n8n API key: n8n Settings → n8n API)');
		say(`\nInstalling the credential and the templates into ${n8nUrl}`);
		await installIntoExistingN8n(n8nUrl, key, credential);
	} else if (flag('--queue')) {
		await ensureN8nCache();
		stopN8n = await startLocalQueue({
			dataDir,
			packageDir: ROOT,
			shellEnv: process.env,
			passThrough: PASSED_TO_N8N,
			encryptionKey: readOrCreate(path.join(dataDir, 'n8n-encryption-key'), () => crypto.randomBytes(24).toString('base64url')),
			claudeDir: bundledClaudeDir(),
			credential: { id: 'claudeOrchCred001', name: 'Claude Orchestrator', type: 'claudeOrchestratorApi', data: credential },
			templates: templates(),
			port: Number(process.env.N8N_PORT ?? 5678),
			say,
		});
	} else if (!flag('--service-only')) {
		say('\nPreparing n8n (first run: installs Node 24 and n8n 2.41.1 into a cache outside the repository, ~4 min)');
		await ensureN8nCache();
		const userFolder = path.join(dataDir, 'n8n');
		const firstRun = !fs.existsSync(path.join(userFolder, '.templates-imported'));
		const env: Record<string, string> = {};
		for (const [k, v] of Object.entries(process.env)) if (v !== undefined && PASSED_TO_N8N.test(k)) env[k] = v;
		env.N8N_ENCRYPTION_KEY = readOrCreate(path.join(dataDir, 'n8n-encryption-key'), () => crypto.randomBytes(24).toString('base64url'));
		const claudeDir = bundledClaudeDir();
		if (claudeDir) env.PATH = `${process.env.PATH ?? ''}${path.delimiter}${claudeDir}`;
		const n8n = await startN8n({
			userFolder,
			keepUserFolder: true,
			packageDir: ROOT,
			port: Number(process.env.N8N_PORT ?? 5678),
			env,
			credentials: [{ id: 'claudeOrchCred001', name: 'Claude Orchestrator', type: 'claudeOrchestratorApi', data: credential }],
			readyTimeoutMs: 180_000,
		});
		if (firstRun) {
			for (const wf of templates()) await n8n.importWorkflow(wf, { activate: false });
			fs.writeFileSync(path.join(userFolder, '.templates-imported'), new Date().toISOString() + '\n');
		}
		stopN8n = () => n8n.stop();
		say(`\nn8n                          ${n8n.url}  (create the owner account on first visit)`);
		say(`  credential                 "Claude Orchestrator" → ${service.url}`);
		say(`  templates                  ${templates().map((t) => t.name).join(', ') || 'none'} (inactive until their Slack/email credentials are set)`);
	}
	say('\nPress Ctrl-C to stop.');

	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		setTimeout(() => process.exit(1), 30_000).unref();
		await stopN8n?.().catch((e: unknown) => say(`n8n did not stop cleanly: ${String(e)}`));
		await service.close();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop());
	process.on('SIGTERM', () => void stop());
}

main().catch((err) => {
	process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
	process.exit(1);
});
