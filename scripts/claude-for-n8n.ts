// Which claude the n8n started by `npm start` runs. `npm run` puts node_modules/.bin first on PATH, and with install
// scripts off the `claude` there is npm's placeholder: n8n must get a working CLI, never that.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { findClaude, nativeBehindStub } from '../nodes/shared/protocol/claude-cli';

const run = promisify(execFile);

export interface ClaudeForN8n {
	/** The executable n8n will run (through `binDir/claude`). */
	path: string;
	/** Where it came from: the user's PATH, or this package's pinned dependency. */
	source: 'PATH' | 'package';
	/** `claude --version`, or undefined when it did not answer. */
	version?: string;
	/** Put first on n8n's PATH: holds a `claude` link to `path`. */
	binDir: string;
	/** The user's PATH without node_modules/.bin entries. */
	searchPath: string;
}

/** The user's PATH as their shell has it: `npm run` adds node_modules/.bin folders, which n8n must not inherit. */
export function pathWithoutNpmBins(pathValue = process.env.PATH ?? ''): string {
	return pathValue
		.split(path.delimiter)
		.filter((dir) => dir && !/[\\/]node_modules[\\/]\.bin[\\/]?$/.test(dir))
		.join(path.delimiter);
}

export async function claudeForN8n(opts: {
	packageRoot: string;
	dataDir: string;
}): Promise<ClaudeForN8n> {
	const searchPath = pathWithoutNpmBins();
	let found: string;
	let source: ClaudeForN8n['source'] = 'PATH';
	try {
		found = findClaude({ env: { PATH: searchPath } });
	} catch {
		source = 'package';
		const pinned = nativeBehindStub(
			path.join(
				opts.packageRoot,
				'node_modules',
				'@anthropic-ai',
				'claude-code',
				'bin',
				'claude.exe',
			),
		);
		if (!pinned)
			throw new Error(
				'no claude CLI on PATH and none installed with this package: run `npm install` in the repository',
			);
		found = pinned;
	}
	const binDir = path.join(opts.dataDir, 'bin');
	fs.mkdirSync(binDir, { recursive: true });
	const link = path.join(binDir, 'claude');
	fs.rmSync(link, { force: true });
	fs.symlinkSync(found, link);
	const version = await run(link, ['--version'], { timeout: 30_000 })
		.then(({ stdout }) => stdout.trim())
		.catch(() => undefined);
	return { path: found, source, version, binDir, searchPath };
}
