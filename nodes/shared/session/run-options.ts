import { ClaudeOptionError, PERMISSION_MODES } from '../runner';
import { EXTERNAL_REFERENCE } from '../protocol';
import { parseApprovalPolicy, type ApprovalPolicy } from './approvals';

/** The `options` collection shared by Claude Session Start and Claude Resume, validated. */
export interface RunOptions {
	model?: string;
	fallbackModel?: string;
	maxTurns?: number;
	permissionMode?: string;
	allowedTools?: string;
	disallowedTools?: string;
	appendSystemPrompt?: string;
	mcpConfig?: string;
	maxBudgetUsd?: number;
	timeoutSeconds: number;
	claudePath?: string;
	env: Record<string, string>;
	concurrency: number;
	trustProjectSettings: boolean;
	/** How long a Resume waits for another run of the same session to finish. */
	queueTimeoutSeconds: number;
	shallowClone: boolean;
	e2bTemplate?: string;
	e2bIdleTimeoutMinutes?: number;
	/** Tool calls that wait for a person (PreToolUse defer), and who may decide. */
	approvalPolicy?: ApprovalPolicy;
	/** The external event this run answers (slack:<channel>:<ts>): the same event twice runs once. */
	eventKey?: string;
	/** Where the workflow shows the run's progress (slack:<channel>:<ts of its "working" message>). */
	statusMessage?: string;
	/** Kept with the session's thread (how to answer it); the service checks its `email` part. */
	threadMetadata?: Record<string, unknown>;
}

export const DEFAULT_TIMEOUT_SECONDS = 30 * 60;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function positive(value: unknown, name: string, integer: boolean): number | undefined {
	if (value === undefined || value === null || value === '' || value === 0) return undefined;
	const n = Number(value);
	if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
		throw new ClaudeOptionError(
			name,
			`must be a positive ${integer ? 'whole ' : ''}number, got ${JSON.stringify(value)}`,
		);
	}
	return n;
}

function reference(value: unknown, name: string, example: string): string | undefined {
	const v = text(value);
	if (v === undefined) return undefined;
	if (v.length > 512 || !EXTERNAL_REFERENCE.test(v))
		throw new ClaudeOptionError(
			name,
			`"${v.slice(0, 80)}" is not a reference such as ${example} (a kind, a colon, no spaces)`,
		);
	return v;
}

const text = (value: unknown) =>
	typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/** Accepts `{"NAME":"value"}` JSON, `NAME=value` lines, or n8n's fixedCollection `{ variables: [{ name, value }] }`. */
export function parseEnvOption(value: unknown): Record<string, string> {
	if (value === undefined || value === null || value === '') return {};
	let entries: Array<[string, unknown]>;
	if (typeof value === 'string') {
		const trimmed = value.trim();
		if (trimmed.startsWith('{')) {
			try {
				entries = Object.entries(JSON.parse(trimmed) as Record<string, unknown>);
			} catch {
				throw new ClaudeOptionError(
					'Environment Variables',
					'not valid JSON; use {"NAME":"value"} or NAME=value lines',
				);
			}
		} else {
			entries = trimmed
				.split('\n')
				.map((l) => l.trim())
				.filter((l) => l && !l.startsWith('#'))
				.map((l) => {
					const eq = l.indexOf('=');
					if (eq < 1)
						throw new ClaudeOptionError('Environment Variables', `"${l}" is not NAME=value`);
					return [l.slice(0, eq).trim(), l.slice(eq + 1)];
				});
		}
	} else if (
		typeof value === 'object' &&
		Array.isArray((value as { variables?: unknown }).variables)
	) {
		entries = (value as { variables: Array<{ name?: unknown; value?: unknown }> }).variables.map(
			(v) => [String(v.name ?? ''), v.value],
		);
	} else if (typeof value === 'object') {
		entries = Object.entries(value as Record<string, unknown>);
	} else {
		throw new ClaudeOptionError('Environment Variables', 'use JSON or NAME=value lines');
	}
	const env: Record<string, string> = {};
	for (const [name, v] of entries) {
		if (!ENV_NAME.test(name))
			throw new ClaudeOptionError(
				'Environment Variables',
				`"${name}" is not a valid variable name`,
			);
		env[name] = v === undefined || v === null ? '' : String(v);
	}
	return env;
}

export function parseRunOptions(raw: Record<string, unknown>): RunOptions {
	const permissionMode = text(raw.permissionMode);
	if (permissionMode && !(PERMISSION_MODES as readonly string[]).includes(permissionMode)) {
		throw new ClaudeOptionError(
			'Permission Mode',
			`"${permissionMode}" is not one of ${PERMISSION_MODES.join(', ')}`,
		);
	}
	return {
		model: text(raw.model),
		fallbackModel: text(raw.fallbackModel),
		maxTurns: positive(raw.maxTurns, 'Max Turns', true),
		permissionMode,
		allowedTools: text(raw.allowedTools),
		disallowedTools: text(raw.disallowedTools),
		appendSystemPrompt: text(raw.appendSystemPrompt),
		mcpConfig: text(
			typeof raw.mcpConfig === 'object' && raw.mcpConfig !== null
				? JSON.stringify(raw.mcpConfig)
				: raw.mcpConfig,
		),
		maxBudgetUsd: positive(raw.maxBudgetUsd, 'Max Budget (USD)', false),
		timeoutSeconds: positive(raw.timeoutSeconds, 'Timeout', false) ?? DEFAULT_TIMEOUT_SECONDS,
		claudePath: text(raw.claudePath),
		env: parseEnvOption(raw.env),
		concurrency: positive(raw.concurrency, 'Concurrency', true) ?? 4,
		trustProjectSettings: raw.trustProjectSettings === true,
		queueTimeoutSeconds: positive(raw.queueTimeoutSeconds, 'Queue Timeout', false) ?? 120,
		shallowClone: raw.shallowClone !== false,
		e2bTemplate: text(raw.e2bTemplate),
		e2bIdleTimeoutMinutes: positive(raw.e2bIdleTimeoutMinutes, 'E2B Idle Timeout', false),
		approvalPolicy: parseApprovalPolicy(raw.approvalPolicy, text(raw.allowedTools)),
		eventKey: reference(raw.eventKey, 'Event Key', 'slack:C0123ABCD:1712345678.000100'),
		statusMessage: reference(
			raw.statusMessage,
			'Status Message',
			'slack:C0123ABCD:1712345678.000200',
		),
		threadMetadata: parseThreadMetadata(raw.threadMetadata),
	};
}

/** A JSON object (as text or as n8n's parsed json parameter); empty means none. */
export function parseThreadMetadata(value: unknown): Record<string, unknown> | undefined {
	if (value === undefined || value === null || (typeof value === 'string' && value.trim() === ''))
		return undefined;
	let parsed: unknown = value;
	if (typeof value === 'string') {
		try {
			parsed = JSON.parse(value);
		} catch {
			throw new ClaudeOptionError(
				'Thread Metadata',
				'not valid JSON; use an object such as {"email":{"replyTo":"alice@example.com"}}',
			);
		}
	}
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
		throw new ClaudeOptionError(
			'Thread Metadata',
			'must be a JSON object such as {"email":{"replyTo":"alice@example.com"}}',
		);
	}
	return Object.keys(parsed).length ? (parsed as Record<string, unknown>) : undefined;
}
