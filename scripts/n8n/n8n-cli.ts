import * as fs from 'node:fs';
import * as path from 'node:path';

import { freePort } from './free-port';
import type { N8nCachePaths } from './n8n-cache';
import { LogSink, spawnGroup, stopGroup } from './process-group';

// Each CLI command boots n8n's DI container: 1.5-3.6 s measured, more on a busy box.
const CLI_TIMEOUT_MS = 120_000;

/**
 * Runs `n8n <args>` with the server's env (same user folder, encryption key and SQLite file). Safe while the
 * server runs on SQLite (n8n.md §3). The CLI gets its own task-broker port: `n8n execute` starts a broker and
 * would collide with the server's.
 */
export async function runN8nCli(
	cache: N8nCachePaths,
	env: Record<string, string>,
	args: string[],
	log: LogSink,
): Promise<string> {
	const output = new LogSink(path.join(env.N8N_USER_FOLDER, 'n8n-cli.log'));
	const cliEnv = { ...env, N8N_RUNNERS_BROKER_PORT: String(await freePort()) };
	const started = Date.now();
	const group = spawnGroup(cache.nodeBin, [cache.n8nBin, ...args], {
		cwd: env.N8N_USER_FOLDER,
		env: cliEnv,
		log: output,
	});
	const timer = setTimeout(
		() => void stopGroup(group, 2_000).catch(() => undefined),
		CLI_TIMEOUT_MS,
	);
	const { code, signal } = await group.exited;
	clearTimeout(timer);
	// The CLI may leave no children, but make sure nothing of its group outlives the call.
	await stopGroup(group, 2_000);
	const text = output.toString();
	log.write(`\n[harness] n8n ${args.join(' ')} (${Date.now() - started} ms)\n${text}`);
	if (code !== 0)
		throw new Error(
			`n8n ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.tail(30)}`,
		);
	return text;
}

/** Writes JSON where the CLI can read it (`--input` takes a file, never stdin). */
export function writeInputFile(userFolder: string, name: string, value: unknown): string {
	const dir = path.join(userFolder, 'harness-imports');
	fs.mkdirSync(dir, { recursive: true });
	const file = path.join(
		dir,
		`${Date.now()}-${Math.random().toString(36).slice(2, 8)}-${name}.json`,
	);
	fs.writeFileSync(file, JSON.stringify(value, null, '\t'));
	return file;
}
