// Where the real claude binary lives in this checkout, and the environment that keeps a test run of it
// off the network and out of the real home directory (reference/claude-code-cli.md §4, §8).
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const WRAPPER_BIN = join(ROOT, 'node_modules', '.bin', 'claude');
const PLATFORM_BIN = join(ROOT, 'node_modules', '@anthropic-ai', 'claude-code-linux-x64', 'claude');

/** With install scripts off, bin/claude.exe stays a ~500-byte shell stub that only prints an error. */
function isNativeBinary(path: string): boolean {
	try {
		if (!existsSync(path) || statSync(path).size < 1024 * 1024) return false;
		const fd = openSync(path, 'r');
		try {
			const magic = Buffer.alloc(4);
			readSync(fd, magic, 0, 4, 0);
			return magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
		} finally {
			closeSync(fd);
		}
	} catch {
		return false;
	}
}

export function claudeBinary(): string {
	if (isNativeBinary(WRAPPER_BIN)) return WRAPPER_BIN;
	if (isNativeBinary(PLATFORM_BIN)) return PLATFORM_BIN;
	throw new Error(
		`No native claude binary found (looked at ${WRAPPER_BIN} and ${PLATFORM_BIN}). ` +
			'Run `npm install` in the repository root; @anthropic-ai/claude-code@2.1.331 and its ' +
			'@anthropic-ai/claude-code-linux-x64 optional dependency must be installed.',
	);
}

/**
 * Everything a test run of claude needs, and nothing from the developer's own environment beyond PATH
 * (the Bash tool needs it): a private HOME/config dir and tmp dir under baseDir, the fake API, no retries,
 * no telemetry or update checks (which would otherwise try to reach api.anthropic.com).
 */
export function isolatedClaudeEnv(baseDir: string, apiUrl: string): Record<string, string> {
	const home = join(baseDir, 'home');
	const configDir = join(home, '.claude');
	const tmpDir = join(baseDir, 'tmp');
	for (const dir of [configDir, tmpDir]) mkdirSync(dir, { recursive: true });
	return {
		PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
		HOME: home,
		CLAUDE_CONFIG_DIR: configDir,
		CLAUDE_CODE_TMPDIR: tmpDir,
		ANTHROPIC_BASE_URL: apiUrl,
		ANTHROPIC_API_KEY: 'sk-test',
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
		CLAUDE_CODE_MAX_RETRIES: '1',
		DISABLE_AUTOUPDATER: '1',
	};
}
