import type { Queryable } from '../db';
import { insertServiceEvents } from '../hooks/hooks.repository';
import { scrubValue } from '../scrub';
import type { KnownSubscriptions } from '../deliveries/outbox';

const MAX_STRING_BYTES = 64 * 1024;

/**
 * The permission denials a run reports in its result (`permission_denials`), stored as PermissionDenied
 * events with `source: "run"` so "Permission denied" triggers see them. In default mode Claude Code fires no
 * PermissionDenied hook for these, so this is the only place they appear. Runs are re-sent as they progress:
 * a denial is stored once (hash of run, tool call and input), and not at all when a PermissionDenied hook
 * already reported the same tool call. Runs in the caller's transaction, with the run itself.
 */
export async function recordRunDenials(
	tx: Queryable,
	sessionId: string,
	runId: string,
	denials: readonly unknown[],
	outbox?: KnownSubscriptions,
): Promise<number> {
	const events = denials
		.filter(
			(d): d is Record<string, unknown> => d !== null && typeof d === 'object' && !Array.isArray(d),
		)
		.map((d) => {
			const payload = scrubValue(
				{
					session_id: sessionId,
					hook_event_name: 'PermissionDenied',
					source: 'run',
					run_id: runId,
					tool_name: typeof d.tool_name === 'string' ? d.tool_name : undefined,
					tool_use_id: typeof d.tool_use_id === 'string' ? d.tool_use_id : undefined,
					tool_input: d.tool_input,
				},
				MAX_STRING_BYTES,
			).value;
			return {
				sessionId,
				eventName: 'PermissionDenied',
				toolName: payload.tool_name ?? null,
				toolUseId: payload.tool_use_id ?? null,
				payload,
				unlessReported: true,
			};
		});
	return insertServiceEvents(tx, events, outbox);
}
