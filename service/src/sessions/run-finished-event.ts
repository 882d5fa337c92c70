import { EVENT_SOURCES, RUN_FINISHED } from '../../../nodes/shared/protocol';
import type { Queryable } from '../db';
import type { KnownSubscriptions } from '../deliveries/outbox';
import { insertServiceEvents } from '../hooks/hooks.repository';

const RUNNING = new Set(['created', 'running']);

/** Whether a PUT of a run moves it from running (or not yet recorded) to an end. */
export const endsRun = (previous: string | undefined, next: string) =>
	(previous === undefined || RUNNING.has(previous)) && !RUNNING.has(next);

/**
 * Stores RunFinished as the session's event with `source: "service"` and queues it for Hook Triggers, in the
 * transaction that records the run's end. It carries the run's outcome as recorded, so a workflow that shows the
 * run's progress can replace its status message with the result, after (and never before) the run's tool-call events:
 * deliveries of one session to one trigger go out in order.
 */
export async function recordRunFinished(
	tx: Queryable,
	sessionId: string,
	runId: string,
	outbox?: KnownSubscriptions,
): Promise<void> {
	const { rows: runs } = await tx.query<Record<string, any>>(
		`SELECT r.kind, r.status, r.result, r.is_error, r.subtype, r.error_message, r.cost_usd, r.num_turns, r.duration_ms,
			r.status_message, r.started_at, r.ended_at,
			(SELECT count(*)::int FROM tool_calls t WHERE t.session_id = r.session_id
				AND COALESCE(t.started_at, t.finished_at) >= r.started_at
				AND COALESCE(t.started_at, t.finished_at) <= COALESCE(r.ended_at, now())) AS tool_calls
		FROM session_runs r WHERE r.id = $1 AND r.session_id = $2`,
		[runId, sessionId],
	);
	const run = runs[0];
	if (!run) return;
	const payload = {
		session_id: sessionId,
		hook_event_name: RUN_FINISHED,
		source: EVENT_SOURCES.service,
		run_id: runId,
		kind: run.kind,
		status: run.status,
		result: run.result,
		is_error: run.is_error,
		subtype: run.subtype,
		error_message: run.error_message,
		cost_usd: run.cost_usd,
		num_turns: run.num_turns,
		duration_ms: Number(run.duration_ms),
		tool_calls: run.tool_calls,
		status_message: run.status_message,
		started_at: new Date(run.started_at).toISOString(),
		ended_at: run.ended_at ? new Date(run.ended_at).toISOString() : null,
	};
	await insertServiceEvents(tx, [{ sessionId, eventName: RUN_FINISHED, payload }], outbox);
}
