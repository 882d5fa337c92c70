// `npm start`: the whole product on this machine with embedded defaults. The service (embedded database,
// dashboard) starts first and answers at once; then a real n8n (Node 24 + n8n 2.41.1, installed once into a cache
// outside the repository) starts with this package installed, the credential created and the templates imported.
//
//   npm start                                    service + local n8n
//   npm start -- --demo                          the same, with a scripted stand-in of the Anthropic API and a demo session
//   npm start -- --service-only                  the service alone
//   npm start -- --n8n-url URL --n8n-api-key KEY  service + the credential and templates installed into that n8n
//   npm start -- --queue                         service + n8n in queue mode: main + two workers (scripts/n8n/local-queue.ts)
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { orchestratorSettings } from '../nodes/shared/protocol/environment';
import { loadConfig } from '../service/src/config';
import { startService } from '../service/src/service';
import { claudeForN8n } from './claude-for-n8n';
import { runDemoSession, startDemo, type Demo } from './demo/demo';
import { ensureN8nCache, n8nCachePaths, startN8n } from './n8n/n8n-instance';
import { bindCredential, loadTemplates, ORCHESTRATOR_CREDENTIAL as CREDENTIAL } from './templates';
import { startLocalQueue } from './n8n/local-queue';

const ROOT = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
	const i = args.indexOf(name);
	return i >= 0 ? args[i + 1] : undefined;
};
const say = (msg: string) => process.stdout.write(`${msg}\n`);

// What claude needs from the user's shell, passed through to n8n (which starts claude).
const PASSED_TO_N8N =
	/^(ANTHROPIC_|CLAUDE_|E2B_API_KEY$|DISABLE_|IS_SANDBOX$|HTTPS?_PROXY$|NO_PROXY$|NODE_EXTRA_CA_CERTS$|GITHUB_TOKEN$)/;

const USAGE = `Usage: npm start [-- options]

  (no option)            the service and dashboard on an embedded database, then a local n8n with the nodes,
                         the "${CREDENTIAL.name}" credential and the templates
  --demo                 also a local scripted stand-in of the Anthropic API (no key needed) and a demo session
  --service-only         the service and dashboard alone
  --n8n-url URL --n8n-api-key KEY
                         the service here; the credential and templates go into that n8n

Environment: PORT, DATABASE_URL, DATA_DIR, API_KEY, … (README.md, Configuration); N8N_PORT (5678);
ANTHROPIC_*, CLAUDE_* and E2B_API_KEY are passed on to n8n.`;

const templates = () => loadTemplates(path.join(ROOT, 'workflows'));

function readOrCreate(file: string, make: () => string): string {
	if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
	fs.mkdirSync(path.dirname(file), { recursive: true });
	const value = make();
	fs.writeFileSync(file, value + '\n', { mode: 0o600 });
	return value;
}

async function installIntoExistingN8n(
	n8nUrl: string,
	n8nApiKey: string,
	credential: Record<string, unknown>,
) {
	const call = async (method: string, route: string, body: unknown) => {
		const res = await fetch(`${n8nUrl.replace(/\/+$/, '')}/api/v1${route}`, {
			method,
			headers: { 'X-N8N-API-KEY': n8nApiKey, 'content-type': 'application/json' },
			body: JSON.stringify(body),
			signal: AbortSignal.timeout(30_000),
		});
		const text = await res.text();
		if (!res.ok)
			throw new Error(`${method} ${route} on ${n8nUrl}: ${res.status} ${text.slice(0, 300)}`);
		return JSON.parse(text) as { id: string; name: string };
	};
	const cred = await call('POST', '/credentials', {
		name: CREDENTIAL.name,
		type: CREDENTIAL.type,
		data: credential,
	});
	say(`  credential "${cred.name}" created (id ${cred.id})`);
	for (const template of templates()) {
		const wf = bindCredential(template, cred);
		// The public API takes only these fields.
		const created = await call('POST', '/workflows', {
			name: wf.name,
			nodes: wf.nodes,
			connections: wf.connections,
			settings: wf.settings ?? {},
		});
		say(
			`  workflow "${created.name}" imported (id ${created.id}, inactive: add its Slack/email credentials, then activate it)`,
		);
	}
}

/** The allowed roots' default folder is created; roots the user named must already exist (a typo should not become a folder). */
function prepareAllowedRoots(): string[] {
	const { allowedRoots } = orchestratorSettings(process.env);
	const explicit = Boolean(process.env.CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS);
	for (const root of allowedRoots) {
		if (fs.existsSync(root)) continue;
		if (explicit)
			say(`  warning: allowed root ${root} does not exist; sessions cannot use it until it does`);
		else fs.mkdirSync(root, { recursive: true });
	}
	return allowedRoots;
}

/** The claude n8n will run, said once with its version and where it came from. */
async function sayClaude(dataDir: string) {
	const claude = await claudeForN8n({ packageRoot: ROOT, dataDir });
	say(
		`  claude                     ${claude.path}  (${claude.version ?? 'did not answer --version'}; from ${claude.source === 'PATH' ? 'your PATH' : "this package's dependencies"})`,
	);
	return claude;
}

