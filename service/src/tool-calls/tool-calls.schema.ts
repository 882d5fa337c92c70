import { z } from 'zod';
import { timestamp } from '../http/validate';

const ToolCallPiece = z
	.object({
		toolUseId: z.string().min(1).max(256),
		toolName: z.string().max(256).optional(),
		input: z.unknown().optional(),
		response: z.unknown().optional(),
		error: z.string().max(1_000_000).optional(),
		status: z.enum(['running', 'succeeded', 'failed', 'denied']),
		durationMs: z.number().int().nonnegative().max(2_147_483_647).optional(),
		startedAt: timestamp().optional(),
		finishedAt: timestamp().optional(),
	})
	.strict();

/** Tool calls as the run's stream saw them (the node posts these; hooks fill the same rows). */
export const PostToolCallsBody = z.object({ toolCalls: z.array(ToolCallPiece).min(1).max(500) }).strict();
