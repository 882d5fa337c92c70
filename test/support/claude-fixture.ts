import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { OrchestratorClient } from '../../nodes/shared/session/client';
import { parseRunOptions, type RunOptions } from '../../nodes/shared/session/run-options';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-api';
import { claudeBinary, isolatedClaudeEnv } from '../fakes/claude-cli';
import { makeRepoWithOrigin } from './git';

// What the reliability suites share to run the real claude CLI against the loopback fake API: one claude home
// (as n8n has one), folders under one allowed root, and helpers that read back what the service recorded.

export interface ClaudeFixture {
	fake: FakeAnthropic;
	root: string;
	/** The allowed root; folders() and repo() make things inside it. */
	projects: string;
	deps: { allowedRoots: string[]; workspacesDir: string; cacheDir: string; worktreesDir: string };
	options(extra?: Record<string, unknown>): RunOptions;
	folder(name: string): string;
	/** A git repository with one commit (and a bare "origin" it is pushed to), for worktree sessions. */
	repo(name: string): { path: string; origin: string };
	/** The env of another claude home (another worker's HOME), for options({ env }). */
	home(name: string): Record<string, string>;
	close(): Promise<void>;
}

export async function claudeFixture(prefix: string): Promise<ClaudeFixture> {
	const fake = await startFakeAnthropic();
	const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`)));
	const projects = path.join(root, 'projects');
	fs.mkdirSync(projects);
	const claudeEnv = isolatedClaudeEnv(path.join(root, 'claude'), fake.url);
	const deps = {
		allowedRoots: [projects],
		workspacesDir: path.join(root, 'workspaces'),
		cacheDir: path.join(root, 'cache'),
		worktreesDir: path.join(projects, '.worktrees'),
	};
	return {
		fake,
		root,
		projects,
		deps,
		options: (extra = {}) =>
			parseRunOptions({
				claudePath: claudeBinary(),
				env: claudeEnv,
				timeoutSeconds: 180,
				queueTimeoutSeconds: 60,
				...extra,
			}),
		folder(name) {
			const dir = path.join(projects, name);
			fs.mkdirSync(dir, { recursive: true });
			return dir;
		},
		repo: (name) =>
			makeRepoWithOrigin(
				path.join(projects, name),
				path.join(root, 'origins', `${name}.git`),
				`# ${name}\n`,
			),
		home: (name) => isolatedClaudeEnv(path.join(root, name), fake.url),
		async close() {
			await fake.close();
			fs.rmSync(root, { recursive: true, force: true, maxRetries: 5 });
		},
	};
}

/** The messages of the last request the fake API got for a session, as JSON: the conversation claude sent. */
export function lastConversation(fake: FakeAnthropic, sessionId: string): string {
	const requests = fake.requestsFor(sessionId);
	return JSON.stringify(requests[requests.length - 1].body.messages);
}

/** The text of the newest user prompt in a request the fake API received. */
export function lastPrompt(body: { messages?: Array<{ role: string; content: unknown }> }): string {
	const users = (body.messages ?? []).filter((m) => m.role === 'user');
	const content = users[users.length - 1]?.content;
	const blocks = typeof content === 'string' ? [content] : Array.isArray(content) ? content : [];
	return blocks
		.map((b: any) => (typeof b === 'string' ? b : b?.type === 'text' ? String(b.text) : ''))
		.join('\n');
}

/** Every user prompt text in one request the fake API received, in order, without claude's system reminders. */
export function promptsIn(body: {
	messages?: Array<{ role: string; content: unknown }>;
}): string[] {
	return (body.messages ?? [])
		.filter((m) => m.role === 'user')
		.flatMap((m) =>
			typeof m.content === 'string' ? [m.content] : Array.isArray(m.content) ? m.content : [],
		)
		.map((b: any) => (typeof b === 'string' ? b : b?.type === 'text' ? String(b.text) : ''))
		.filter((t) => t && !t.trimStart().startsWith('<system-reminder>'));
}

