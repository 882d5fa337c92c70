// The claude command line for one headless turn. Every flag was checked against `claude --help` of 2.1.331
// (and --max-turns, which the CLI accepts but no longer lists).
import { ARGV_STRING_MAX_BYTES } from '../protocol/queued-messages';
import { ClaudeOptionError } from './errors';

/** What `--permission-mode` accepts. The help lists "manual" instead of "default", but both work (default = manual). */
export const PERMISSION_MODES = [
	'default',
	'acceptEdits',
	'plan',
	'auto',
	'dontAsk',
	'bypassPermissions',
] as const;
export type PermissionMode = (typeof PERMISSION_MODES)[number];
export const DEFAULT_PERMISSION_MODE: PermissionMode = 'acceptEdits';

export interface ClaudeArgsOptions {
	/** The user's prompt. Required for a new session; optional on resume (a deferred tool call resumes without one). */
	prompt?: string;
	/** The session uuid: pre-assigned for a new session, or the one to continue. */
	sessionId: string;
	/** true: `--resume <sessionId>`; false/absent: `--session-id <sessionId>`. */
	resume?: boolean;
	/** Settings object (serialised to JSON) or a JSON string / settings file path, passed with --settings. */
	settings?: Record<string, unknown> | string;
	model?: string;
	fallbackModel?: string;
	maxTurns?: number;
	permissionMode?: string;
	/** Permission rules; a string is split on commas outside parentheses ("Bash(git add, commit)" stays whole). */
	allowedTools?: string | string[];
	disallowedTools?: string | string[];
	appendSystemPrompt?: string;
	/** `{"mcpServers":{…}}`, as an object or a JSON string. */
	mcpConfig?: string | Record<string, unknown>;
	maxBudgetUsd?: number;
	/** Load the workspace's own .claude settings (hooks, disableAllHooks…). Off by default: DESIGN.md decision 6. */
	trustProjectSettings?: boolean;
	/** Adds hook_started / hook_response lines to the stream. */
	includeHookEvents?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Splits "Read, Bash(git add, commit),Write" into rules, keeping commas inside parentheses. */
export function splitToolRules(value: string | string[] | undefined): string[] {
	if (value === undefined) return [];
	if (Array.isArray(value))
		return value.map((rule) => rule.trim()).filter((rule) => rule.length > 0);
	const rules: string[] = [];
	let depth = 0;
	let current = '';
	for (const char of value) {
		if (char === '(') depth++;
		if (char === ')') depth = Math.max(0, depth - 1);
		if ((char === ',' || char === '\n') && depth === 0) {
			rules.push(current);
			current = '';
		} else current += char;
	}
	rules.push(current);
	return rules.map((rule) => rule.trim()).filter((rule) => rule.length > 0);
}

/** Validates an MCP config and returns it as a compact JSON string for --mcp-config. */
export function normaliseMcpConfig(value: string | Record<string, unknown>): string {
	const example = '{"mcpServers":{"name":{"command":"npx","args":["-y","some-mcp-server"]}}}';
	let parsed: unknown = value;
	if (typeof value === 'string') {
		try {
			parsed = JSON.parse(value);
		} catch (error) {
			throw new ClaudeOptionError(
				'mcpConfig',
				`it is not valid JSON (${(error as Error).message}); expected ${example}`,
			);
		}
	}
	const servers = (parsed as { mcpServers?: unknown } | null)?.mcpServers;
	if (
		typeof parsed !== 'object' ||
		parsed === null ||
		Array.isArray(parsed) ||
		typeof servers !== 'object' ||
		servers === null ||
		Array.isArray(servers)
	) {
		throw new ClaudeOptionError(
			'mcpConfig',
			`it must be an object with an "mcpServers" object, e.g. ${example}`,
		);
	}
	return JSON.stringify(parsed);
}

function nonEmpty(option: string, value: string | undefined): string | undefined {
	if (value === undefined) return undefined;
	const trimmed = value.trim();
	if (trimmed.length === 0) return undefined;
	if (trimmed.startsWith('-'))
		throw new ClaudeOptionError(option, `"${trimmed}" must not start with "-"`);
	return trimmed;
}

export function buildClaudeArgs(options: ClaudeArgsOptions): string[] {
	if (!UUID.test(options.sessionId)) {
		throw new ClaudeOptionError(
			'sessionId',
			`"${options.sessionId}" is not a UUID (Claude Code requires one)`,
		);
	}
	const prompt =
		options.prompt !== undefined && options.prompt.trim().length > 0 ? options.prompt : undefined;
	if (!options.resume && prompt === undefined) {
		throw new ClaudeOptionError('prompt', 'a new session needs a prompt');
	}
	// The prompt is one argv string: past Linux's limit the spawn itself fails with a bare E2BIG.
	const promptBytes = prompt === undefined ? 0 : Buffer.byteLength(prompt, 'utf8');
	if (promptBytes > ARGV_STRING_MAX_BYTES) {
		throw new ClaudeOptionError(
			'prompt',
			`it is ${promptBytes} bytes (UTF-8), and claude takes its prompt as one command-line argument, which Linux ` +
				`limits to ${ARGV_STRING_MAX_BYTES} bytes: shorten it, or put the long text in a file in the workspace and ask claude to read it`,
		);
	}

	const args = ['-p', '--output-format', 'stream-json', '--verbose'];
	if (options.includeHookEvents) args.push('--include-hook-events');
	args.push(options.resume ? '--resume' : '--session-id', options.sessionId);

	const mode = options.permissionMode?.trim() || DEFAULT_PERMISSION_MODE;
	if (!(PERMISSION_MODES as readonly string[]).includes(mode)) {
		throw new ClaudeOptionError(
			'permissionMode',
			`"${mode}" is not one of ${PERMISSION_MODES.join(', ')}`,
		);
	}
	args.push('--permission-mode', mode);

	const model = nonEmpty('model', options.model);
	if (model) args.push('--model', model);
	const fallbackModel = nonEmpty('fallbackModel', options.fallbackModel);
	if (fallbackModel) args.push('--fallback-model', fallbackModel);

	if (options.maxTurns !== undefined) {
		if (!Number.isInteger(options.maxTurns) || options.maxTurns < 1) {
			throw new ClaudeOptionError(
				'maxTurns',
				`${options.maxTurns} must be a whole number of at least 1`,
			);
		}
		args.push('--max-turns', String(options.maxTurns));
	}
	if (options.maxBudgetUsd !== undefined) {
		if (!Number.isFinite(options.maxBudgetUsd) || options.maxBudgetUsd <= 0) {
			throw new ClaudeOptionError(
				'maxBudgetUsd',
				`${options.maxBudgetUsd} must be a positive amount of US dollars`,
			);
		}
		args.push('--max-budget-usd', String(options.maxBudgetUsd));
	}

	if (options.settings !== undefined) {
		const settings =
			typeof options.settings === 'string' ? options.settings : JSON.stringify(options.settings);
		args.push('--settings', settings);
	}
	// An empty value is accepted and drops user/project/local settings files, while --settings hooks still fire.
	if (!options.trustProjectSettings) args.push('--setting-sources', '');

	if (options.appendSystemPrompt !== undefined && options.appendSystemPrompt.trim().length > 0) {
		args.push('--append-system-prompt', options.appendSystemPrompt);
	}
	if (options.mcpConfig !== undefined)
		args.push('--mcp-config', normaliseMcpConfig(options.mcpConfig));

	// These two options are variadic: each rule is its own argument, and they take every following argument
	// that does not start with "-". The "--" below keeps the prompt from being read as one more rule.
	const allowed = splitToolRules(options.allowedTools);
	if (allowed.length > 0) args.push('--allowedTools', ...allowed);
	const disallowed = splitToolRules(options.disallowedTools);
	if (disallowed.length > 0) args.push('--disallowedTools', ...disallowed);

	// "--" ends the options, so a prompt that starts with "-" is still a prompt.
	if (prompt !== undefined) args.push('--', prompt);
	return args;
}
