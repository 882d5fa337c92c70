import crypto from 'node:crypto';
import fixtures from '../fixtures/hook-payloads.json';
import { api } from '../support/test-service';

// Seeds sessions the way the nodes and Claude Code do: through the public API, with the captured hook payloads.

type Service = { url: string };
type Json = Record<string, any>;

export const fixture = (label: string, sessionId: string): Json => {
	const found = (fixtures as Array<{ label: string; payload: Json }>).find(
		(f) => f.label === label,
	);
	if (!found) throw new Error(`no fixture ${label}`);
	return { ...found.payload, session_id: sessionId, cwd: '/srv/work/widgets' };
};

async function ok(res: Promise<{ status: number; body: any }>, what: string) {
	const r = await res;
	if (r.status >= 300) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
	return r.body;
}

export async function createSession(
	svc: Service,
	body: Json,
): Promise<{ id: string; hookToken: string }> {
	return ok(api(svc, 'POST', '/api/v1/sessions', body), 'create session');
}

export async function putRun(
	svc: Service,
	sessionId: string,
	body: Json,
	runId: string = crypto.randomUUID(),
) {
	await ok(api(svc, 'PUT', `/api/v1/sessions/${sessionId}/runs/${runId}`, body), 'put run');
	return runId;
}

/** Posts a hook payload the way Claude Code's HTTP hook does: with the session's own hook token. */
export async function postHook(svc: Service, hookToken: string, payload: Json) {
	return ok(
		api(svc, 'POST', '/api/v1/hooks', payload, { Authorization: `Bearer ${hookToken}` }),
		`hook ${payload.hook_event_name}`,
	);
}

export async function postMessages(svc: Service, sessionId: string, messages: Json[]) {
	return ok(
		api(svc, 'POST', `/api/v1/sessions/${sessionId}/messages`, { messages }),
		'post messages',
	);
}

export async function postToolCalls(svc: Service, sessionId: string, toolCalls: Json[]) {
	return ok(
		api(svc, 'POST', `/api/v1/sessions/${sessionId}/tool-calls`, { toolCalls }),
		'post tool calls',
	);
}

export const XSS_OUTPUT =
	'<script>window.__pwned = 1</script>\n<img src=x onerror="window.__pwned = 2">\n<b>not bold</b>';
export const BIG_OUTPUT = Array.from(
	{ length: 1500 },
	(_, i) => `line ${String(i).padStart(5, '0')} of a very long tool output`,
).join('\n');

export interface Seeded {
	alpha: { id: string; hookToken: string };
	beta: { id: string };
	gamma: { id: string };
	delta: { id: string; hookToken: string };
	total: number;
}

/**
 * 55 older completed sessions (so the list has a second page) and four that matter:
 *   alpha  running, GitHub clone, Slack thread, hook events from the fixtures, an XSS-shaped and a huge tool output;
 *   beta   completed, local folder, email thread, cost and tokens by model;
 *   gamma  failed, worktree, over budget with a permission denial;
 *   delta  waiting, E2B sandbox.
 */