/** Expects the conversation claude last sent for the session to hold each of `earlier` (the turns it went on from). */
export function expectConversationHolds(
	fake: FakeAnthropic,
	sessionId: string,
	earlier: string[],
): void {
	const conversation = lastConversation(fake, sessionId);
	for (const text of earlier) expect(conversation).toContain(text);
}

/** Every hook event name stored for a session, in arrival order (all pages). */
export async function eventNames(client: OrchestratorClient, sessionId: string): Promise<string[]> {
	const names: string[] = [];
	let cursor: string | null = null;
	do {
		const page: { items: Array<{ event: string }>; nextCursor: string | null } =
			await client.request('GET', `/api/v1/sessions/${sessionId}/events`, undefined, {
				limit: 500,
				...(cursor ? { cursor } : {}),
			});
		names.push(...page.items.map((e) => e.event));
		cursor = page.nextCursor;
	} while (cursor);
	return names;
}

/** `{ PreToolUse: 3, Stop: 1, … }`: order-free, so runs can be compared whatever order hooks raced in. */
export function countByName(names: string[]): Record<string, number> {
	const out: Record<string, number> = {};
	for (const n of [...names].sort()) out[n] = (out[n] ?? 0) + 1;
	return out;
}

export interface ToolCallLog {
	tool: string;
	status: string;
	sources: string[];
	toolUseId: string;
	input: Record<string, unknown> | null;
}

export async function toolCalls(
	client: OrchestratorClient,
	sessionId: string,
): Promise<ToolCallLog[]> {
	const page = await client.request<{ items: ToolCallLog[] }>(
		'GET',
		`/api/v1/sessions/${sessionId}/logs`,
		undefined,
		{ limit: 500 },
	);
	return page.items;
}

/** The service's Prometheus text as `name{labels}` → value. */
export async function scrapeMetrics(url: string, apiKey: string): Promise<Map<string, number>> {
	const res = await fetch(`${url}/metrics`, {
		headers: { Authorization: `Bearer ${apiKey}` },
		signal: AbortSignal.timeout(10_000),
	});
	const text = await res.text();
	const out = new Map<string, number>();
	for (const line of text.split('\n')) {
		if (!line || line.startsWith('#')) continue;
		const i = line.lastIndexOf(' ');
		out.set(line.slice(0, i), Number(line.slice(i + 1)));
	}
	return out;
}

/** Hook events the service answered, by outcome (stored / duplicate / queued), summed over the event names chosen. */
export function hookOutcomes(
	metrics: Map<string, number>,
	events: (name: string) => boolean = () => true,
): { stored: number; duplicate: number; queued: number } {
	const out = { stored: 0, duplicate: 0, queued: 0 };
	for (const [key, v] of metrics) {
		const m =
			/^orchestrator_hook_events_total\{event="([^"]*)",outcome="(stored|duplicate|queued)"\}$/.exec(
				key,
			);
		if (m && events(m[1])) out[m[2] as keyof typeof out] += v;
	}
	return out;
}

/**
 * The smallest histogram bucket holding at least p of the hook acknowledgements, between two scrapes: an upper
 * bound for the p-quantile (the buckets are 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 2500 ms).
 */
export function hookAckQuantileMs(
	before: Map<string, number>,
	after: Map<string, number>,
	p: number,
): { le: number; count: number; meanMs: number } {
	const val = (m: Map<string, number>, k: string) => m.get(k) ?? 0;
	const count =
		val(after, 'orchestrator_hook_ack_ms_count') - val(before, 'orchestrator_hook_ack_ms_count');
	const sum =
		val(after, 'orchestrator_hook_ack_ms_sum') - val(before, 'orchestrator_hook_ack_ms_sum');
	const buckets = [...after.keys()]
		.map((k) => /^orchestrator_hook_ack_ms_bucket\{le="([^"]+)"\}$/.exec(k))
		.filter((m): m is RegExpExecArray => m !== null)
		.map((m) => ({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), key: m[0] }))
		.sort((a, b) => a.le - b.le);
	for (const b of buckets) {
		if (count > 0 && val(after, b.key) - val(before, b.key) >= p * count)
			return { le: b.le, count, meanMs: sum / count };
	}
	return { le: Infinity, count, meanMs: count ? sum / count : 0 };
}
