import type { z } from 'zod';
import type { PostToolCallsBody } from '../../../nodes/shared/protocol';
import type { Database } from '../db';
import { scrubValue } from '../scrub';
import { failUnfinished, upsertToolCalls } from './tool-calls.repository';

/**
 * Tool calls as a run's stream saw them, merged with what hooks reported (by tool_use_id); inputs, responses and
 * errors are scrubbed and cut at `maxBytes` like a hook's. Answers how many were written.
 */
export async function recordStreamToolCalls(
	db: Database,
	sessionId: string,
	toolCalls: z.output<typeof PostToolCallsBody>['toolCalls'],
	maxBytes: number,
): Promise<number> {
	const pieces = toolCalls.map(({ unfinished, ...c }) => {
		// Stored as the stream saw it (started, running); failed below only if no hook reported its result.
		if (unfinished)
			c = {
				...c,
				status: 'running',
				response: undefined,
				error: undefined,
				finishedAt: undefined,
				durationMs: undefined,
			};
		const input = scrubValue(c.input, maxBytes);
		const response = scrubValue(c.response, maxBytes);
		return {
			...c,
			sessionId,
			input: input.value,
			response: response.value,
			error: c.error === undefined ? undefined : scrubValue(c.error, maxBytes).value,
			seenInHooks: false,
			seenInStream: true,
			truncated: input.truncated || response.truncated,
		};
	});
	const unfinished = toolCalls.filter((c) => c.unfinished);
	await db.transaction(async (tx) => {
		await upsertToolCalls(tx, pieces);
		await failUnfinished(
			tx,
			sessionId,
			unfinished.map((c) => ({
				toolUseId: c.toolUseId,
				response: scrubValue(c.response, maxBytes).value,
				finishedAt: c.finishedAt,
				durationMs: c.durationMs,
			})),
		);
	});
	return pieces.length;
}
