import type { Database, Queryable } from '../db';
import { logger } from '../logger';

// What a session's running turn must hear about at once, on whichever replica its runner or its hooks reach:
// a stop was asked for, the lease was given back. Sent with NOTIFY in the writing transaction (so at commit),
// heard by one LISTEN per replica.
export const RUN_SIGNALS_CHANNEL = 'session_run_signals';

export type RunSignal =
	| { kind: 'stop'; sessionId: string; owner: string; generation: number; stopReason: string }
	| { kind: 'released'; sessionId: string; owner: string };

export async function notifyRunSignal(tx: Queryable, signal: RunSignal): Promise<void> {
	await tx.query('SELECT pg_notify($1, $2)', [RUN_SIGNALS_CHANNEL, JSON.stringify(signal)]);
}

/** The words a stopped run's hooks answer with (Claude Code shows stopReason; it is also the deny reason). */
export const stopReasonOf = (s: { requestedBy: string; channel: string; reason?: string | null }) =>
	`Stopped by ${s.requestedBy} from ${s.channel}${s.reason ? `: ${s.reason}` : ''}. Do not start anything new.`;

// A stop answers its run's hooks while that run lasts; a run lasting longer than this after its stop is being
// ended by signals anyway.
const STOP_ANSWER_MS = 60 * 60_000;
// A waiter is woken at least this often so it re-reads the database (a NOTIFY can be lost with its connection).
const MAX_WAIT_MS = 20_000;

interface ActiveStop {
	generation: number;
	stopReason: string;
	at: number;
}

/**
 * One per replica. Keeps the stops asked for (so hooks of a stopping run are answered without a query) and
 * wakes the requests that wait for a session's run to hear of a stop or to end.
 */
export class RunSignals {
	private readonly stops = new Map<string, ActiveStop>();
	private readonly waiters = new Map<string, Set<() => void>>();
	private unlisten?: () => Promise<void>;
	private stopped = false;

	constructor(private readonly db: Database) {}

	async start(): Promise<void> {
		this.unlisten = await this.db.listen(
			RUN_SIGNALS_CHANNEL,
			(payload) => this.receive(payload),
			() => {
				void this.loadStops();
				this.wakeAll();
			},
		);
		await this.loadStops();
	}

	/** The service is shutting down: waits end at once, and a waiter must answer rather than wait again. */
	get closed(): boolean {
		return this.stopped;
	}

	async stop(): Promise<void> {
		this.stopped = true;
		this.wakeAll();
		await this.unlisten?.();
	}

	/**
	 * What a hook of this session's run answers while the run is being stopped: `continue: false` ends the run at
	 * this hook; a PreToolUse also denies its call, because `continue: false` alone still lets that call run
	 * (measured on Claude Code 2.1.331, README "Stopping a run"). Undefined when no stop applies.
	 */
	hookAnswer(
		sessionId: string,
		generation: number | undefined,
		eventName: string,
	): Record<string, unknown> | undefined {
		const s = this.stops.get(sessionId);
		if (!s || generation === undefined || s.generation !== generation) return undefined;
		if (Date.now() - s.at > STOP_ANSWER_MS) {
			this.stops.delete(sessionId);
			return undefined;
		}
		const answer: Record<string, unknown> = { continue: false, stopReason: s.stopReason };
		if (eventName === 'PreToolUse') {
			answer.hookSpecificOutput = {
				hookEventName: 'PreToolUse',
				permissionDecision: 'deny',
				permissionDecisionReason: s.stopReason,
			};
		}
		return answer;
	}

	/** Resolves on the next signal for the session, after ms, or when the service stops; never rejects. */
	wait(sessionId: string, ms: number, abort?: AbortSignal): Promise<void> {
		if (this.stopped || abort?.aborted) return Promise.resolve();
		return new Promise((resolve) => {
			let set = this.waiters.get(sessionId);
			if (!set) this.waiters.set(sessionId, (set = new Set()));
			const done = () => {
				clearTimeout(timer);
				abort?.removeEventListener('abort', done);
				const current = this.waiters.get(sessionId);
				current?.delete(done);
				if (current?.size === 0) this.waiters.delete(sessionId);
				resolve();
			};
			const timer = setTimeout(done, Math.min(ms, MAX_WAIT_MS));
			set.add(done);
			abort?.addEventListener('abort', done, { once: true });
		});
	}

	/** Takes a stop this replica just committed into account before its NOTIFY comes back. */
	remember(signal: RunSignal): void {
		this.apply(signal);
	}

	private receive(payload: string) {
		let signal: RunSignal;
		try {
			signal = JSON.parse(payload) as RunSignal;
		} catch {
			return;
		}
		if (typeof signal?.sessionId !== 'string') return;
		this.apply(signal);
	}

	private apply(signal: RunSignal) {
		if (signal.kind === 'stop') {
			const now = Date.now();
			for (const [id, s] of this.stops) if (now - s.at > STOP_ANSWER_MS) this.stops.delete(id);
			this.stops.set(signal.sessionId, {
				generation: signal.generation,
				stopReason: signal.stopReason,
				at: now,
			});
		}
		for (const wake of [...(this.waiters.get(signal.sessionId) ?? [])]) wake();
	}

	private wakeAll() {
		for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake();
	}

	/** The stops of runs that may still be going (at start, and after the listening connection came back). */
	private async loadStops() {
		try {
			const { rows } = await this.db.query<{
				session_id: string;
				hook_generation: number;
				requested_by: string;
				channel: string;
				reason: string | null;
				requested_at: Date;
			}>(
				`SELECT st.session_id, st.hook_generation, st.requested_by, st.channel, st.reason, st.requested_at
				FROM session_stops st JOIN sessions s ON s.id = st.session_id
				WHERE st.requested_at > now() - interval '1 hour' AND s.hook_token_generation = st.hook_generation
				ORDER BY st.requested_at`,
			);
			for (const r of rows) {
				this.stops.set(r.session_id, {
					generation: r.hook_generation,
					stopReason: stopReasonOf({
						requestedBy: r.requested_by,
						channel: r.channel,
						reason: r.reason,
					}),
					at: new Date(r.requested_at).getTime(),
				});
			}
		} catch (err) {
			logger.warn('stops of running sessions not read', {
				error: err instanceof Error ? err.message : String(err),
			});
		}
	}
}
