// The per-run `--settings` hooks that report every Claude Code event to the orchestrator service
// (DESIGN.md decision 2; reference/claude-code-cli.md §6.1, §6.5).
import { HOOK_EVENTS, HTTP_HOOK_UNSUPPORTED_EVENTS, type HookEvent } from '../protocol/hook-events';
import { ClaudeOptionError } from './errors';

export { HOOK_EVENTS, HTTP_HOOK_UNSUPPORTED_EVENTS, type HookEvent } from '../protocol/hook-events';

export const DEFAULT_HOOK_TIMEOUT_SECONDS = 5;

export interface HttpHook {
	type: 'http';
	url: string;
	headers: Record<string, string>;
	allowedEnvVars: string[];
	timeout: number;
	/** `block`: if the hook cannot be delivered, the tool call does not run (default: it runs). */
	onFailure?: 'continue' | 'block';
}

export interface HookMatcher {
	matcher: string;
	hooks: HttpHook[];
}

export interface HookSettings {
	hooks: Partial<Record<HookEvent, HookMatcher[]>>;
}

export interface HookSettingsOptions {
	/** Where the CLI POSTs each event's JSON, e.g. http://127.0.0.1:3001/api/v1/hooks */
	hookUrl: string;
	/** Name of the env var holding the session's hook token; the token itself never goes on the command line. */
	tokenEnvVar: string;
	timeoutSeconds?: number;
}

const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function buildHookSettings(options: HookSettingsOptions): HookSettings {
	let url: URL;
	try {
		url = new URL(options.hookUrl);
	} catch {
		throw new ClaudeOptionError('hookUrl', `"${options.hookUrl}" is not a URL`);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		throw new ClaudeOptionError('hookUrl', `"${options.hookUrl}" must be an http(s) URL`);
	}
	if (!ENV_VAR_NAME.test(options.tokenEnvVar)) {
		throw new ClaudeOptionError(
			'tokenEnvVar',
			`"${options.tokenEnvVar}" is not a valid environment variable name`,
		);
	}
	const timeout = options.timeoutSeconds ?? DEFAULT_HOOK_TIMEOUT_SECONDS;
	if (!Number.isFinite(timeout) || timeout <= 0) {
		throw new ClaudeOptionError(
			'timeoutSeconds',
			`${timeout} must be a positive number of seconds`,
		);
	}

	const hook: HttpHook = {
		type: 'http',
		url: options.hookUrl,
		// The CLI interpolates $VAR only for names listed in allowedEnvVars; others arrive blank.
		headers: { Authorization: `Bearer $${options.tokenEnvVar}` },
		allowedEnvVars: [options.tokenEnvVar],
		timeout,
	};
	const hooks: HookSettings['hooks'] = {};
	for (const event of HOOK_EVENTS) {
		if (HTTP_HOOK_UNSUPPORTED_EVENTS.includes(event)) continue;
		hooks[event] = [
			{
				matcher: '*',
				hooks: [
					{ ...hook, headers: { ...hook.headers }, allowedEnvVars: [...hook.allowedEnvVars] },
				],
			},
		];
	}
	return { hooks };
}
