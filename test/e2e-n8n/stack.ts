// Everything the template scenarios run against, started once per suite: the real n8n with this package
// installed, the service (PostgreSQL when TEST_DATABASE_URL is set, else PGlite), the real claude CLI pointed at
// the fake Anthropic API, the fake Slack behind a CONNECT proxy, a private dovecot and an SMTP sink.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestService, TEST_API_KEY, type TestService } from '../../service/test/harness';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-api';
import { claudeBinary, isolatedClaudeEnv } from '../fakes/claude-cli';
import { startDovecot, startSmtpSink, type Dovecot, type SmtpSink } from '../fakes/mail';
import { startFakeSlack, type FakeSlack } from '../fakes/slack';
import { ensureN8nCache, startN8n, type N8nCredential, type N8nInstance } from '../n8n/n8n-instance';
import { createBaseRepository } from './base-repository';
import { pollUntil } from './poll';
import { configuredTemplate, CREDENTIAL_NAMES, type Template, type TemplateName } from './templates';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e-n8n');

export const SLACK_CHANNEL = 'C0E2ECLAUDE';
export const MAIL = { address: 'claude@example.test', password: 'imap-e2e-pass', from: 'Claude E2E' };

export const WORKFLOW_IDS: Record<TemplateName, string> = {
	start: 'e2eStartSession1',
	slack: 'e2eSlackThread01',
	email: 'e2eEmailThread01',
	hooks: 'e2eHookNotify001',
};

export interface E2eStack {
	n8n: N8nInstance;
	service: TestService;
	anthropic: FakeAnthropic;
	slack: FakeSlack;
	dovecot: Dovecot;
	smtp: SmtpSink;
	baseRepository: string;
	workflows: Record<TemplateName, Template>;
	databaseKind: 'postgres' | 'pglite';
	/** Milliseconds per start-up step, for the report. */
	timings: Record<string, number>;
	stop(): Promise<void>;
}

/** A stale dist/ would test yesterday's nodes: say so loudly (the harness installs dist/, not the sources). */
function warnIfStale(): void {
	const built = path.join(REPO_ROOT, 'dist', 'nodes', 'ClaudeSessionStart', 'ClaudeSessionStart.node.js');
	if (!fs.existsSync(built)) throw new Error('dist/ is missing: run `npm run build` before `npm run test:e2e`');
	const builtAt = fs.statSync(built).mtimeMs;
	const newer: string[] = [];
	const walk = (dir: string) => {
		for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
			const p = path.join(dir, entry.name);
			if (entry.isDirectory() && entry.name !== '__tests__') walk(p);
			else if (entry.name.endsWith('.ts') && fs.statSync(p).mtimeMs > builtAt) newer.push(path.relative(REPO_ROOT, p));
		}
	};
	walk(path.join(REPO_ROOT, 'nodes'));
	walk(path.join(REPO_ROOT, 'credentials'));
	if (newer.length) process.stderr.write(`e2e: dist/ is older than ${newer.slice(0, 5).join(', ')}: run \`npm run build\` first\n`);
}

function credentials(service: TestService, slack: FakeSlack, dovecot: Dovecot): N8nCredential[] {
	return [
		{
			id: 'e2eOrchestrator1',
			name: CREDENTIAL_NAMES.claudeOrchestratorApi,
			type: 'claudeOrchestratorApi',
			data: { baseUrl: service.url, apiKey: TEST_API_KEY, publicUrl: '' },
		},
		{ id: 'e2eSlackBot00001', name: CREDENTIAL_NAMES.slackApi, type: 'slackApi', data: slack.credentialData },
		{
			id: 'e2eImapMailbox01',
			name: CREDENTIAL_NAMES.imap,
			type: 'imap',
			data: { user: MAIL.address, password: MAIL.password, host: dovecot.host, port: dovecot.port, secure: false, allowUnauthorizedCerts: false },
		},
	];
}