export async function seedSessions(svc: Service): Promise<Seeded> {
	for (let i = 0; i < 55; i++) {
		const s = await createSession(svc, {
			prompt: `Filler task ${i}: tidy the docs`,
			workspaceType: 'local',
			workspacePath: `/srv/work/filler-${i}`,
		});
		await putRun(svc, s.id, {
			kind: 'start',
			status: 'completed',
			costUsd: 0.01,
			numTurns: 1,
			durationMs: 1200,
		});
	}

	const gamma = await createSession(svc, {
		prompt: 'Refactor the billing module into smaller services',
		workspaceType: 'worktree',
		workspacePath: '/srv/work/billing-wt',
		workspaceBranch: 'refactor/invoices',
		repository: 'acme/billing',
	});
	await putRun(svc, gamma.id, {
		kind: 'start',
		status: 'failed',
		isError: true,
		subtype: 'error_max_budget_usd',
		errorMessage: 'Reached the budget of $1.00 for this run',
		costUsd: 1.0031,
		numTurns: 14,
		durationMs: 240_000,
		exitCode: 1,
		usage: {
			input_tokens: 52000,
			output_tokens: 9100,
			cache_read_input_tokens: 310000,
			cache_creation_input_tokens: 12000,
		},
		permissionDenials: [
			{
				tool_name: 'Bash',
				tool_use_id: 'toolu_denied_rm',
				tool_input: { command: 'rm -rf build/' },
			},
		],
		endedAt: new Date().toISOString(),
	});

	const beta = await createSession(svc, {
		prompt: 'Write the release notes for 4.2',
		workspaceType: 'local',
		workspacePath: '/srv/work/notes',
		threadKey: 'email:<release-42@example.com>',
		model: 'claude-sonnet-4-5',
	});
	await putRun(svc, beta.id, {
		kind: 'start',
		status: 'completed',
		result: 'Release notes written to NOTES.md',
		costUsd: 0.4213,
		numTurns: 6,
		durationMs: 83_000,
		exitCode: 0,
		usage: {
			input_tokens: 12000,
			output_tokens: 3400,
			cache_read_input_tokens: 90000,
			cache_creation_input_tokens: 4000,
		},
		modelUsage: {
			'claude-sonnet-4-5': {
				inputTokens: 12000,
				outputTokens: 3400,
				cacheReadInputTokens: 90000,
				cacheCreationInputTokens: 4000,
				costUSD: 0.4213,
			},
		},
		endedAt: new Date().toISOString(),
	});
	await postMessages(svc, beta.id, [
		{
			direction: 'user',
			content: 'Write the release notes for 4.2',
			source: 'email',
			externalId: '<release-42@example.com>',
		},
		{
			direction: 'assistant',
			content: 'Release notes written to NOTES.md',
			source: 'stream',
			externalId: 'm-beta-1',
		},
	]);

	const delta = await createSession(svc, {
		prompt: 'Summarise the open issues',
		workspaceType: 'e2b',
		sandboxId: 'sbx_delta_1',
		status: 'waiting',
	});

	const alpha = await createSession(svc, {
		prompt: 'Fix the login redirect loop on the sign-in page',
		workspaceType: 'github',
		workspacePath: '/srv/work/widgets',
		workspaceBranch: 'fix/login-redirect',
		repository: 'acme/widgets',
		threadKey: 'slack:C0123ABCD:1718000000.000100',
		model: 'claude-sonnet-4-5',
	});
	await putRun(svc, alpha.id, {
		kind: 'start',
		status: 'running',
		prompt: 'Fix the login redirect loop on the sign-in page',
	});
	for (const label of [
		'UserPromptSubmit',
		'PreToolUse (Bash)',
		'PostToolUse (Bash)',
		'PreToolUse (Write)',
		'PostToolUse (Write)',
		'PostToolUseFailure (Bash)',
		'PermissionDenied (Bash)',
		'MessageDisplay',
	]) {
		await postHook(svc, alpha.hookToken, fixture(label, alpha.id));
	}
	const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
	await postToolCalls(svc, alpha.id, [
		{
			toolUseId: 'toolu_xss',
			toolName: 'Bash',
			input: { command: 'cat page.html' },
			response: XSS_OUTPUT,
			status: 'succeeded',
			durationMs: 12,
			startedAt: at(500),
			finishedAt: at(488),
		},
		{
			toolUseId: 'toolu_big',
			toolName: 'Read',
			input: { file_path: '/srv/work/widgets/big.log' },
			response: BIG_OUTPUT,
			status: 'succeeded',
			durationMs: 40,
			startedAt: at(400),
			finishedAt: at(360),
		},
	]);
	await postMessages(svc, alpha.id, [
		{
			direction: 'user',
			content: 'Fix the login redirect loop on the sign-in page',
			source: 'slack',
			externalId: '1718000000.000100',
		},
		{
			direction: 'assistant',
			content: 'Looking at the redirect handler now <b>first</b>.',
			source: 'stream',
			externalId: 'm-alpha-1',
		},
	]);
	return { alpha, beta, gamma, delta, total: 59 };
}
