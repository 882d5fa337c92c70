import type { Queryable } from '../db';
import { upsertToolCalls } from '../tool-calls/tool-calls.repository';
import { externalStatusAfter, toolCallFromEvent, type HookEvent } from './hook-event';

export interface StoredEvent {
	id: number;
	event: HookEvent;
}

export type Origin = 'orchestrator' | 'external';

/**
 * Writes a batch of events in the caller's transaction: sessions they name (unknown ones become rows),
 * the events themselves (a redelivered one is skipped), the tool calls they report and session activity.
 * Returns the events actually inserted, with their ids.
 */
export async function insertHookEvents(
	tx: Queryable,
	batch: Array<{ event: HookEvent; origin: Origin }>,
): Promise<StoredEvent[]> {
	if (!batch.length) return [];
	const sessions = new Map<string, { id: string; origin: Origin; cwd?: string }>();
	for (const { event, origin } of batch) {
		if (!sessions.has(event.sessionId)) {
			const cwd = typeof event.payload.cwd === 'string' ? event.payload.cwd : undefined;
			sessions.set(event.sessionId, { id: event.sessionId, origin, cwd });
		}
	}
	// Sorted so concurrent batches (several replicas) lock session rows in the same order.
	const sessionRows = [...sessions.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
	await tx.query(
		`INSERT INTO sessions (id, origin, status, workspace_type, workspace_path)
		SELECT (r->>'id')::uuid, r->>'origin', CASE WHEN r->>'origin' = 'external' THEN 'running' ELSE 'created' END,
			CASE WHEN r->>'origin' = 'external' THEN 'external' END, r->>'cwd'
		FROM jsonb_array_elements($1::jsonb) r
		ON CONFLICT (id) DO NOTHING`,
		[JSON.stringify(sessionRows)],
	);

	const { rows } = await tx.query<{ id: number; hash: string; session_id: string }>(
		`INSERT INTO hook_events (session_id, event_name, tool_name, tool_use_id, prompt_id, payload, payload_hash, received_at)
		SELECT (r->>'sessionId')::uuid, r->>'eventName', r->>'toolName', r->>'toolUseId', r->>'promptId', r->'payload',
			r->>'hash', (r->>'receivedAt')::timestamptz
		FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(r, ord)
		ORDER BY ord
		ON CONFLICT (session_id, payload_hash) DO NOTHING
		RETURNING id, payload_hash AS hash, session_id`,
		[JSON.stringify(batch.map((b) => b.event))],
	);
	const inserted = new Map(rows.map((r) => [`${r.session_id}/${r.hash}`, r.id]));
	const stored: StoredEvent[] = [];
	for (const { event } of batch) {
		const id = inserted.get(`${event.sessionId}/${event.hash}`);
		if (id !== undefined) {
			stored.push({ id, event });
			inserted.delete(`${event.sessionId}/${event.hash}`); // the same payload twice in one batch counts once
		}
	}
	if (!stored.length) return stored;

	await upsertToolCalls(
		tx,
		stored.map((s) => toolCallFromEvent(s.event)).filter((c) => c !== undefined),
	);

	const activity = new Map<string, { id: string; n: number; at: string; status: string; hooks: boolean }>();
	for (const { event } of stored) {
		const a = activity.get(event.sessionId) ?? { id: event.sessionId, n: 0, at: event.receivedAt, status: 'running', hooks: false };
		a.n++;
		// The runner writes SessionStart from the stream's init line; only real hook deliveries prove hooks work.
		a.hooks ||= event.payload.recorded_from !== 'stream_init';
		a.at = event.receivedAt > a.at ? event.receivedAt : a.at;
		a.status = externalStatusAfter(event.eventName);
		activity.set(event.sessionId, a);
	}
	await tx.query(
		`UPDATE sessions s SET
			hook_event_count = s.hook_event_count + c.n,
			hooks_missing = s.hooks_missing AND NOT c.hooks,
			last_activity_at = GREATEST(s.last_activity_at, c.at),
			status = CASE WHEN s.origin = 'external' THEN c.status ELSE s.status END,
			updated_at = now()
		FROM (SELECT (r->>'id')::uuid AS id, (r->>'n')::integer AS n, (r->>'at')::timestamptz AS at, r->>'status' AS status,
				(r->>'hooks')::boolean AS hooks
			FROM jsonb_array_elements($1::jsonb) r) c
		WHERE s.id = c.id`,
		[JSON.stringify([...activity.values()].sort((a, b) => (a.id < b.id ? -1 : 1)))],
	);
	return stored;
}

export interface HookEventRow {
	id: number;
	event_name: string;
	tool_name: string | null;
	tool_use_id: string | null;
	prompt_id: string | null;
	payload: unknown;
	received_at: Date;
}

export async function listHookEvents(db: Queryable, sessionId: string, limit: number, afterId = 0) {
	const { rows } = await db.query<HookEventRow>(
		`SELECT id, event_name, tool_name, tool_use_id, prompt_id, payload, received_at
		FROM hook_events WHERE session_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		[sessionId, afterId, limit],
	);
	return rows.map((r) => ({
		id: r.id,
		event: r.event_name,
		toolName: r.tool_name,
		toolUseId: r.tool_use_id,
		promptId: r.prompt_id,
		payload: r.payload,
		receivedAt: r.received_at,
	}));
}
