// Everything the template scenarios run against, started once per suite: the real n8n with this package
// installed, the service (PostgreSQL when TEST_DATABASE_URL is set, else PGlite), the real claude CLI pointed at
// the fake Anthropic API, the fake Slack behind a CONNECT proxy, a private dovecot and an SMTP sink.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TEST_API_KEY, type TestService } from '../support/test-service';
import type { FakeAnthropic } from '../fakes/anthropic-api';
import type { Dovecot, SmtpSink } from '../fakes/mail';
import type { FakeSlack } from '../fakes/slack';
import {
	COLD_INSTALL_TIMEOUT_MS,
	ensureN8nCache,
	startN8n,
	type N8nCredential,
	type N8nInstance,
} from '../../scripts/n8n/n8n-instance';
import { ARTIFACTS, imapCredentialData, inboxWatched, REPO_ROOT, startBackends } from './backends';
import { startedForBlock } from '../support/started-for-block';
import { pollUntil } from '../support/wait';
import {
	configuredTemplate,
	CREDENTIAL_NAMES,
	triggerWebhookPath,
	type Template,
	type TemplateName,
} from './templates';

export const SLACK_CHANNEL = 'C0E2ECLAUDE';
export const MAIL = {
	address: 'claude@example.test',
	password: 'imap-e2e-pass',
	from: 'Claude E2E',
};

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
	const built = path.join(
		REPO_ROOT,
		'dist',
		'nodes',
		'ClaudeSessionStart',
		'ClaudeSessionStart.node.js',
	);
	if (!fs.existsSync(built))
		throw new Error('dist/ is missing: run `npm run build` before `npm run test:e2e`');
	const builtAt = fs.statSync(built).mtimeMs;
	const newer: string[] = [];
	const walk = (dir: string) => {
		for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
			const p = path.join(dir, entry.name);
			if (entry.isDirectory() && entry.name !== '__tests__') walk(p);
			else if (entry.name.endsWith('.ts') && fs.statSync(p).mtimeMs > builtAt)
				newer.push(path.relative(REPO_ROOT, p));
		}
	};
	walk(path.join(REPO_ROOT, 'nodes'));
	walk(path.join(REPO_ROOT, 'credentials'));
	if (newer.length)
		process.stderr.write(
			`e2e: dist/ is older than ${newer.slice(0, 5).join(', ')}: run \`npm run build\` first\n`,
		);
}

function credentials(service: TestService, slack: FakeSlack, dovecot: Dovecot): N8nCredential[] {
	return [
		{
			id: 'e2eOrchestrator1',
			name: CREDENTIAL_NAMES.claudeOrchestratorApi,
			type: 'claudeOrchestratorApi',
			data: { baseUrl: service.url, apiKey: TEST_API_KEY, publicUrl: '' },
		},
		{
			id: 'e2eSlackBot00001',
			name: CREDENTIAL_NAMES.slackApi,
			type: 'slackApi',
			data: slack.credentialData,
		},
		{
			id: 'e2eImapMailbox01',
			name: CREDENTIAL_NAMES.imap,
			type: 'imap',
			data: imapCredentialData({ user: MAIL.address, password: MAIL.password }, dovecot),
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
	// Installs Node 24 + n8n into the cache outside the repo when missing (minutes, once); instant when warm.
	await timed('n8n cache', () => ensureN8nCache());
	const backends = await startBackends({
		prefix: 'claude-e2e-n8n-',
		mailbox: { user: MAIL.address, password: MAIL.password },
		timed,
	});
	const { baseRepository, anthropic, slack, dovecot, smtp, service, databaseKind, stop } = backends;
	try {
		const workflows: Record<TemplateName, Template> = {
			start: configuredTemplate('start', WORKFLOW_IDS.start, {
				baseRepository,
				slackChannel: SLACK_CHANNEL,
			}),
			slack: configuredTemplate('slack', WORKFLOW_IDS.slack, {
				baseRepository,
				serviceUrl: service.url,
			}),
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
				env: backends.n8nEnv,
				credentials: credentials(service, slack, dovecot),
				workflows: Object.values(workflows),
				keepUserFolder: true,
			}),
		);
		backends.onStop(async () => {
			fs.mkdirSync(ARTIFACTS, { recursive: true });
			fs.writeFileSync(path.join(ARTIFACTS, 'n8n.log'), n8n.logs());
			fs.writeFileSync(path.join(ARTIFACTS, 'dovecot.log'), dovecot.log());
			await n8n.stop();
			fs.rmSync(n8n.userFolder, { recursive: true, force: true });
		});
		// Activation is asynchronous for webhooks, and the IMAP trigger connects in the background.
		await timed('webhooks + imap trigger watching', async () => {
			await n8n.waitForWebhook('claude/start', { method: 'POST' });
			await inboxWatched(dovecot, MAIL.address, 'the Email Trigger to open INBOX');
		});
		return {
			n8n,
			service,
			anthropic,
			slack,
			dovecot,
			smtp,
			baseRepository,
			workflows,
			databaseKind,
			timings,
			stop,
		};
	} catch (error) {
		await stop();
		throw error;
	}
}

/** The stack for a file or describe block: started before its tests (installing n8n when the cache is cold), stopped after them. */
export function useStack(): E2eStack {
	return startedForBlock(() => startStack(), COLD_INSTALL_TIMEOUT_MS + 300_000, 'the e2e stack');
}

/** The URL of the Slack template's trigger, where the fake Slack posts the events a person's messages make. */
export const slackTriggerUrl = (stack: E2eStack) =>
	`${stack.n8n.url}/webhook/${triggerWebhookPath(stack.workflows.slack, 'Slack Trigger', 'webhook')}`;

/** A person's message that mentions the bot with `text`, opening a new thread in the test channel. */
export const mentionInNewThread = (stack: E2eStack, text: string) =>
	stack.slack.sendUserMessage(slackTriggerUrl(stack), {
		channel: SLACK_CHANNEL,
		mention: true,
		text: `<@${stack.slack.api.bot.userId}> ${text}`,
	});

/**
 * Waits until the bot has answered `count` replies in the thread with "still working" (each reply that arrives
 * while a turn runs gets one at once).
 */
export function stillWorkingAnswers(
	stack: E2eStack,
	threadTs: string,
	count: number,
	what: string,
	everyMs: number,
): Promise<true> {
	return pollUntil(
		() =>
			stack.slack
				.botMessages({ threadTs })
				.filter(
					(m) => m.threadTs === threadTs && m.text.includes('Still working, I will take this next'),
				).length === count
				? true
				: undefined,
		30_000,
		what,
		everyMs,
	);
}
