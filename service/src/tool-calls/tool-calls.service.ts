import type { z } from 'zod';
import type { PostToolCallsBody } from '../../../nodes/shared/protocol';
import type { Database } from '../db';
import { scrubValue } from '../scrub';
import { upsertToolCalls } from './tool-calls.repository';

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
	const pieces = toolCalls.map((c) => {
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
	await db.transaction((tx) => upsertToolCalls(tx, pieces));
	return pieces.length;
}
