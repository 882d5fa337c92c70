#!/usr/bin/env node
// `npx n8n-nodes-claude-orchestrator <command>`: the service from the installed package, no clone and no build.
// The package's command line stands above both halves: serve, migrate and doctor are the service's, and
// cleanup-worktrees is the nodes' workspace code (session worktrees live where n8n runs), so it sits in neither.
import { CleanupUsageError, runCleanupWorktrees } from '../nodes/shared/workspaces/cleanup-command';
import { ownPackage } from '../service/src/cli/checks/check';
import { runDoctor } from '../service/src/cli/doctor';
import { helpText } from '../service/src/cli/help';
import { runMigrate } from '../service/src/cli/migrate';
import { failedToStart, serve } from '../service/src/serve';

const BIN = 'n8n-nodes-claude-orchestrator';

/** `--name value` or `--name=value`; a missing value is a usage error. */
function option(args: string[], name: string): string | undefined {
	for (let i = 0; i < args.length; i++) {
		if (args[i] === name) {
			if (args[i + 1] === undefined || args[i + 1].startsWith('--'))
				throw new UsageError(`${name} needs a value`);
			return args[i + 1];
		}
		if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
	}
	return undefined;
}

/** Every value of a repeatable `--name value` (or `--name=value`). */
function options(args: string[], name: string): string[] {
	const values: string[] = [];
	for (let i = 0; i < args.length; i++) {
		if (args[i] === name) {
			if (args[i + 1] === undefined || args[i + 1].startsWith('--'))
				throw new UsageError(`${name} needs a value`);
			values.push(args[++i]);
		} else if (args[i].startsWith(`${name}=`)) values.push(args[i].slice(name.length + 1));
	}
	return values;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number | undefined> {
	const [command, ...args] = argv;
	const known = new Set(['--n8n-url', '--claude', '--service-url', '--older-than', '--session']);
	const flags = new Set(['--dry-run', '--json']);
	const stray = args.filter(
		(a, i) =>
			a.startsWith('--') && !known.has(a.split('=')[0]) && !flags.has(a) && !known.has(args[i - 1]),
	);
	if (
		args.includes('--help') ||
		args.includes('-h') ||
		command === undefined ||
		['help', '--help', '-h'].includes(command)
	) {
		process.stdout.write(helpText(BIN));
		return command === undefined ? 1 : 0;
	}
	if (command === 'version' || command === '--version') {
		process.stdout.write(`${ownPackage().version}\n`);
		return 0;
	}
	if (stray.length) throw new UsageError(`unknown option ${stray[0]}`);
	switch (command) {
		case 'serve':
			if (args.length)
				throw new UsageError(
					'serve takes no arguments: it is configured by the environment (see --help)',
				);
			await serve().catch(failedToStart);
			return undefined; // runs until a signal
		case 'migrate':
			if (args.length)
				throw new UsageError(
					'migrate takes no arguments: it is configured by the environment (see --help)',
				);
			return runMigrate();
		case 'doctor':
			return runDoctor({ n8nUrl: option(args, '--n8n-url'), claudePath: option(args, '--claude') });
		case 'cleanup-worktrees':
			return runCleanupWorktrees({
				serviceUrl: option(args, '--service-url'),
				olderThan: option(args, '--older-than'),
				sessionIds: options(args, '--session'),
				dryRun: args.includes('--dry-run'),
				json: args.includes('--json'),
			}).catch((error: unknown) => {
				throw error instanceof CleanupUsageError ? new UsageError(error.message) : error;
			});
		default:
			throw new UsageError(`unknown command "${command}"`);
	}
}

main(process.argv.slice(2)).then(
	(code) => {
		if (code !== undefined) process.exitCode = code;
	},
	(err: unknown) => {
		if (err instanceof UsageError) {
			process.stderr.write(
				`${BIN}: ${err.message}\nRun "${BIN} --help" for the commands and the environment.\n`,
			);
			process.exitCode = 2;
			return;
		}
		process.stderr.write(`${BIN}: ${err instanceof Error ? err.message : String(err)}\n`);
		process.exitCode = 1;
	},
);
