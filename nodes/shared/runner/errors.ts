// Errors the runner raises before claude has produced anything, worded so a person can fix them.

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

/** An option for the claude command line is invalid; the message names the option. */
export class ClaudeOptionError extends Error {
	constructor(
		readonly option: string,
		detail: string,
	) {
		super(`Invalid ${option}: ${detail}`);
		this.name = 'ClaudeOptionError';
	}
}
