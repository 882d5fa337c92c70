import type { N8nApi } from './n8n-api';
import { setTimeout as sleep } from 'node:timers/promises';

type Json = Record<string, unknown>;

/** One node run inside `data.resultData.runData[nodeName][runIndex]`. */
export interface N8nNodeRun {
	startTime: number;
	executionTime: number;
	executionStatus?: string;
	error?: Json;
	data?: { main?: Array<Array<{ json: Json }> | null> };
}

/** An execution as the public API returns it with `includeData=true`. */
export interface N8nExecution {
	id: string;
	workflowId: string;
	mode: string;
	status: string;
	finished: boolean;
	startedAt: string;
	stoppedAt: string | null;
	data?: {
		resultData: {
			runData: Record<string, N8nNodeRun[]>;
			lastNodeExecuted?: string;
			error?: Json;
		};
	};
}

// Statuses after which an execution will not change any more.
const DONE = new Set(['success', 'error', 'crashed', 'canceled']);
const PAGE_LIMIT = 250;
const MAX_PAGES = 40;

/** All executions of a workflow with their data, oldest first. */
export async function listExecutions(api: N8nApi, workflowId: string): Promise<N8nExecution[]> {
	const all: N8nExecution[] = [];
	let cursor: string | undefined;
	for (let page = 0; page < MAX_PAGES; page++) {
		const qs = new URLSearchParams({ workflowId, includeData: 'true', limit: String(PAGE_LIMIT) });
		if (cursor) qs.set('cursor', cursor);
		const res = await api.request<{ data: N8nExecution[]; nextCursor: string | null }>(
			'GET',
			`/executions?${qs}`,
		);
		all.push(...res.data);
		if (!res.nextCursor) break;
		cursor = res.nextCursor;
	}
	return all.sort((a, b) => Number(a.id) - Number(b.id));
}

/**
 * Polls until `count` executions of the workflow have finished. A webhook answers before n8n has saved the
 * execution (always so with responseMode onReceived), so tests must not read right after the HTTP call.
 */
export async function waitForExecutions(
	api: N8nApi,
	workflowId: string,
	count = 1,
	timeoutMs = 30_000,
): Promise<N8nExecution[]> {
	const deadline = Date.now() + timeoutMs;
	let last: N8nExecution[] = [];
	while (Date.now() < deadline) {
		last = await listExecutions(api, workflowId);
		if (last.filter((e) => DONE.has(e.status)).length >= count) return last;
		await sleep(250);
	}
	const seen = last.map((e) => `${e.id}:${e.status}`).join(', ') || 'none';
	throw new Error(
		`timed out after ${timeoutMs} ms waiting for ${count} finished execution(s) of ${workflowId}; saw ${seen}`,
	);
}

/** The JSON items a node produced: `runData[node][run].data.main[output][*].json`. */
export function nodeOutput(
	execution: N8nExecution,
	nodeName: string,
	runIndex = 0,
	outputIndex = 0,
): Json[] {
	const runs = execution.data?.resultData.runData[nodeName];
	if (!runs) {
		const ran = Object.keys(execution.data?.resultData.runData ?? {}).join(', ') || 'nothing';
		throw new Error(`node "${nodeName}" did not run in execution ${execution.id} (ran: ${ran})`);
	}
	const items = runs[runIndex]?.data?.main?.[outputIndex] ?? [];
	return items.map((item) => item.json);
}
