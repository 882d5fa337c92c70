// Delivers what the stream shows to the sink (the orchestrator service) in batches, off the read path:
// the stream is never blocked by a write, a failing sink never fails the run, and what could not be
// delivered in the end is counted, not thrown.
import type { ToolCallStatus as WireToolCallStatus } from '../protocol/tool-calls';
import type { StreamInit, StreamMessage } from './stream-parser';

/** What the stream can tell of a call (a denial comes from the result or a hook). */
export type ToolCallStatus = Exclude<WireToolCallStatus, 'denied'>;

/** The full known state of one tool call; send it again whenever it changes (upsert by toolUseId). */
export interface ToolCallUpsert {
	toolUseId: string;
	toolName?: string;
	input?: unknown;
	response?: unknown;
	status: ToolCallStatus;
	isError?: boolean;
	startedAt?: string;
	finishedAt?: string;
	durationMs?: number;
	/** Concluded when the run ended without the call's result (see the protocol's ToolCallPiece). */
	unfinished?: true;
}

export interface RunSink {
	onInit(init: StreamInit): Promise<void>;
	onMessages(messages: StreamMessage[]): Promise<void>;
	onToolCalls(calls: ToolCallUpsert[]): Promise<void>;
}

export interface BatchOptions {
	/** Flush as soon as this many items wait. */
	maxItems: number;
	/** Flush at most this long after the first item started waiting. */
	maxDelayMs: number;
}

export interface Undelivered {
	init: number;
	messages: number;
	toolCalls: number;
	/** The last error the sink threw, for the log. */
	lastError?: string;
}

export interface DeliveryTimings {
	/** One sink call that takes longer counts as failed (it may still land; upserts are idempotent). */
	callTimeoutMs: number;
	/** First retry delay after a failure; doubles up to retryMaxMs. */
	retryBaseMs: number;
	retryMaxMs: number;
}

export const DEFAULT_BATCH: BatchOptions = { maxItems: 20, maxDelayMs: 250 };
export const DEFAULT_DELIVERY_TIMINGS: DeliveryTimings = {
	callTimeoutMs: 3_000,
	retryBaseMs: 200,
	retryMaxMs: 1_000,
};

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	return new Promise<T>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
		promise.then(
			(value) => {
				clearTimeout(timer);
				resolve(value);
			},
			(error: unknown) => {
				clearTimeout(timer);
				reject(error);
			},
		);
	});
}

// The global setTimeout, not node:timers/promises: the tests drive these waits with a fake clock.
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Waits for the promise, but no longer than ms; the timer is cleared either way so nothing lingers. */
function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
	return new Promise<T>((resolve) => {
		const timer = setTimeout(() => resolve(fallback), Math.max(0, ms));
		void promise.then(
			(value) => {
				clearTimeout(timer);
				resolve(value);
			},
			() => {
				clearTimeout(timer);
				resolve(fallback);
			},
		);
	});
}

export class SinkDelivery {
	private pendingInit?: StreamInit;
	private pendingMessages: StreamMessage[] = [];
	private readonly toolState = new Map<string, ToolCallUpsert>();
	private pendingToolIds = new Set<string>();
	private inFlight?: Promise<boolean>;
	private timer?: NodeJS.Timeout;
	private failures = 0;
	private lastError?: string;
	private closed = false;

	constructor(
		private readonly sink: RunSink,
		private readonly batch: BatchOptions = DEFAULT_BATCH,
		private readonly timings: DeliveryTimings = DEFAULT_DELIVERY_TIMINGS,
	) {}

	init(init: StreamInit): void {
		this.pendingInit = init;
		this.schedule();
	}

	message(message: StreamMessage): void {
		this.pendingMessages.push(message);
		this.schedule();
	}

	/** Merges the change into the call's known state and queues the whole state for delivery. */
	toolCall(change: ToolCallUpsert): void {
		const merged: ToolCallUpsert = { ...this.toolState.get(change.toolUseId), ...change };
		for (const key of Object.keys(merged) as Array<keyof ToolCallUpsert>) {
			if (merged[key] === undefined) delete merged[key];
		}
		this.toolState.set(change.toolUseId, merged);
		this.pendingToolIds.add(change.toolUseId);
		this.schedule();
	}

