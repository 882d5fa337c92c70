import {
	ATTEMPT_HEADER,
	DELIVERY_HEADER,
	EVENT_HEADER,
	SIGNATURE_HEADER,
	signDelivery,
} from '../../../nodes/shared/protocol';
import type { Database } from '../db';
import { logger } from '../logger';
import {
	claimDue,
	markDelivered,
	markFailed,
	pruneDelivered,
	releaseClaim,
	supersedeCoalesced,
	type ClaimedDelivery,
} from './deliveries.repository';
import { deliveryBody } from './delivery-body';
import type { OutboxSignal } from './outbox';
import { postDelivery } from './post-delivery';

export interface DelivererOptions {
	/** Raised by this service's writers when they queued deliveries: look again soon. */
	signal: OutboxSignal;
	maxAttempts: number;
	baseDelayMs: number;
	maxDelayMs: number;
	timeoutMs: number;
	/** Requests in flight from this process. */
	concurrency: number;
	/** Requests in flight to one subscription: a slow subscriber can hold at most this many slots. */
	perSubscription: number;
	pollIntervalMs: number;
	allowedHosts: readonly string[];
	/** Delivered rows are deleted after this long; 0 keeps them. */
	retentionMs: number;
}

/** Exponential backoff with a cap and up to 10% jitter, so failed subscribers do not retry in lockstep. */
export function backoffMs(
	attempt: number,
	base: number,
	cap: number,
	random = Math.random,
): number {
	const exp = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
	return Math.round(Math.min(cap, exp * (1 + random() * 0.1)));
}

const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * The outbox loop: claims due deliveries, POSTs them signed, records the outcome. Any number of replicas may
 * run it on one database; the claim query keeps them apart and keeps each session's events in order.
 */
export class Deliverer {
	private active = 0;
	private readonly inFlight = new Map<string, number>();
	private timer?: NodeJS.Timeout;
	private timerAt = Infinity;
	private ticking = false;
	private tickDone: Promise<void> = Promise.resolve();
	private again = false;
	private stopped = true;
	private lastHint = 0;
	private lastPrune = 0;
	private readonly abort = new AbortController();
	private readonly running = new Set<Promise<void>>();
	private readonly onQueued = () => this.hint();
	private unlisten?: () => void;

	constructor(
		private readonly db: Database,
		private readonly opts: DelivererOptions,
	) {}

	start(): void {
		if (!this.stopped) return;
		this.stopped = false;
		this.unlisten = this.opts.signal.onQueued(this.onQueued);
		this.schedule(0);
	}

	/** Something was queued or finished: look again soon (the queuing transaction may not have committed yet). */
	hint(): void {
		this.lastHint = Date.now();
		this.schedule(5);
	}

	/** Stops claiming; waits for requests in flight up to `timeoutMs`, then interrupts them (they are retried later). */
	async stop(timeoutMs: number): Promise<void> {
		if (this.stopped) return;
		this.stopped = true;
		this.unlisten?.();
		clearTimeout(this.timer);
		// A poll under way may still hand out rows; let it finish so they are sent or given back.
		await this.tickDone;
		const all = Promise.allSettled([...this.running]);
		let t: NodeJS.Timeout | undefined;
		await Promise.race([all, new Promise((r) => (t = setTimeout(r, timeoutMs)))]);
		clearTimeout(t);
		this.abort.abort();
		await all;
	}

	private schedule(delayMs: number): void {
		if (this.stopped) return;
		if (this.ticking) {
			// A tick is running; make it look again when it ends rather than overlapping it.
			if (delayMs <= 5) this.again = true;
			return;
		}
		const at = Date.now() + delayMs;
		if (this.timer && at >= this.timerAt) return;
		clearTimeout(this.timer);
		this.timerAt = at;
		this.timer = setTimeout(() => {
			this.timer = undefined;
			this.timerAt = Infinity;
			this.tickDone = this.tick();
		}, delayMs);
		this.timer.unref();
	}