async function main() {
	if (flag('--help') || flag('-h')) {
		say(USAGE);
		return;
	}
	const demoWanted = flag('--demo');
	const config = loadConfig({
		// n8n on this machine receives Hook Trigger deliveries on loopback.
		DELIVERY_ALLOWED_HOSTS: '127.0.0.1,localhost',
		...process.env,
		...(demoWanted ? { DEMO_MODE: '1' } : {}),
	});
	const service = await startService(config);
	const dataDir = config.dataDir;
	const credential = {
		baseUrl: service.url,
		apiKey: service.apiKey,
		publicUrl: config.publicUrl ?? '',
	};
	say(`\nClaude Orchestrator service  ${service.url}`);
	say(`  dashboard                  ${service.url}/  (sign in with the API key)`);
	say(`  API key                    ${service.apiKey}  (also in ${path.join(dataDir, 'api-key')})`);

	let stopN8n: (() => Promise<void>) | undefined;
	let demo: Demo | undefined;
	const n8nUrl = option('--n8n-url');
	if (n8nUrl) {
		const key = option('--n8n-api-key') ?? process.env.N8N_API_KEY;
		if (!key)
			throw new Error('--n8n-url needs --n8n-api-key (an n8n API key: n8n Settings → n8n API)');
		say(`\nInstalling the credential and the templates into ${n8nUrl}`);
		await installIntoExistingN8n(n8nUrl, key, credential);
	} else if (flag('--queue')) {
		await ensureN8nCache();
		const claude = await sayClaude(dataDir);
		stopN8n = await startLocalQueue({
			dataDir,
			packageDir: ROOT,
			shellEnv: process.env,
			passThrough: PASSED_TO_N8N,
			encryptionKey: readOrCreate(path.join(dataDir, 'n8n-encryption-key'), () =>
				crypto.randomBytes(24).toString('base64url'),
			),
			path: [claude.binDir, claude.searchPath].join(path.delimiter),
			credential: { ...CREDENTIAL, data: credential },
			templates: templates().map((wf) => bindCredential(wf, CREDENTIAL)),
			port: Number(process.env.N8N_PORT ?? 5678),
			say,
		});
	} else if (!flag('--service-only')) {
		const roots = prepareAllowedRoots();
		say(
			`  allowed roots              ${roots.join(', ')}  (local folders and worktree repositories must be inside)`,
		);
		const cacheReady = await n8nCachePaths().then(
			() => true,
			() => false,
		);
		if (!cacheReady)
			say(
				'\nFirst run: installing Node 24 and n8n 2.41.1 into a cache outside the repository (about 4 minutes, 3 GB; progress below)',
			);
		await ensureN8nCache();
		const claude = await sayClaude(dataDir);
		const userFolder = path.join(dataDir, 'n8n');
		const firstRun = !fs.existsSync(path.join(userFolder, '.templates-imported'));
		const env: Record<string, string> = {};
		for (const [k, v] of Object.entries(process.env))
			if (v !== undefined && PASSED_TO_N8N.test(k)) env[k] = v;
		env.N8N_ENCRYPTION_KEY = readOrCreate(path.join(dataDir, 'n8n-encryption-key'), () =>
			crypto.randomBytes(24).toString('base64url'),
		);
		env.PATH = [claude.binDir, claude.searchPath].join(path.delimiter);
		if (demoWanted) {
			demo = await startDemo({ dataDir, allowedRoot: roots[0] });
			Object.assign(env, demo.n8nEnv);
			say(
				`\nDemo: Anthropic API stand-in  ${demo.apiUrl}  (local and scripted: it follows the [[…]] steps in each prompt; it is not Claude)`,
			);
			say(`  demo repository            ${demo.repository}`);
		}
		if (firstRun)
			say('\nStarting n8n on a new data folder: it creates its database first (about a minute)');
		const n8n = await startN8n({
			userFolder,
			keepUserFolder: true,
			packageDir: ROOT,
			port: Number(process.env.N8N_PORT ?? 5678),
			env,
			credentials: [{ ...CREDENTIAL, data: credential }],
			readyTimeoutMs: 180_000,
		});
		stopN8n = () => n8n.stop();
		if (firstRun) {
			for (const wf of templates())
				await n8n.importWorkflow(bindCredential(wf, CREDENTIAL), { activate: false });
			fs.writeFileSync(
				path.join(userFolder, '.templates-imported'),
				new Date().toISOString() + '\n',
			);
		}
		say(`\nn8n                          ${n8n.url}  (create the owner account on first visit)`);
		say(`  credential                 "${CREDENTIAL.name}" → ${service.url}`);
		say(
			`  templates                  ${
				templates()
					.map((t) => t.name)
					.join(', ') || 'none'
			} (inactive until their Slack/email credentials are set)`,
		);
		if (demo) {
			await n8n.importWorkflow(bindCredential(demo.workflow, CREDENTIAL), { activate: true });
			await n8n.waitForWebhook('claude/demo', { method: 'POST', timeoutMs: 60_000 });
			say(
				`\nRunning a demo session: POST ${n8n.url}/webhook/claude/demo (workflow "${demo.workflow.name}")`,
			);
			try {
				const outcome = await runDemoSession(n8n.url, demo);
				say(
					`  session                    ${outcome.sessionId}  ${outcome.status}: ${outcome.result}`,
				);
				if (outcome.commit)
					say(
						`  change                     ${outcome.commit}  (branch ${outcome.branch} of ${demo.repository})`,
					);
				say(
					`  see it                     ${service.url}/#/sessions/${outcome.sessionId}  (tool calls, hook events, messages)`,
				);
			} catch (err) {
				say(
					`  the demo session failed: ${err instanceof Error ? err.message : String(err)} (n8n's log: ${path.join(userFolder, 'n8n.log')})`,
				);
			}
			say(
				`  run another                curl -X POST ${n8n.url}/webhook/claude/demo -H 'content-type: application/json' \\`,
			);
			say(
				`                               -d '{"repository":"${demo.repository}","prompt":"[[bash:git status]]"}'`,
			);
		}
	}
	say('\nPress Ctrl-C to stop.');

	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		setTimeout(() => process.exit(1), 30_000).unref();
		await stopN8n?.().catch((e: unknown) => say(`n8n did not stop cleanly: ${String(e)}`));
		await demo?.close();
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
