// Approvals from the node's side: the policy option sent to the service (which answers PreToolUse from it),
// the PreToolUse hook marked as gated, and the pending call read back when a run stops to wait for a person.
import { ClaudeOptionError, splitToolRules, type HookSettings } from '../runner';
import type { Approval, ApprovalPolicy, Page } from '../protocol';
import { httpStatusOf, withRetry, type OrchestratorClient } from './client';

/** What the service keeps for the session (PUT /api/v1/sessions/:id/approval-policy). */
export type { ApprovalPolicy };

/** The call a run stopped on, as Claude Session Start / Claude Resume output it (`pendingApproval`). */
export interface PendingApproval {
	/** null when something other than the service deferred the call (a project hook). */
	id: string | null;
	toolName: string;
	toolInput: unknown;
	toolUseId: string;
	requestedAt: string | null;
	expiresAt: string | null;
	rule: string | null;
	deciders: string[];
	threadKey: string | null;
}

const OPTION = 'Approval Policy';

const list = (value: unknown) =>
	(Array.isArray(value) ? value.map(String) : String(value ?? '').split(/[\s,;]+/))
		.map((v) => v.trim())
		.filter(Boolean);

/**
 * Reads the node option: n8n's fixedCollection `{ policy: { tools, outsideAllowedTools, deciders,
 * expiresAfterMinutes } }`, or the service's own shape as JSON (from an expression). Undefined when it gates nothing.
 */
export function parseApprovalPolicy(
	raw: unknown,
	allowedTools: string | undefined,
): ApprovalPolicy | undefined {
	let value = raw;
	if (typeof value === 'string') {
		if (!value.trim()) return undefined;
		try {
			value = JSON.parse(value);
		} catch {
			throw new ClaudeOptionError(
				OPTION,
				'not valid JSON; use {"rules":["Bash(git push *)"],"deciders":["U0123ABCD"]}',
			);
		}
	}
	if (value === undefined || value === null) return undefined;
	if (typeof value !== 'object' || Array.isArray(value))
		throw new ClaudeOptionError(OPTION, 'expected the policy fields or a JSON object');
	const v = value as Record<string, unknown>;
	const p = (v.policy && typeof v.policy === 'object' ? v.policy : v) as Record<string, unknown>;
	const rules = Array.isArray(p.rules)
		? p.rules.map(String)
		: splitToolRules(
				typeof p.tools === 'string' ? p.tools : typeof p.rules === 'string' ? p.rules : undefined,
			);
	const outsideAllowedTools = p.outsideAllowedTools === true;
	if (!rules.length && !outsideAllowedTools) return undefined;
	const minutes = Number(p.expiresAfterMinutes ?? 0);
	const seconds = p.expiresInSeconds !== undefined ? Number(p.expiresInSeconds) : minutes * 60;
	if (!Number.isFinite(seconds) || seconds < 0)
		throw new ClaudeOptionError(
			OPTION,
			`Expires After must be a positive number, got ${JSON.stringify(p.expiresAfterMinutes ?? p.expiresInSeconds)}`,
		);
	return {
		rules,
		outsideAllowedTools,
		// "Anything outside the allowed tools" needs the run's allow-list on the service's side.
		allowedTools: outsideAllowedTools ? splitToolRules(allowedTools) : [],
		deciders: list(p.deciders),
		...(seconds > 0 ? { expiresInSeconds: Math.max(1, Math.round(seconds)) } : {}),
	};
}

/** Sends the policy; the service checks the rules and says which one is wrong. */
export async function sendApprovalPolicy(
	client: OrchestratorClient,
	sessionId: string,
	policy: ApprovalPolicy,
): Promise<void> {
	try {
		await withRetry(() =>
			client.request('PUT', `/api/v1/sessions/${sessionId}/approval-policy`, policy),
		);
	} catch (error) {
		if (httpStatusOf(error) === 400)
			throw new ClaudeOptionError(
				OPTION,
				(error as Error).message.replace(/^Claude Orchestrator: /, ''),
			);
		throw error;
	}
}

/** Whether the session already runs under a policy (a Resume without its own keeps the stored one). */
export async function hasApprovalPolicy(
	client: OrchestratorClient,
	sessionId: string,
): Promise<boolean> {
	try {
		await withRetry(() => client.request('GET', `/api/v1/sessions/${sessionId}/approval-policy`));
		return true;
	} catch (error) {
		if (httpStatusOf(error) === 404) return false;
		throw error;
	}
}

/**
 * Marks the PreToolUse hook of a gated run: if the service cannot check the policy in time it then refuses the
 * call, where an unmarked session would carry on. (If the hook itself fails, the CLI lets the call run.)
 */
export function markGatedPreToolUse(settings: HookSettings): HookSettings {
	for (const matcher of settings.hooks.PreToolUse ?? []) {
		for (const hook of matcher.hooks) {
			hook.url += `${hook.url.includes('?') ? '&' : '?'}approvals=required`;
			// Fail closed: a gated session whose PreToolUse cannot reach the service runs no tool at all,
			// rather than running the very call a person was meant to approve (measured: claude-code-cli.md §6.4).
			hook.onFailure = 'block';
		}
	}
	return settings;
}

/** The approval the service recorded for a deferred call, or what the run itself says about the call. */
export async function pendingApprovalFor(
	client: OrchestratorClient,
	sessionId: string,
	deferred: { id: string; name: string; input: unknown },
): Promise<PendingApproval> {
	const page = await withRetry(() =>
		client.request<Page<Approval>>('GET', '/api/v1/approvals', undefined, {
			sessionId,
			toolUseId: deferred.id,
			limit: 1,
		}),
	);
	const a = page.items[0];
	if (!a) {
		return {
			id: null,
			toolName: deferred.name,
			toolInput: deferred.input,
			toolUseId: deferred.id,
			requestedAt: null,
			expiresAt: null,
			rule: null,
			deciders: [],
			threadKey: null,
		};
	}
	return {
		id: a.id,
		toolName: a.toolName,
		toolInput: a.toolInput,
		toolUseId: a.toolUseId,
		requestedAt: a.requestedAt,
		expiresAt: a.expiresAt,
		rule: a.rule,
		deciders: a.deciders,
		threadKey: a.threadKey,
	};
}
