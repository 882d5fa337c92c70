// A tool call is reported piecewise by several sources (PreToolUse, PostToolUse, PostToolUseFailure,
// PermissionDenied hooks, and the run's stream). Each piece is an upsert; merging is order-independent.

export type ToolCallStatus = 'running' | 'succeeded' | 'failed' | 'denied';

export interface ToolCallUpsert {
	sessionId: string;
	toolUseId: string;
	toolName?: string;
	input?: unknown;
	response?: unknown;
	error?: string;
	status: ToolCallStatus;
	durationMs?: number;
	startedAt?: string;
	finishedAt?: string;
	seenInHooks: boolean;
	seenInStream: boolean;
	truncated: boolean;
}

// A later piece never moves a call back: a denial outranks a failure, which outranks success.
export const STATUS_RANK: Record<ToolCallStatus, number> = {
	running: 0,
	succeeded: 1,
	failed: 2,
	denied: 3,
};

const earliest = (a?: string, b?: string) => (!a ? b : !b ? a : a < b ? a : b);
const latest = (a?: string, b?: string) => (!a ? b : !b ? a : a > b ? a : b);

/** Same rules as the SQL upsert in tool-calls.repository.ts, for pieces that arrive in one batch. */
export function mergeToolCall(a: ToolCallUpsert, b: ToolCallUpsert): ToolCallUpsert {
	return {
		sessionId: a.sessionId,
		toolUseId: a.toolUseId,
		toolName: a.toolName ?? b.toolName,
		input: a.input ?? b.input,
		response: b.response ?? a.response,
		error: b.error ?? a.error,
		status: STATUS_RANK[b.status] >= STATUS_RANK[a.status] ? b.status : a.status,
		durationMs:
			b.seenInHooks && b.durationMs !== undefined ? b.durationMs : (a.durationMs ?? b.durationMs),
		startedAt: earliest(a.startedAt, b.startedAt),
		finishedAt: latest(a.finishedAt, b.finishedAt),
		seenInHooks: a.seenInHooks || b.seenInHooks,
		seenInStream: a.seenInStream || b.seenInStream,
		truncated: a.truncated || b.truncated,
	};
}

export function mergeAll(pieces: ToolCallUpsert[]): ToolCallUpsert[] {
	const byKey = new Map<string, ToolCallUpsert>();
	for (const p of pieces) {
		const key = `${p.sessionId}\u0000${p.toolUseId}`;
		const prev = byKey.get(key);
		byKey.set(key, prev ? mergeToolCall(prev, p) : p);
	}
	return [...byKey.values()];
}
