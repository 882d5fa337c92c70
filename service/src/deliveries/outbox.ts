import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Queryable } from '../db';
import type { StoredEvent } from '../hooks/hooks.repository';
import { matches, needsSessionFacts, type MatchableEvent, type SessionFacts, type SubscriptionFilter } from '../subscriptions/subscription-match';
import { loadFilters } from '../subscriptions/subscriptions.repository';

export interface OutboxEvent extends MatchableEvent {
	/** hook_events.id: also the delivery order within a session. */
	id: number;
}

/**
 * Raised when rows were queued. It fires inside the transaction, before the commit, so listeners only use it
 * as a hint to look again soon; the outbox table stays the truth.
 */
export const outboxSignal = new EventEmitter();
outboxSignal.setMaxListeners(0);

/**
 * Queues one delivery per (matching subscription, event) in the caller's transaction: an event is committed
 * together with its deliveries or not at all, so a crash between the two cannot lose one.
 */
export async function enqueueDeliveries(tx: Queryable, events: OutboxEvent[], known?: KnownSubscriptions): Promise<number> {
	if (!events.length) return 0;
	const loaded = await loadFilters(tx);
	known?.remember(loaded);
	const { filters } = loaded;
	if (!filters.length) return 0;

	let facts = new Map<string, SessionFacts>();
	if (filters.some(needsSessionFacts)) facts = await loadSessionFacts(tx, [...new Set(events.map((e) => e.sessionId))]);

	const rows: Array<{ id: string; subscriptionId: string; sessionId: string; hookEventId: number; eventName: string }> = [];
	for (const e of events) {
		for (const f of filters) {
			if (matches(f, e, facts.get(e.sessionId))) {
				rows.push({ id: crypto.randomUUID(), subscriptionId: f.id, sessionId: e.sessionId, hookEventId: e.id, eventName: e.eventName });
			}
		}
	}
	if (!rows.length) return 0;
	const { rowCount } = await tx.query(
		`INSERT INTO deliveries (id, subscription_id, session_id, hook_event_id, event_name)
		SELECT (r->>'id')::uuid, (r->>'subscriptionId')::uuid, (r->>'sessionId')::uuid, (r->>'hookEventId')::bigint, r->>'eventName'
		FROM jsonb_array_elements($1::jsonb) r
		ON CONFLICT (subscription_id, hook_event_id) DO NOTHING`,
		[JSON.stringify(rows)],
	);
	if (rowCount) outboxSignal.emit('queued', rowCount);
	return rowCount;
}

/**
 * The subscription filters as last read, with their version, so hook ingestion can tell without a round trip
 * that no subscription wants a batch. Most events match none, and for those the transaction that read the
 * filters again (three extra round trips per batch) cost a sixth of the CPU spent per event. The version is
 * checked in the statement that writes the batch (insertHookEvents), so a change on any replica is never missed.
 */
export class KnownSubscriptions {
	private known?: { version: number; filters: SubscriptionFilter[] };

	remember(loaded: { version: number; filters: SubscriptionFilter[] }) {
		// Batches in flight may read them out of order: an older read never replaces a newer one.
		if (!this.known || loaded.version >= this.known.version) this.known = loaded;
	}

	/** The version under which no subscription wants any of these events; undefined if one may, or none is known yet. */
	quietVersion(events: MatchableEvent[]): number | undefined {
		const known = this.known;
		if (!known) return undefined;
		// Thread and workspace filters need the session row; an event that passes every other test may match.
		const wanted = events.some((e) => known.filters.some((f) => matches({ ...f, threadKey: null, workspaceType: null }, e, undefined)));
		return wanted ? undefined : known.version;
	}

	/** Queues deliveries for events the ingestor has just stored, in its transaction. */
	enqueue(tx: Queryable, stored: StoredEvent[]): Promise<number> {
		return enqueueDeliveries(
			tx,
			stored.map((s) => ({ id: s.id, sessionId: s.event.sessionId, eventName: s.event.eventName, toolName: s.event.toolName })),
			this,
		);
	}
}

async function loadSessionFacts(tx: Queryable, sessionIds: string[]): Promise<Map<string, SessionFacts>> {
	const { rows } = await tx.query<{ id: string; workspace_type: string | null; thread_key: string | null; keys: string[] }>(
		`SELECT s.id, s.workspace_type, s.thread_key,
			COALESCE((SELECT jsonb_agg(t.key) FROM threads t WHERE t.session_id = s.id), '[]'::jsonb) AS keys
		FROM sessions s WHERE s.id = ANY($1::uuid[])`,
		[sessionIds],
	);
	return new Map(
		rows.map((r) => [
			r.id,
			{ workspaceType: r.workspace_type, threadKeys: [...(r.thread_key ? [r.thread_key] : []), ...(r.keys ?? [])] },
		]),
	);
}
