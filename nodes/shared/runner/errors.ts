// Errors the runner raises before claude has produced anything, worded so a person can fix them.
export {
	CLAUDE_CODE_VERSION,
	CLAUDE_INSTALL_HINT,
	ClaudeNotFoundError,
} from '../protocol/claude-cli';

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
