/**
 * The one error type the workspaces throw. Its message is written for the person who set up the
 * workflow: it says what was wrong and what to change, so nodes can show it as is.
 */
export class WorkspaceError extends Error {
	constructor(
		message: string,
		/** A short machine-readable reason, for callers that branch on it (and for tests). */
		readonly code: WorkspaceErrorCode = 'invalid_input',
		options?: { cause?: unknown },
	) {
		super(message, options);
		this.name = 'WorkspaceError';
	}
}

export type WorkspaceErrorCode =
	| 'invalid_input'
	| 'outside_roots'
	| 'not_found'
	| 'already_exists'
	| 'git_failed'
	| 'auth_failed'
	| 'sandbox_failed'
	| 'sandbox_gone';
