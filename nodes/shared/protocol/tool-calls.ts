// Tool calls on the wire: what a run's stream saw (POST /sessions/:id/tool-calls); hooks fill the same rows.
import { z } from 'zod';
import { INT4_MAX, timestamp } from './fields';

export const TOOL_CALL_STATUSES = ['running', 'succeeded', 'failed', 'denied'] as const;
export type ToolCallStatus = (typeof TOOL_CALL_STATUSES)[number];

export const ToolCallPiece = z
	.object({
		toolUseId: z.string().min(1).max(256),
		toolName: z.string().max(256).optional(),
		input: z.unknown().optional(),
		response: z.unknown().optional(),
		error: z.string().max(1_000_000).optional(),
		status: z.enum(TOOL_CALL_STATUSES),
		durationMs: z.number().int().nonnegative().max(INT4_MAX).optional(),
		startedAt: timestamp().optional(),
		finishedAt: timestamp().optional(),
		// The run ended before the call's result came: the runner's conclusion, not an observation. It fails a call
		// still running and never overrides a result a hook already reported.
		unfinished: z.literal(true).optional(),
	})
	.strict();
export type ToolCallReport = z.input<typeof ToolCallPiece>;

export const PostToolCallsBody = z
	.object({ toolCalls: z.array(ToolCallPiece).min(1).max(500) })
	.strict();
