// Resolves the claude executable without a shell: an explicit path from the node, or a PATH search.
import { accessSync, constants, closeSync, openSync, readSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { ClaudeNotFoundError } from './errors';

export interface FindClaudeOptions {
	/** A full path, or a bare name to look up on PATH. Empty means "claude". */
	claudePath?: string;
	/** Defaults to process.env; only PATH is read. */
	env?: Record<string, string | undefined>;
}

const STUB_MAX_BYTES = 16 * 1024;
// npm's ignore-scripts leaves bin/claude.exe as a small shell stub that only prints this and exits 1.
const STUB_MARKER = 'native binary not installed';

function isExecutableFile(path: string): boolean {
	try {
		if (!statSync(path).isFile()) return false;
		accessSync(path, constants.X_OK);
		return true;
	} catch {
		return false;
	}
}

function isInstallStub(path: string): boolean {
	try {
		const size = statSync(path).size;
		if (size > STUB_MAX_BYTES) return false;
		const fd = openSync(path, 'r');
		try {
			const buffer = Buffer.alloc(size);
			readSync(fd, buffer, 0, size, 0);
			return buffer.toString('utf8').includes(STUB_MARKER);
		} finally {
			closeSync(fd);
		}
	} catch {
		return false;
	}
}

function checked(path: string): string {
	if (isInstallStub(path)) {
		throw new ClaudeNotFoundError(
			`${path} is the placeholder that npm leaves when install scripts are disabled (the native binary was never linked); ` +
				'reinstall without --ignore-scripts',
		);
	}
	return path;
}

export function findClaude(options: FindClaudeOptions = {}): string {
	const wanted = options.claudePath?.trim() || 'claude';
	if (wanted.includes('/')) {
		const path = isAbsolute(wanted) ? wanted : resolve(wanted);
		if (!isExecutableFile(path)) throw new ClaudeNotFoundError(`"${path}" does not exist or is not an executable file`);
		return checked(path);
	}
	const searchPath = (options.env ?? process.env).PATH ?? '';
	const dirs = searchPath.split(delimiter).filter((dir) => dir.length > 0);
	for (const dir of dirs) {
		const candidate = join(dir, wanted);
		if (isExecutableFile(candidate)) return checked(candidate);
	}
	throw new ClaudeNotFoundError(`no executable "${wanted}" on PATH (${dirs.length > 0 ? dirs.join(delimiter) : 'PATH is empty'})`);
}
