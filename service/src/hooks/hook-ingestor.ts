import { setTimeout as sleep } from 'node:timers/promises';
import type { Database, Queryable } from '../db';
import { logger } from '../logger';
import type { HookEvent } from './hook-event';
import {
	insertHookEvents,
	type Origin,
	type OutboxPlan,
	type StoredEvent,
} from './hooks.repository';

interface Pending {
	event: HookEvent;
	origin: Origin;
	resolve: (stored: StoredEvent | undefined) => void;
	reject: (err: unknown) => void;
}

/** Where deliveries for stored events are queued (deliveries/outbox.ts). */
export interface Outbox {
	/** The deliveries these events make, decided in memory; undefined when only the database can tell. */
	plan(events: HookEvent[]): OutboxPlan | undefined;
	/** Deliveries were queued by the statement that stored their events. */
	queued(n: number): void;
	/** Queues deliveries for the stored events in the same transaction, reading the subscriptions. */
	enqueue(tx: Queryable, stored: StoredEvent[]): Promise<unknown>;
}

export class QueueFullError extends Error {}

/**
 * Group commit for hook events: requests that arrive while batches are being written wait for the next one,
 * so one transaction carries many events under load and a lone event is written at once. A commit waits for
 * the WAL to reach disk (milliseconds here), so a few batches are written at once (`maxInFlight`) to overlap
 * those waits; one session's events arrive one at a time (Claude Code waits for each hook), so their order holds.
 * Events stay queued across database outages and are written when it comes back.
 */
export class HookIngestor {
	private queue: Pending[] = [];
	private inFlight = 0;
	private retryDelayMs = 0;
	private closed = false;
	private retryTimer?: NodeJS.Timeout;

	constructor(
		private readonly db: Database,
		private readonly opts: {
			maxQueue: number;
			maxBatch?: number;
			maxInFlight?: number;
			outbox?: Outbox;
		},
	) {}

	get depth(): number {
		return this.queue.length;
	}

	/** Resolves once the event is committed (with its stored id, or undefined for a redelivery). */
	submit(event: HookEvent, origin: Origin): Promise<StoredEvent | undefined> {
		if (this.queue.length >= this.opts.maxQueue)
			return Promise.reject(new QueueFullError('hook queue is full'));
		return new Promise((resolve, reject) => {
			this.queue.push({ event, origin, resolve, reject });
			this.schedule();
		});
	}

	private schedule() {
		if (this.inFlight >= (this.opts.maxInFlight ?? 1) || this.retryTimer || !this.queue.length)
			return;
		this.inFlight++;
		setImmediate(() => void this.flush());
	}

	private async flush() {
		const batch = this.queue.splice(0, this.opts.maxBatch ?? 500);
		if (!batch.length) {
			this.inFlight--;
			return;
		}
		try {
			const stored = await this.write(batch);
			const byEvent = new Map(stored.map((s) => [s.event, s]));
			for (const p of batch) p.resolve(byEvent.get(p.event));
			this.retryDelayMs = 0;
		} catch (err) {
			if (isRetryable(err)) {
				this.retryLater(batch, err);
			} else if (batch.length > 1) {
				// One event the database refuses must not take its batch with it: write them one by one.
				for (const [i, p] of batch.entries()) {
					try {
						const [s] = await this.write([p]);
						p.resolve(s);
					} catch (e) {
						// The database went away in the middle: this event and the rest may already have been answered
						// 202, so they wait for it like any batch; none is dropped as refused.
						if (isRetryable(e)) {
							this.retryLater(batch.slice(i), e);
							break;
						}
						logger.error('hook event refused by the database', {
							session: p.event.sessionId,
							event: p.event.eventName,
							error: errMessage(e),
						});
						p.reject(e);
					}
				}
			} else {
				logger.error('hook event refused by the database', { error: errMessage(err) });
				batch[0]?.reject(err);
			}
		} finally {
			this.inFlight--;
			if (!this.closed || this.queue.length) this.schedule();
		}
	}

	/** The database is away (or two batches collided): keeps the events, in order, and tries again with backoff. */
	private retryLater(pending: Pending[], err: unknown) {
		this.queue.unshift(...pending);
		this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, 100), 5000);
		logger.warn('hook batch not written; will retry', {
			events: pending.length,
			retryInMs: this.retryDelayMs,
			error: errMessage(err),
		});
		if (this.retryTimer) clearTimeout(this.retryTimer);
		this.retryTimer = setTimeout(() => {
			this.retryTimer = undefined;
			this.schedule();
		}, this.retryDelayMs);
		this.retryTimer.unref();
	}

	private async write(batch: Pending[]): Promise<StoredEvent[]> {
		const items = batch.map((p) => ({ event: p.event, origin: p.origin }));
		const outbox = this.opts.outbox;
		// One statement, atomic on its own, whenever the deliveries can be decided in memory.
		const plan = outbox?.plan(items.map((i) => i.event));
		if (!outbox || plan) {
			const result = await insertHookEvents(this.db, items, plan);
			if (result !== 'subscriptions-changed') {
				outbox?.queued(result.queued);
				return result.stored;
			}
		}
		return this.db.transaction(async (tx) => {
			const { stored } = await insertHookEvents(tx, items);
			if (stored.length && outbox) await outbox.enqueue(tx, stored);
			return stored;
		});
	}

	/** Writes what is queued (bounded by `timeoutMs`), then stops accepting. */
	async drain(timeoutMs: number): Promise<void> {
		this.closed = true;
		const deadline = Date.now() + timeoutMs;
		while ((this.queue.length || this.inFlight) && Date.now() < deadline) await sleep(10);
		if (this.retryTimer) clearTimeout(this.retryTimer);
		if (this.queue.length)
			logger.warn('shutting down with hook events not written', { events: this.queue.length });
	}
}

const errMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));

function isRetryable(err: unknown): boolean {
	const e = err as { code?: string; message?: string };
	// Connection loss, server shutdown, too many clients, and a deadlock or serialization failure between two
	// concurrent batches: all pass if the batch is simply written again.
	if (
		e?.code &&
		/^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|57P0[123]|08\d{3}|53300|40P01|40001)$/.test(
			e.code,
		)
	)
		return true;
	return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(
		e?.message ?? '',
	);
}
