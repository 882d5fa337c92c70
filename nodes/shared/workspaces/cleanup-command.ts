import fs from 'node:fs';
import path from 'node:path';
import { orchestratorSettings } from '../protocol/environment';
import { httpStatusOf } from '../session/client';
import { fetchClient } from '../session/fetch-client';
import { cleanupSessionWorktrees, type CleanupReport } from './cleanup-sessions';

// The package's `cleanup-worktrees` command (cli/index.ts dispatches to it): the git worktrees of finished sessions pile up on every host that runs Claude Session Start
// (one per session). Run it where they are (n8n main and each worker); it asks the service which sessions are over
// and takes each session's lease before it removes anything (cleanup-sessions.ts), so a running session, uncommitted
// work and commits that exist nowhere else are kept and reported.

export interface CleanupWorktreesArgs {
	serviceUrl?: string;
	/** Keep sessions active more recently than this: 30m, 12h, 7d, or seconds. */
	olderThan?: string;
	sessionIds: string[];
	dryRun: boolean;
	json: boolean;
}

export class CleanupUsageError extends Error {}

const DEFAULT_OLDER_THAN = '7d';
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function durationMs(text: string): number {
	const m = /^(\d+(?:\.\d+)?)\s*([smhd])?$/i.exec(text.trim());
	if (!m)
		throw new CleanupUsageError(
			`--older-than takes a duration such as 0, 30m, 12h or 7d, not "${text}"`,
		);
	return Math.round(Number(m[1]) * UNIT_MS[(m[2]?.toLowerCase() ?? 's') as keyof typeof UNIT_MS]);
}

/** The service as this host reaches it: --service-url, else PUBLIC_URL, else the local service on PORT. */
function serviceUrlFrom(args: CleanupWorktreesArgs, env: NodeJS.ProcessEnv): string {
	const raw = args.serviceUrl ?? env.PUBLIC_URL ?? `http://127.0.0.1:${env.PORT || 3001}`;
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new CleanupUsageError(
			`--service-url "${raw}" is not a URL such as http://orchestrator:3001`,
		);
	}
	if (!['http:', 'https:'].includes(url.protocol))
		throw new CleanupUsageError(`--service-url "${raw}" must be http or https`);
	return url.toString().replace(/\/+$/, '');
}

/** The API key as the n8n credential holds it: API_KEY, else the key the service generated into DATA_DIR. */
function apiKeyFrom(env: NodeJS.ProcessEnv): string {
	if (env.API_KEY) return env.API_KEY;
	const file = path.join(env.DATA_DIR || '.data', 'api-key');
	if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
	throw new CleanupUsageError(
		'set API_KEY to the service\'s API key (the one in the "Claude Orchestrator API" credential)',
	);
}

function printReport(report: CleanupReport, dryRun: boolean, write: (line: string) => void): void {
	for (const r of report.removed)
		write(
			`removed       ${r.sessionId}  ${r.path}${r.branch ? `  (branch ${r.branch} kept)` : ''}`,
		);
	for (const r of report.wouldRemove)
		write(
			`would remove  ${r.sessionId}  ${r.path}${r.branch ? `  (branch ${r.branch} would be kept)` : ''}`,
		);
	for (const k of report.kept)
		write(`kept          ${k.sessionId}  ${k.path ?? '-'}: ${k.reasons.join('; ')}`);
	const counts = [
		dryRun ? `${report.wouldRemove.length} would be removed` : `${report.removed.length} removed`,
		`${report.kept.length} kept`,
		// A worktree another host made (or one already removed) is not on this disk: nothing to do here.
		`${report.missing.length} not on this host`,
	];
	write(`\n${counts.join(', ')}${dryRun ? ' (dry run: nothing was changed)' : ''}`);
}

/** Runs the command; the exit code is 0 when the service answered, whatever was kept. */
export async function runCleanupWorktrees(
	args: CleanupWorktreesArgs,
	env: NodeJS.ProcessEnv = process.env,
	write: (line: string) => void = (line) => void process.stdout.write(`${line}\n`),
): Promise<number> {
	const bad = args.sessionIds.find((id) => !UUID.test(id));
	if (bad) throw new CleanupUsageError(`--session takes a session uuid, not "${bad}"`);
	const minIdleMs = durationMs(args.olderThan ?? DEFAULT_OLDER_THAN);
	const url = serviceUrlFrom(args, env);
	const client = fetchClient(url, apiKeyFrom(env), undefined, 60_000);
	const report = await cleanupSessionWorktrees(client, {
		allowedRoots: orchestratorSettings(env).allowedRoots,
		sessionIds: args.sessionIds.length ? args.sessionIds.map((id) => id.toLowerCase()) : undefined,
		minIdleMs,
		dryRun: args.dryRun,
	}).catch((error: unknown) => {
		if (httpStatusOf(error) !== undefined) throw error;
		const cause =
			(error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
		throw new Error(
			`cannot reach the service at ${url} (${cause}); pass --service-url with the URL of the "Claude Orchestrator API" credential`,
		);
	});
	if (args.json) write(JSON.stringify(report, null, 2));
	else printReport(report, args.dryRun, write);
	return 0;
}
