import { insertImportedRow } from '../db/imported-row';
import crypto from 'node:crypto';
import { readSessionRowsAfter } from '../db/byte-bounded-page';
import type { Queryable } from '../db';
import { plannedDeliveriesInsertSql } from '../deliveries/deliveries.repository';
import { hookActivityUpdateSql, hookSessionsInsertSql } from '../sessions/sessions.repository';
import { enqueueDeliveries, type KnownSubscriptions } from '../deliveries/outbox';
import { toolCallRows, toolCallUpsertSql } from '../tool-calls/tool-calls.repository';
import { externalStatusAfter, toolCallFromEvent, type HookEvent } from './hook-event';

export interface StoredEvent {
	id: number;
	event: HookEvent;
}

export type Origin = 'orchestrator' | 'external';

interface SessionActivity {
	id: string;
	origin: Origin;
	cwd?: string;
	/** Distinct events in the batch: what a session that did not exist before starts with. */
	n: number;
	at: string;
	/** An external session's status after the batch's last event. */
	status: string;
	/** Whether a real hook delivery is among them (the runner writes SessionStart from the stream itself). */
	hooks: boolean;
	/** The first prompt a UserPromptSubmit carried: an external session has no other source for it. */
	prompt?: string;
}

/** Deliveries decided in memory from the subscriptions as of `subscriptionsVersion` (deliveries/outbox.ts). */
export interface OutboxPlan {
	subscriptionsVersion: number;
	/** One per (subscription, event) that matches; the event named by its session and payload hash. */
	deliveries: Array<{ id: string; subscriptionId: string; sessionId: string; hash: string }>;
}

export interface InsertResult {
	/** The events actually inserted (not redeliveries), with their ids. */
	stored: StoredEvent[];
	/** Deliveries the plan queued. */
	queued: number;
}

/** The statement insertHookEvents sends, built once: the writes it composes come from their tables' repositories. */
const INSERT_HOOK_EVENTS_SQL = `WITH guard AS (
		-- $4: the subscriptions version a plan was made under (NULL: no plan).
		SELECT $4::bigint IS NULL OR $4::bigint = (SELECT version FROM subscriptions_version) AS ok
	), new_sessions AS (
		${hookSessionsInsertSql('$1', '(SELECT ok FROM guard)')}
		RETURNING id
	), ev AS (
		INSERT INTO hook_events (session_id, event_name, tool_name, tool_use_id, prompt_id, payload, payload_hash, received_at)
		SELECT (r->>'sessionId')::uuid, r->>'eventName', r->>'toolName', r->>'toolUseId', r->>'promptId', r->'payload',
			r->>'hash', (r->>'receivedAt')::timestamptz
		FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(r, ord)
		WHERE (SELECT ok FROM guard)
		ORDER BY ord
		ON CONFLICT (session_id, payload_hash) DO NOTHING
		RETURNING id, payload_hash, session_id, event_name
	), tc AS (
		${toolCallUpsertSql(`CASE WHEN (SELECT ok FROM guard) THEN $3::jsonb ELSE '[]' END`)}
		RETURNING 1
	), activity AS (
		${hookActivityUpdateSql('$1', 'ev')}
		RETURNING 1
	), dl AS (
		${plannedDeliveriesInsertSql('$5', 'ev')}
		RETURNING 1
	)
	SELECT id, payload_hash AS hash, session_id, (SELECT count(*)::integer FROM dl) AS queued FROM ev
	UNION ALL SELECT NULL, NULL, NULL, 0 WHERE NOT (SELECT ok FROM guard)`;

/**
 * Writes a batch of events in one statement (one round trip, atomic on its own): sessions they name (unknown ones
 * become rows), the events themselves (a redelivered one is skipped), the tool calls they report, session
 * activity, and with a plan the Hook Trigger deliveries for the events inserted.
 *
 * A plan holds only while the subscriptions are as it saw them: if their version has moved (migration 006), the
 * statement writes nothing and answers 'subscriptions-changed', and the caller queues deliveries the slow way.
 *
 * Sibling CTEs share one snapshot, so the activity UPDATE cannot see sessions inserted by this statement: a new
 * session is inserted with its counts already set, and the UPDATE only reaches sessions that existed before.
 */
