import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestService, type TestService } from '../support/test-service';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-api';
import { claudeBinary, isolatedClaudeEnv } from '../fakes/claude-cli';
import { startDovecot, startSmtpSink, type Dovecot, type SmtpSink } from '../fakes/mail';
import { startFakeSlack, type FakeSlack } from '../fakes/slack';
import { n8nCachePaths } from '../../scripts/n8n/n8n-instance';
import { createBaseRepository } from './base-repository';
import { stopsFor } from '../support/stops';
import { pollUntil } from '../support/wait';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e-n8n');

/**
 * The service's settings for deliveries to n8n on loopback: the Hook Trigger subscribes n8n's loopback webhook URL,
 * which the service refuses unless allowed; short polls and back-off keep the scenarios quick.
 */
export const N8N_DELIVERY_ENV = {
	DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
	DELIVERY_POLL_INTERVAL_MS: '200',
	DELIVERY_BASE_DELAY_MS: '250',
};

/**
 * A folder holding only `claude`, for n8n's PATH: n8n finds it there as in production, and the repo's other bins
 * stay out.
 */
export function claudeOnlyBin(baseDir: string): string {
	const binDir = path.join(baseDir, 'bin');
	fs.mkdirSync(binDir);
	fs.symlinkSync(claudeBinary(), path.join(binDir, 'claude'));
	return binDir;
}

/** The data of an n8n IMAP credential for a mailbox on the private dovecot. */
export function imapCredentialData(mailbox: { user: string; password: string }, dovecot: Dovecot) {
	return {
		user: mailbox.user,
		password: mailbox.password,
		host: dovecot.host,
		port: dovecot.port,
		secure: false,
		allowUnauthorizedCerts: false,
	};
}

/**
 * Waits until n8n's Email Trigger has opened the INBOX of `address`: mail that arrives before counts as old and is
 * only read after the next arrival (n8n's IMAP trigger has no catch-up on its first start).
 */
export async function inboxWatched(dovecot: Dovecot, address: string, what: string): Promise<void> {
	const escaped = address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	const watching = new RegExp(`imap\\(${escaped}\\)[^\\n]*Mailbox INBOX: Mailbox opened`);
	await pollUntil(() => (watching.test(dovecot.log()) ? true : undefined), 60_000, what);
}

/** Everything an e2e stack runs beside n8n, and the environment n8n gets to reach it. */
export interface Backends {
	baseDir: string;
	baseRepository: string;
	anthropic: FakeAnthropic;
	slack: FakeSlack;
	dovecot: Dovecot;
	smtp: SmtpSink;
	service: TestService;
	databaseKind: 'postgres' | 'pglite';
	/** The env n8n runs with: claude on its PATH against the fake API, Slack through the fake, the allowed roots. */
	n8nEnv: Record<string, string>;
	/** Stops what was started after this point first (n8n before the fakes it calls), then removes the folder. */
	onStop(fn: () => Promise<void>): void;
	stop(): Promise<void>;
}

export async function startBackends(opts: {
	prefix: string;
	mailbox: { user: string; password: string };
	slackSigningSecret?: string;
	timed?: <T>(label: string, fn: () => Promise<T>) => Promise<T>;
}): Promise<Backends> {
	const timed = opts.timed ?? (<T>(_label: string, fn: () => Promise<T>) => fn());
	const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), opts.prefix));
	const { stops, stop } = stopsFor(baseDir);
	try {
		const projects = path.join(baseDir, 'projects');
		const baseRepository = createBaseRepository(path.join(projects, 'app'));
		const anthropic = await timed('fake anthropic', () => startFakeAnthropic());
		stops.push(() => anthropic.close());
		const slack = await timed('fake slack (openssl CA + proxy)', () =>
			startFakeSlack(
				opts.slackSigningSecret ? { signingSecret: opts.slackSigningSecret } : undefined,
			),
		);
		stops.push(() => slack.close());
		const dovecot = await timed('dovecot', () => startDovecot([opts.mailbox]));
		stops.push(() => dovecot.stop());
		const smtp = await timed('smtp sink', () => startSmtpSink());
		stops.push(() => smtp.close());
		const databaseKind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
		const service = await timed(`service (${databaseKind})`, () =>
			startTestService(databaseKind, N8N_DELIVERY_ENV),
		);
		stops.push(() => service.stop());

		const binDir = claudeOnlyBin(baseDir);
		const cache = await n8nCachePaths();
		const n8nEnv: Record<string, string> = {
			...isolatedClaudeEnv(path.join(baseDir, 'claude'), anthropic.url),
			PATH: [cache.nodeBinDir, binDir, process.env.PATH ?? '/usr/bin:/bin'].join(path.delimiter),
			...slack.env,
			CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS: projects,
			CLAUDE_ORCHESTRATOR_HOME: path.join(baseDir, 'orchestrator'),
			// The two settings workflows/README.md names: crypto for the Slack signature, nodemailer for threaded mail.
			NODE_FUNCTION_ALLOW_BUILTIN: 'crypto',
			NODE_FUNCTION_ALLOW_EXTERNAL: 'nodemailer',
			// Kept in test-artifacts/e2e-n8n: the IMAP trigger and webhook registration only say what they do at debug.
			N8N_LOG_LEVEL: 'debug',
		};
		return {
			baseDir,
			baseRepository,
			anthropic,
			slack,
			dovecot,
			smtp,
			service,
			databaseKind,
			n8nEnv,
			onStop: (fn) => stops.push(fn),
			stop,
		};
	} catch (error) {
		await stop();
		throw error;
	}
}
