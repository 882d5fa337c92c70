import crypto from 'node:crypto';
import type { Queryable } from '../db';
import { scrubValue } from '../scrub';
import { enqueueDeliveries } from './outbox';

const MAX_STRING_BYTES = 64 * 1024;

/**
 * The permission denials a run reports in its result (`permission_denials`), stored as PermissionDenied
 * events with `source: "run"` so "Permission denied" triggers see them. In default mode Claude Code fires no
 * PermissionDenied hook for these, so this is the only place they appear. Runs are re-sent as they progress:
 * a denial is stored once (hash of run, tool call and input), and not at all when a PermissionDenied hook
 * already reported the same tool call. Runs in the caller's transaction, with the run itself.
 */
export async function recordRunDenials(tx: Queryable, sessionId: string, runId: string, denials: readonly unknown[]): Promise<number> {
	const events = denials
		.filter((d): d is Record<string, unknown> => d !== null && typeof d === 'object' && !Array.isArray(d))
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
				payload,
				toolName: payload.tool_name ?? null,
				toolUseId: payload.tool_use_id ?? null,
				hash: crypto.createHash('sha256').update(JSON.stringify(payload)).digest('base64url'),
			};
		});
	if (!events.length) return 0;
	const { rows } = await tx.query<{ id: number; tool_name: string | null }>(
		`INSERT INTO hook_events (session_id, event_name, tool_name, tool_use_id, payload, payload_hash)
		SELECT $1::uuid, 'PermissionDenied', r->>'toolName', r->>'toolUseId', r->'payload', r->>'hash'
		FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(r, ord)
		WHERE NOT EXISTS (
			SELECT 1 FROM hook_events h WHERE h.session_id = $1::uuid AND h.event_name = 'PermissionDenied'
				AND h.tool_use_id = r->>'toolUseId')
		ORDER BY ord
		ON CONFLICT (session_id, payload_hash) DO NOTHING
		RETURNING id, tool_name`,
		[sessionId, JSON.stringify(events)],
	);
	await enqueueDeliveries(
		tx,
		rows.map((r) => ({ id: r.id, sessionId, eventName: 'PermissionDenied', toolName: r.tool_name })),
	);
	return rows.length;
}