	private async tick(): Promise<void> {
		if (this.stopped) return;
		this.ticking = true;
		this.again = false;
		let next = this.opts.pollIntervalMs;
		try {
			const free = this.opts.concurrency - this.active;
			if (free > 0) {
				// Coalescing subscriptions: what a later event of the same session stands for is not sent at all.
				await supersedeCoalesced(this.db);
				const claimed = await claimDue(this.db, {
					limit: free,
					perSubscription: this.opts.perSubscription,
					inFlight: this.inFlight,
					leaseMs: this.opts.timeoutMs + 30_000,
				});
				if (this.stopped)
					await Promise.all(claimed.map((d) => releaseClaim(this.db, d.id, d.attempts)));
				else for (const d of claimed) this.launch(d);
				// A full batch means more may be due right now.
				if (claimed.length === free) next = 0;
			}
			await this.maybePrune();
		} catch (err) {
			logger.warn('delivery poll failed; will retry', {
				error: err instanceof Error ? err.message : String(err),
			});
		} finally {
			this.ticking = false;
		}
		// Shortly after a hint, poll fast: the transaction that queued rows commits a moment after it said so.
		if (this.again || Date.now() - this.lastHint < 250) next = Math.min(next, 20);
		this.schedule(next);
	}

	private launch(d: ClaimedDelivery): void {
		this.active++;
		this.inFlight.set(d.subscriptionId, (this.inFlight.get(d.subscriptionId) ?? 0) + 1);
		const run = this.deliver(d)
			.catch((err) =>
				logger.error('delivery bookkeeping failed', {
					delivery: d.id,
					error: err instanceof Error ? err.message : String(err),
				}),
			)
			.finally(() => {
				this.active--;
				const n = (this.inFlight.get(d.subscriptionId) ?? 1) - 1;
				if (n > 0) this.inFlight.set(d.subscriptionId, n);
				else this.inFlight.delete(d.subscriptionId);
				this.running.delete(run);
				// The session's next event may now be the head of its queue.
				this.hint();
			});
		this.running.add(run);
	}

	private async deliver(d: ClaimedDelivery): Promise<void> {
		if (this.abort.signal.aborted) return releaseClaim(this.db, d.id, d.attempts);
		const body = JSON.stringify(deliveryBody(d));
		const outcome = await postDelivery(
			d.url,
			body,
			{
				'user-agent': 'claude-orchestrator-deliverer/1',
				[DELIVERY_HEADER]: d.id,
				[EVENT_HEADER]: d.eventName,
				[ATTEMPT_HEADER]: String(d.attempts),
				// Signed now, not when queued: a retry hours later still passes the receiver's age check.
				[SIGNATURE_HEADER]: signDelivery(d.secret, body),
			},
			{
				timeoutMs: this.opts.timeoutMs,
				allowedHosts: this.opts.allowedHosts,
				signal: this.abort.signal,
			},
		);
		if (outcome.ok) {
			await markDelivered(this.db, d.id, d.attempts, outcome.statusCode);
			return;
		}
		const status = await markFailed(this.db, d.id, d.attempts, {
			error: outcome.error,
			statusCode: outcome.statusCode,
			retryInMs: backoffMs(d.attempts, this.opts.baseDelayMs, this.opts.maxDelayMs),
			maxAttempts: this.opts.maxAttempts,
		});
		const fields = {
			delivery: d.id,
			subscription: d.subscriptionId,
			attempt: d.attempts,
			error: outcome.error,
		};
		if (status === 'dead') logger.warn('delivery dead after its last attempt', fields);
		else logger.debug('delivery attempt failed', fields);
	}

	private async maybePrune(): Promise<void> {
		if (!this.opts.retentionMs || Date.now() - this.lastPrune < PRUNE_EVERY_MS) return;
		this.lastPrune = Date.now();
		const n = await pruneDelivered(this.db, this.opts.retentionMs);
		if (n) logger.info('pruned delivered outbox rows', { rows: n });
	}
}
