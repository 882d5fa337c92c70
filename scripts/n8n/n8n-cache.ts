import { spawn } from 'node:child_process';
import * as path from 'node:path';

// The paths printed by `scripts/n8n-cache.js --json`; that script is the single owner of the cache layout.
export interface N8nCachePaths {
	cacheDir: string;
	nodeVersion: string;
	nodeBin: string;
	nodeBinDir: string;
	nodeHeadersDir: string;
	n8nVersion: string;
	n8nDir: string;
	n8nBin: string;
	logDir: string;
}

const SCRIPT = path.resolve(__dirname, '..', 'n8n-cache.js');
const CHECK_TIMEOUT_MS = 30_000;
// A cold install is ~4 min on 2 cores when the machine is idle; leave room for a busy CI box.
export const COLD_INSTALL_TIMEOUT_MS = 25 * 60_000;

let resolved: N8nCachePaths | undefined;

/** Paths of a complete cache; throws with the command to run when it is missing. */
export async function n8nCachePaths(): Promise<N8nCachePaths> {
	if (resolved) return resolved;
	const { code, stdout, stderr } = await runScript(['--json', '--check'], CHECK_TIMEOUT_MS, false);
	if (code !== 0) {
		throw new Error(
			`The n8n cache (Node 24 + n8n) is not installed. Create it with \`node scripts/n8n-cache.js\` ` +
				`(~4 min cold, needs the npm registry; N8N_CACHE_DIR picks the folder).\n${stderr.trim()}`,
		);
	}
	resolved = JSON.parse(stdout) as N8nCachePaths;
	return resolved;
}

/** Installs the cache if needed (minutes when cold, progress on stderr), then returns its paths. */
export async function ensureN8nCache(): Promise<N8nCachePaths> {
	const { code, stdout } = await runScript(['--json'], COLD_INSTALL_TIMEOUT_MS, true);
	if (code !== 0)
		throw new Error(
			`scripts/n8n-cache.js failed (exit ${code}); its progress lines above say which step`,
		);
	resolved = JSON.parse(stdout) as N8nCachePaths;
	return resolved;
}

interface ScriptResult {
	code: number | null;
	stdout: string;
	stderr: string;
}

function runScript(
	args: string[],
	timeoutMs: number,
	showProgress: boolean,
): Promise<ScriptResult> {
	return new Promise((resolve, reject) => {
		// process.execPath is the Node running jest (20); the script itself needs nothing newer.
		const child = spawn(process.execPath, [SCRIPT, ...args], {
			stdio: ['ignore', 'pipe', showProgress ? 'inherit' : 'pipe'],
		});
		let stdout = '';
		let stderr = '';
		child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
		child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
		const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
		child.on('error', (err) => {
			clearTimeout(timer);
			reject(err);
		});
		child.on('exit', (code) => {
			clearTimeout(timer);
			resolve({ code, stdout, stderr });
		});
	});
}