export function insertHookEvents(
	tx: Queryable,
	batch: Array<{ event: HookEvent; origin: Origin }>,
): Promise<InsertResult>;
export function insertHookEvents(
	tx: Queryable,
	batch: Array<{ event: HookEvent; origin: Origin }>,
	plan: OutboxPlan | undefined,
): Promise<InsertResult | 'subscriptions-changed'>;
export async function insertHookEvents(
	tx: Queryable,
	batch: Array<{ event: HookEvent; origin: Origin }>,
	plan?: OutboxPlan,
): Promise<InsertResult | 'subscriptions-changed'> {
	if (!batch.length) return { stored: [], queued: 0 };
	const sessions = new Map<string, SessionActivity>();
	const seen = new Set<string>();
	for (const { event, origin } of batch) {
		const key = `${event.sessionId}/${event.hash}`;
		const first = !seen.has(key);
		seen.add(key);
		let a = sessions.get(event.sessionId);
		if (!a) {
			const cwd = typeof event.payload.cwd === 'string' ? event.payload.cwd : undefined;
			a = {
				id: event.sessionId,
				origin,
				cwd,
				n: 0,
				at: event.receivedAt,
				status: 'running',
				hooks: false,
			};
			sessions.set(event.sessionId, a);
		}
		if (first) a.n++;
		if (event.receivedAt > a.at) a.at = event.receivedAt;
		a.status = externalStatusAfter(event.eventName);
		a.hooks ||= event.payload.recorded_from !== 'stream_init';
		if (
			a.prompt === undefined &&
			event.eventName === 'UserPromptSubmit' &&
			typeof event.payload.prompt === 'string'
		)
			a.prompt = event.payload.prompt;
	}
	const toolCalls = batch.map((b) => toolCallFromEvent(b.event)).filter((c) => c !== undefined);
	// Sorted so concurrent batches (several replicas) lock session rows in the same order.
	const sessionRows = [...sessions.values()].sort((a, b) => (a.id < b.id ? -1 : 1));

	const { rows } = await tx.query<{
		id: number | null;
		hash: string;
		session_id: string;
		queued: number;
	}>(
		INSERT_HOOK_EVENTS_SQL,
		[
			JSON.stringify(sessionRows),
			eventsJson(batch.map((b) => b.event)),
			JSON.stringify(toolCallRows(toolCalls)),
			plan?.subscriptionsVersion ?? null,
			JSON.stringify(plan?.deliveries ?? []),
		],
		'insert-hook-events',
	);
	if (rows.length === 1 && rows[0].id === null) return 'subscriptions-changed';
	const inserted = new Map(rows.map((r) => [`${r.session_id}/${r.hash}`, r.id as number])); // only ev's rows are left
	const stored: StoredEvent[] = [];
	for (const { event } of batch) {
		const id = inserted.get(`${event.sessionId}/${event.hash}`);
		if (id !== undefined) {
			stored.push({ id, event });
			inserted.delete(`${event.sessionId}/${event.hash}`); // the same payload twice in one batch counts once
		}
	}
	return { stored, queued: rows[0]?.queued ?? 0 };
}

/** The batch as the statement reads it; each payload goes in as the JSON text it was hashed from. */
function eventsJson(events: HookEvent[]): string {
	return `[${events
		.map(
			({ sessionId, eventName, toolName, toolUseId, promptId, hash, receivedAt, raw }) =>
				`${JSON.stringify({ sessionId, eventName, toolName, toolUseId, promptId, hash, receivedAt }).slice(0, -1)},"payload":${raw}}`,
		)
		.join(',')}]`;
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

/** A session's events after `afterId`, up to `limit` rows and about `maxBytes` of payload (at least one row). */
export async function listHookEvents(
	db: Queryable,
	sessionId: string,
	limit: number,
	afterId = 0,
	maxBytes = Number.MAX_SAFE_INTEGER,
) {
	const { rows, more } = await readSessionRowsAfter<HookEventRow>(
		db,
		{
			table: 'hook_events',
			columns: 'id, event_name, tool_name, tool_use_id, prompt_id, payload, received_at',
			sizeExpr: 'octet_length(payload::text)',
		},
		sessionId,
		{ limit, afterId, maxBytes },
	);
	return {
		items: rows.map((r) => ({
			id: r.id,
			event: r.event_name,
			toolName: r.tool_name,
			toolUseId: r.tool_use_id,
			promptId: r.prompt_id,
			payload: r.payload,
			receivedAt: r.received_at,
		})),
		more,
	};
}

/** An event the service records itself (approvals, budget alerts, an interrupted run) or a run reported (denials). */
export interface ServiceEventRow {
	sessionId: string;
	eventName: string;
	toolName?: string | null;
	toolUseId?: string | null;
	/** Stored as it is; also what the event is deduplicated on (its hash), so a re-sent event is stored once. */
	payload: Record<string, unknown>;
	/** Not stored when the session already has an event of this name for the same tool call (a hook reported it). */
	unlessReported?: boolean;
}

/**
 * Stores service events and queues their deliveries in the caller's transaction: the one other writer of
 * hook_events beside insertHookEvents (Claude Code's own events). Returns the rows stored.
 */
export async function insertServiceEvents(
	tx: Queryable,
	events: ServiceEventRow[],
	outbox?: KnownSubscriptions,
): Promise<number> {
	if (!events.length) return 0;
	const rows = events.map((e) => ({
		sessionId: e.sessionId,
		eventName: e.eventName,
		toolName: e.toolName ?? null,
		toolUseId: e.toolUseId ?? null,
		payload: e.payload,
		hash: crypto.createHash('sha256').update(JSON.stringify(e.payload)).digest('base64url'),
		unlessReported: e.unlessReported === true,
	}));
	const stored = await tx.query<{
		id: number;
		session_id: string;
		event_name: string;
		tool_name: string | null;
	}>(
		`INSERT INTO hook_events (session_id, event_name, tool_name, tool_use_id, payload, payload_hash)
		SELECT (r->>'sessionId')::uuid, r->>'eventName', r->>'toolName', r->>'toolUseId', r->'payload', r->>'hash'
		FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(r, ord)
		WHERE NOT (r->>'unlessReported')::boolean OR NOT EXISTS (
			SELECT 1 FROM hook_events h WHERE h.session_id = (r->>'sessionId')::uuid AND h.event_name = r->>'eventName'
				AND h.tool_use_id = r->>'toolUseId')
		ORDER BY ord
		ON CONFLICT (session_id, payload_hash) DO NOTHING
		RETURNING id, session_id, event_name, tool_name`,
		[JSON.stringify(rows)],
	);
	await enqueueDeliveries(
		tx,
		stored.rows.map((r) => ({
			id: r.id,
			sessionId: r.session_id,
			eventName: r.event_name,
			toolName: r.tool_name,
		})),
		outbox,
	);
	return stored.rows.length;
}

/** An event of an imported session, as exported (its id is assigned here). It queues no delivery: it is history, not news. */
export function importHookEvent(tx: Queryable, values: Record<string, unknown>): Promise<void> {
	return insertImportedRow(tx, 'hook_events', values);
}
