// Which claude a run uses: the pinned version and the executable, resolved without a shell (an explicit path
// from the node, or a PATH search). The runner starts it and the service's `doctor` checks it, so both find it here.
import {
	accessSync,
	constants,
	closeSync,
	openSync,
	readdirSync,
	readSync,
	realpathSync,
	statSync,
} from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';

/** The CLI version this package is built and tested against (reference/claude-code-cli.md). */
export const CLAUDE_CODE_VERSION = '2.1.331';

// On Node 20 a bare `npm install @anthropic-ai/claude-code` quietly resolves to 2.1.197, because from 2.1.198
// on the package declares engines.node >=22. Naming the exact version installs it with only a warning,
// and the CLI is a native binary, so the Node version does not matter once it is installed.
export const CLAUDE_INSTALL_HINT =
	`Install it with: npm install -g @anthropic-ai/claude-code@${CLAUDE_CODE_VERSION} ` +
	'(name the exact version: the package declares Node >= 22, so on older Node a bare install silently picks ' +
	'an old release; with the exact version npm only warns EBADENGINE and the native binary works). ' +
	'Then make sure `claude` is on the PATH of the n8n process, or set the full path to the executable in the node.';

/** claude could not be found or started. */
export class ClaudeNotFoundError extends Error {
	constructor(detail: string) {
		super(`Claude Code CLI not found: ${detail}. ${CLAUDE_INSTALL_HINT}`);
		this.name = 'ClaudeNotFoundError';
	}
}

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

/**
 * The native binary that the stub's package would have linked: `@anthropic-ai/claude-code/bin/claude.exe` is the
 * stub, `@anthropic-ai/claude-code-<platform>/claude` (an optional dependency, installed without any script) is
 * the real CLI. Using it directly means a skipped install script never decides whether claude works.
 */
export function nativeBehindStub(stubPath: string): string | undefined {
	let scope: string;
	try {
		scope = dirname(dirname(dirname(realpathSync(stubPath))));
	} catch {
		return undefined;
	}
	const platform = `claude-code-${process.platform}-${process.arch}`;
	let names: string[];
	try {
		names = readdirSync(scope).filter((name) => name.startsWith(platform));
	} catch {
		return undefined;
	}
	// The glibc build first; the musl one only where it is the only one installed.
	names.sort((a, b) => a.length - b.length);
	for (const name of names) {
		const candidate = join(scope, name, 'claude');
		if (isExecutableFile(candidate) && !isInstallStub(candidate)) return candidate;
	}
	return undefined;
}

function stubError(path: string): ClaudeNotFoundError {
	return new ClaudeNotFoundError(
		`${path} is the placeholder that npm leaves when install scripts are disabled, and the native binary ` +
			`(@anthropic-ai/claude-code-${process.platform}-${process.arch}) is not installed next to it`,
	);
}

function checked(path: string): string {
	if (!isInstallStub(path)) return path;
	const native = nativeBehindStub(path);
	if (native) return native;
	throw stubError(path);
}

export function findClaude(options: FindClaudeOptions = {}): string {
	const wanted = options.claudePath?.trim() || 'claude';
	if (wanted.includes('/')) {
		const path = isAbsolute(wanted) ? wanted : resolve(wanted);
		if (!isExecutableFile(path))
			throw new ClaudeNotFoundError(`"${path}" does not exist or is not an executable file`);
		return checked(path);
	}
	const searchPath = (options.env ?? process.env).PATH ?? '';
	const dirs = searchPath.split(delimiter).filter((dir) => dir.length > 0);
	let stub: string | undefined;
	for (const dir of dirs) {
		const candidate = join(dir, wanted);
		if (!isExecutableFile(candidate)) continue;
		if (!isInstallStub(candidate)) return candidate;
		// A placeholder early on PATH (node_modules/.bin under `npm run`) must not hide a real claude later on it.
		stub ??= candidate;
	}
	if (stub) return checked(stub);
	throw new ClaudeNotFoundError(
		`no executable "${wanted}" on PATH (${dirs.length > 0 ? dirs.join(delimiter) : 'PATH is empty'})`,
	);
}
