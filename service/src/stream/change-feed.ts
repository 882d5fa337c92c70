import type { Database } from '../db';
import { logger } from '../logger';
import {
	CHANGES_CHANNEL,
	changeBounds,
	parseChanges,
	pruneChanges,
	readChanges,
	type Change,
} from './changes.repository';

export interface Subscriber {
	/** Only changes of this session; all when undefined. */
	sessionId?: string;
	send(change: Change): void;
	heartbeat(): void;
	/** The service is stopping: end the stream. */
	close(): void;
}

const HEARTBEAT_MS = 20_000;
const PRUNE_MS = 10 * 60_000;
// Seqs already handed out, so a catch-up read after a lost connection does not repeat a change.
const REMEMBERED = 10_000;

/**
 * One LISTEN per replica, fanned out to its open streams. An idle stream costs a socket and a comment every
 * 20 s: nothing polls the database per stream.
 */
export class ChangeFeed {
	private readonly subscribers = new Set<Subscriber>();
	private readonly dispatched = new Set<number>();
	private readonly order: number[] = [];
	private lastSeq = 0;
	private unlisten?: () => Promise<void>;
	private timers: NodeJS.Timeout[] = [];

	constructor(private readonly db: Database) {}

	get size(): number {
		return this.subscribers.size;
	}

	async start(): Promise<void> {
		this.lastSeq = (await changeBounds(this.db)).latest;
		this.unlisten = await this.db.listen(
			CHANGES_CHANNEL,
			(payload) => {
				for (const change of parseChanges(payload)) this.dispatch(change);
			},
			() => void this.catchUp(),
		);
		const heartbeat = setInterval(() => {
			for (const s of this.subscribers) s.heartbeat();
		}, HEARTBEAT_MS);
		const prune = setInterval(() => void this.prune(), PRUNE_MS);
		heartbeat.unref();
		prune.unref();
		this.timers = [heartbeat, prune];
		void this.prune();
	}

	subscribe(s: Subscriber): () => void {
		this.subscribers.add(s);
		return () => this.subscribers.delete(s);
	}

	/** Ends every open stream and stops listening. */
	async stop(): Promise<void> {
		for (const t of this.timers) clearInterval(t);
		for (const s of [...this.subscribers]) s.close();
		this.subscribers.clear();
		await this.unlisten?.();
	}

	private dispatch(change: Change) {
		if (this.dispatched.has(change.seq)) return;
		this.dispatched.add(change.seq);
		this.order.push(change.seq);
		if (this.order.length > REMEMBERED) this.dispatched.delete(this.order.shift() as number);
		if (change.seq > this.lastSeq) this.lastSeq = change.seq;
		for (const s of this.subscribers)
			if (!s.sessionId || s.sessionId === change.sessionId) s.send(change);
	}

	/** Notices sent while the listening connection was away are lost: read those changes from the table. */
	private async catchUp() {
		try {
			for (;;) {
				const changes = await readChanges(this.db, this.lastSeq, undefined, 1000);
				for (const c of changes) this.dispatch(c);
				if (changes.length < 1000) return;
			}
		} catch (err) {
			logger.warn('dashboard changes not caught up', {
				error: err instanceof Error ? err.message : String(err),
			});
		}
	}

	private async prune() {
		try {
			await pruneChanges(this.db);
		} catch (err) {
			logger.debug('dashboard changes not pruned', {
				error: err instanceof Error ? err.message : String(err),
			});
		}
	}
}