export async function startStack(): Promise<E2eStack> {
	warnIfStale();
	const timings: Record<string, number> = {};
	const timed = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
		const t0 = Date.now();
		try {
			return await fn();
		} finally {
			timings[label] = Date.now() - t0;
		}
	};
	// Installs Node 24 + n8n into the cache outside the repo when missing (minutes, once); instant when warm.
	const cache = await timed('n8n cache', () => ensureN8nCache());
	const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'claude-e2e-n8n-'));
	const stops: Array<() => Promise<void>> = [];
	const stop = async () => {
		// Reverse order: n8n first, so nothing it runs calls a fake that is already gone.
		for (const fn of stops.reverse()) await fn().catch((e: unknown) => process.stderr.write(`e2e stop: ${String(e)}\n`));
		fs.rmSync(baseDir, { recursive: true, force: true });
	};
	try {
		const projects = path.join(baseDir, 'projects');
		const baseRepository = createBaseRepository(path.join(projects, 'app'));

		const anthropic = await timed('fake anthropic', () => startFakeAnthropic());
		stops.push(() => anthropic.close());
		const slack = await timed('fake slack (openssl CA + proxy)', () => startFakeSlack());
		stops.push(() => slack.close());
		const dovecot = await timed('dovecot', () => startDovecot([{ user: MAIL.address, password: MAIL.password }]));
		stops.push(() => dovecot.stop());
		const smtp = await timed('smtp sink', () => startSmtpSink());
		stops.push(() => smtp.close());
		const databaseKind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
		// The Hook Trigger subscribes n8n's loopback webhook URL, which the service refuses unless allowed.
		const service = await timed(`service (${databaseKind})`, () =>
			startTestService(databaseKind, { DELIVERY_ALLOWED_HOSTS: '127.0.0.1', DELIVERY_POLL_INTERVAL_MS: '200', DELIVERY_BASE_DELAY_MS: '250' }),
		);
		stops.push(() => service.stop());

		// n8n finds `claude` on its PATH, as in production; a folder holding only that keeps the repo's other bins out.
		const binDir = path.join(baseDir, 'bin');
		fs.mkdirSync(binDir);
		fs.symlinkSync(claudeBinary(), path.join(binDir, 'claude'));
		const claudeEnv = isolatedClaudeEnv(path.join(baseDir, 'claude'), anthropic.url);
		const env: Record<string, string> = {
			...claudeEnv,
			PATH: [cache.nodeBinDir, binDir, process.env.PATH ?? '/usr/bin:/bin'].join(path.delimiter),
			...slack.env,
			CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS: projects,
			CLAUDE_ORCHESTRATOR_HOME: path.join(baseDir, 'orchestrator'),
			// The email template's reply node needs nodemailer (workflows/README.md).
			NODE_FUNCTION_ALLOW_EXTERNAL: 'nodemailer',
			// Kept in test-artifacts/e2e-n8n/n8n.log: the IMAP trigger and webhook registration only say what they do at debug.
			N8N_LOG_LEVEL: 'debug',
		};

		const workflows: Record<TemplateName, Template> = {
			start: configuredTemplate('start', WORKFLOW_IDS.start, { baseRepository, slackChannel: SLACK_CHANNEL }),
			slack: configuredTemplate('slack', WORKFLOW_IDS.slack, { baseRepository }),
			email: configuredTemplate('email', WORKFLOW_IDS.email, {
				baseRepository,
				fromAddress: MAIL.address,
				fromName: MAIL.from,
				smtpHost: smtp.host,
				smtpPort: smtp.port,
				smtpSecure: false,
				smtpUser: MAIL.address,
				smtpPassword: 'smtp-e2e-pass',
			}),
			hooks: configuredTemplate('hooks', WORKFLOW_IDS.hooks, {}),
		};
		const n8n = await timed('n8n import + start + activate', () =>
			startN8n({
				packageDir: REPO_ROOT,
				env,
				credentials: credentials(service, slack, dovecot),
				workflows: Object.values(workflows),
				keepUserFolder: true,
			}),
		);
		stops.push(async () => {
			fs.mkdirSync(ARTIFACTS, { recursive: true });
			fs.writeFileSync(path.join(ARTIFACTS, 'n8n.log'), n8n.logs());
			fs.writeFileSync(path.join(ARTIFACTS, 'dovecot.log'), dovecot.log());
			await n8n.stop();
			fs.rmSync(n8n.userFolder, { recursive: true, force: true });
		});
		// Activation is asynchronous for webhooks, and the IMAP trigger connects in the background.
		await timed('webhooks + imap trigger watching', async () => {
			await n8n.waitForWebhook('claude/start', { method: 'POST' });
			// Mail that arrives before the trigger has opened INBOX counts as old and is only read after the next
			// arrival (n8n's IMAP trigger has no catch-up on its first start): wait until it is watching.
			const watching = /imap\(claude@example\.test\)[^\n]*Mailbox INBOX: Mailbox opened/;
			await pollUntil(() => (watching.test(dovecot.log()) ? true : undefined), 60_000, 'the Email Trigger to open INBOX');
		});
		return { n8n, service, anthropic, slack, dovecot, smtp, baseRepository, workflows, databaseKind, timings, stop };
	} catch (error) {
		await stop();
		throw error;
	}
}
