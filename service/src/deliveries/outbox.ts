import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Queryable } from '../db';
import type { HookEvent } from '../hooks/hook-event';
import { insertDeliveries, type NewDelivery } from './deliveries.repository';
import type { OutboxPlan, StoredEvent } from '../hooks/hooks.repository';
import {
	matches,
	needsSessionFacts,
	type MatchableEvent,
	type SessionFacts,
	type SubscriptionFilter,
} from '../subscriptions/subscription-match';
import { loadFilters } from '../subscriptions/subscriptions.repository';

export interface OutboxEvent extends MatchableEvent {
	/** hook_events.id: also the delivery order within a session. */
	id: number;
}

/**
 * Raised when rows were queued, one per service (its deliverer listens). It fires inside the transaction, before
 * the commit, so listeners only use it as a hint to look again soon; the outbox table stays the truth.
 */
export class OutboxSignal extends EventEmitter {
	constructor() {
		super();
		this.setMaxListeners(0);
	}

	queued(n: number): void {
		if (n) this.emit('queued', n);
	}

	onQueued(listener: (n: number) => void): () => void {
		this.on('queued', listener);
		return () => this.off('queued', listener);
	}
}

/**
 * Queues one delivery per (matching subscription, event) in the caller's transaction: an event is committed
 * together with its deliveries or not at all, so a crash between the two cannot lose one.
 */
export async function enqueueDeliveries(
	tx: Queryable,
	events: OutboxEvent[],
	known?: KnownSubscriptions,
): Promise<number> {
	if (!events.length) return 0;
	const loaded = await loadFilters(tx);
	known?.remember(loaded);
	const { filters } = loaded;
	if (!filters.length) return 0;

	let facts = new Map<string, SessionFacts>();
	if (filters.some(needsSessionFacts))
		facts = await loadSessionFacts(tx, [...new Set(events.map((e) => e.sessionId))]);

	const rows: NewDelivery[] = [];
	for (const e of events) {
		for (const f of filters) {
			if (matches(f, e, facts.get(e.sessionId))) {
				rows.push({
					id: crypto.randomUUID(),
					subscriptionId: f.id,
					sessionId: e.sessionId,
					hookEventId: e.id,
					eventName: e.eventName,
				});
			}
		}
	}
	const rowCount = await insertDeliveries(tx, rows);
	known?.queued(rowCount);
	return rowCount;
}

/**
 * The subscription filters as last read, with their version, so hook ingestion can decide a batch's deliveries in
 * memory and write them in the statement that stores the events (insertHookEvents), instead of a transaction that
 * reads the filters again: those four more round trips per batch cost a third of the throughput with a subscription
 * on Stop (bench/hooks-ingest.ts with BENCH_SUBSCRIBE=Stop). That statement checks the version, so a change on any
 * replica is never missed.
 */
export class KnownSubscriptions {
	private known?: { version: number; filters: SubscriptionFilter[] };

	constructor(readonly signal = new OutboxSignal()) {}

	remember(loaded: { version: number; filters: SubscriptionFilter[] }) {
		// Batches in flight may read them out of order: an older read never replaces a newer one.
		if (!this.known || loaded.version >= this.known.version) this.known = loaded;
	}

	/** The deliveries these events make; undefined when only the database can tell (nothing read yet, or a filter on session facts). */
	plan(events: HookEvent[]): OutboxPlan | undefined {
		const known = this.known;
		if (!known) return undefined;
		const deliveries: OutboxPlan['deliveries'] = [];
		for (const e of events) {
			for (const f of known.filters) {
				if (needsSessionFacts(f)) {
					// A thread or workspace filter needs the session row once everything else matches.
					if (matches({ ...f, threadKey: null, workspaceType: null }, e, undefined))
						return undefined;
				} else if (matches(f, e, undefined)) {
					deliveries.push({
						id: crypto.randomUUID(),
						subscriptionId: f.id,
						sessionId: e.sessionId,
						hash: e.hash,
					});
				}
			}
		}
		return { subscriptionsVersion: known.version, deliveries };
	}

	/** Deliveries were queued (and committed) by the statement that stored their events. */
	queued(n: number) {
		this.signal.queued(n);
	}

	/** Queues deliveries for events the ingestor has just stored, in its transaction. */
	enqueue(tx: Queryable, stored: StoredEvent[]): Promise<number> {
		return enqueueDeliveries(
			tx,
			stored.map((s) => ({
				id: s.id,
				sessionId: s.event.sessionId,
				eventName: s.event.eventName,
				toolName: s.event.toolName,
			})),
			this,
		);
	}
}

async function loadSessionFacts(
	tx: Queryable,
	sessionIds: string[],
): Promise<Map<string, SessionFacts>> {
	const { rows } = await tx.query<{
		id: string;
		workspace_type: string | null;
		thread_key: string | null;
		keys: string[];
	}>(
		`SELECT s.id, s.workspace_type, s.thread_key,
			COALESCE((SELECT jsonb_agg(t.key) FROM threads t WHERE t.session_id = s.id), '[]'::jsonb) AS keys
		FROM sessions s WHERE s.id = ANY($1::uuid[])`,
		[sessionIds],
	);
	return new Map(
		rows.map((r) => [
			r.id,
			{
				workspaceType: r.workspace_type,
				threadKeys: [...(r.thread_key ? [r.thread_key] : []), ...(r.keys ?? [])],
			},
		]),
	);
}