	toolCalls(): ToolCallUpsert[] {
		return [...this.toolState.values()];
	}

	private pendingCount(): number {
		return (this.pendingInit ? 1 : 0) + this.pendingMessages.length + this.pendingToolIds.size;
	}

	private schedule(delayMs?: number): void {
		if (this.closed || this.inFlight) return;
		const due = delayMs ?? (this.pendingCount() >= this.batch.maxItems ? 0 : this.batch.maxDelayMs);
		if (this.timer) {
			if (due > 0) return;
			clearTimeout(this.timer);
		}
		this.timer = setTimeout(() => {
			this.timer = undefined;
			void this.flush();
		}, due);
	}

	/** One delivery pass; resolves true when everything that was pending got through. */
	private flush(): Promise<boolean> {
		if (this.inFlight) return this.inFlight;
		this.inFlight = this.deliver().finally(() => {
			this.inFlight = undefined;
		});
		return this.inFlight.then((ok) => {
			if (ok) this.failures = 0;
			else this.failures++;
			if (!this.closed && this.pendingCount() > 0) {
				this.schedule(ok ? undefined : this.backoff());
			}
			return ok;
		});
	}

	private backoff(): number {
		return Math.min(
			this.timings.retryBaseMs * 2 ** Math.max(0, this.failures - 1),
			this.timings.retryMaxMs,
		);
	}

	private async call(what: string, action: () => Promise<void>): Promise<boolean> {
		try {
			await withTimeout(Promise.resolve().then(action), this.timings.callTimeoutMs, what);
			return true;
		} catch (error) {
			this.lastError = `${what}: ${error instanceof Error ? error.message : String(error)}`;
			return false;
		}
	}

	// Order matters to the receiver: the session's init first, then messages, then tool calls.
	// The first failure ends the pass; whatever was not sent stays queued, in order, for the next one.
	private async deliver(): Promise<boolean> {
		const init = this.pendingInit;
		if (init) {
			if (!(await this.call('onInit', () => this.sink.onInit(init)))) return false;
			if (this.pendingInit === init) this.pendingInit = undefined;
		}
		while (this.pendingMessages.length > 0) {
			const chunk = this.pendingMessages.slice(0, this.batch.maxItems);
			if (!(await this.call('onMessages', () => this.sink.onMessages(chunk)))) return false;
			this.pendingMessages.splice(0, chunk.length);
		}
		while (this.pendingToolIds.size > 0) {
			const ids = [...this.pendingToolIds].slice(0, this.batch.maxItems);
			for (const id of ids) this.pendingToolIds.delete(id);
			const calls = ids.map((id) => ({ ...(this.toolState.get(id) as ToolCallUpsert) }));
			if (!(await this.call('onToolCalls', () => this.sink.onToolCalls(calls)))) {
				this.pendingToolIds = new Set([...ids, ...this.pendingToolIds]);
				return false;
			}
		}
		return true;
	}

	/**
	 * Final drain after the run: a few attempts with short backoff, never past the deadline.
	 * Returns what is still undelivered (all zeros when everything got through).
	 */
	async finish(deadlineMs: number): Promise<Undelivered> {
		this.closed = true;
		if (this.timer) clearTimeout(this.timer);
		this.timer = undefined;
		const deadline = Date.now() + deadlineMs;
		const remaining = () => deadline - Date.now();

		if (this.inFlight) await within(this.inFlight, remaining(), false);
		// Bounded by the deadline, not a count: a service restart can take longer than a few quick retries.
		while (this.pendingCount() > 0 && remaining() > 0) {
			const ok = await within(this.flush(), remaining(), false);
			if (ok || this.pendingCount() === 0) break;
			const wait = Math.min(this.backoff(), remaining());
			if (wait <= 0) break;
			await sleep(wait);
		}
		const undelivered: Undelivered = {
			init: this.pendingInit ? 1 : 0,
			messages: this.pendingMessages.length,
			toolCalls: this.pendingToolIds.size,
		};
		if (this.pendingCount() > 0 && this.lastError) undelivered.lastError = this.lastError;
		return undelivered;
	}
}
