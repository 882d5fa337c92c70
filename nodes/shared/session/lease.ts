import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import type { LeaseGrant, LeaseRequest, TakenReply } from '../protocol';
import { httpStatusOf, type OrchestratorClient } from './client';

// The service sets how long a lease lasts (LEASE_TTL); this is what an older service without one is told.
const FALLBACK_TTL_SECONDS = 30;
// How long one ask for a stop waits at the service (a long poll): under the transport's 15 s request timeout.
const STOP_POLL_SECONDS = 10;
// After a failed ask (service restarting), the next one waits this long; the renewals also carry a stop.
const STOP_POLL_RETRY_MS = 1_000;

export class SessionBusyError extends Error {}

/** Someone asked the service to stop this run (POST /api/v1/sessions/:id/stop). */
export interface StopRequest {
	requestedBy: string;
	channel: string;
	reason: string | null;
	requestedAt: string;
}

export interface SessionLease {
	owner: string;
	/** Aborts when a stop is asked of this run; `stopRequest` then says who asked and from where. */
	stopSignal: AbortSignal;
	stopRequest(): StopRequest | undefined;
	release(): Promise<void>;
	/** Asked with `takeQueued`: the replies the claim took for the run (undefined: the service did not take them). */
	taken?: TakenReply[];
	/** Asked with `withApprovalPolicy`: whether the session has a stored policy (undefined: not said). */
	approvalPolicy?: boolean;
	/** What claude needs before it starts, as far as the service answered it with the lease (RunStart), and when. */
	prepared: RunStart & { receivedAt: number };
}

/** What a claim may do beside the lease, once granted, so that the run need not ask again (LeaseBody). */
export type ClaimExtras = Pick<
	LeaseRequest,
	'takeQueued' | 'withApprovalPolicy' | 'hookToken' | 'budgetReservation' | 'withTranscriptMeta'
>;

/** The hook token, budget reservation and transcript metadata a grant brought; each absent when not answered. */
export type RunStart = Pick<LeaseGrant, 'hookToken' | 'budgetReservation' | 'transcriptMeta'>;

/**
 * Gives back what a lease brought for a run that will not start claude (nothing will record it): the budget
 * reservation goes back at once instead of being held until it lapses, and the hook token stops working instead of
 * living out its run's timeout. Best effort: both end on their own.
 */
export async function giveBackRunStart(
	client: OrchestratorClient,
	sessionId: string,
	runId: string,
	prepared: RunStart,
): Promise<void> {
	const ignore = () => undefined;
	await Promise.all([
		prepared.budgetReservation?.granted &&
			client.request('DELETE', `/api/v1/budgets/reservations/${runId}`).catch(ignore),
		prepared.hookToken &&
			client.request('DELETE', `/api/v1/sessions/${sessionId}/hook-token`).catch(ignore),
	]);
}

const runStartOf = (g: RunStart | undefined): RunStart => ({
	...(g?.hookToken ? { hookToken: g.hookToken } : {}),
	...(g?.budgetReservation ? { budgetReservation: g.budgetReservation } : {}),
	...(g?.transcriptMeta !== undefined ? { transcriptMeta: g.transcriptMeta } : {}),
});

/** Names the holder of a lease: this process, and one run of it. */
export const newLeaseOwner = () => `${os.hostname()}:${process.pid}:${crypto.randomUUID()}`;

/**
 * Claims the session for one run (never two claude processes on one session, whichever n8n process runs them):
 * waits while another run holds it, up to `waitMs`, then fails clearly. The claim is renewed while held, and the
 * service is asked, in a long poll, whether someone wants the run stopped.
 */
export async function claimSession(
	client: OrchestratorClient,
	sessionId: string,
	waitMs: number,
	signal?: AbortSignal,
	extras?: ClaimExtras,
): Promise<SessionLease> {
	const owner = newLeaseOwner();
	const path = `/api/v1/sessions/${sessionId}/lease`;
	const deadline = Date.now() + waitMs;
	let delay = 250;
	let asked = extras && Object.values(extras).some((v) => v !== undefined) ? extras : undefined;
	let granted: LeaseGrant | undefined;
	for (;;) {
		try {
			granted = await client.request<LeaseGrant>('POST', path, {
				owner,
				...asked,
			} satisfies LeaseRequest);
			break;
		} catch (error) {
			// A service that knows no extras refuses them (400): claim the plain lease; the caller asks separately.
			if (httpStatusOf(error) === 400 && asked) {
				asked = undefined;
				continue;
			}
			if (httpStatusOf(error) !== 409) throw error;
			if (Date.now() + delay > deadline || signal?.aborted) {
				throw new SessionBusyError(
					`Session ${sessionId} is busy with another run and stayed busy for ${Math.round(waitMs / 1000)} s. ` +
						'Only one turn runs at a time per session; try again when it has finished, or raise Queue Timeout.',
				);
			}
			await sleep(delay);
			delay = Math.min(delay * 2, 2000);
		}
	}
	return {
		...holdLease(client, sessionId, owner, granted?.ttlSeconds, granted),
		...(asked?.takeQueued && granted?.taken ? { taken: granted.taken.items } : {}),
		...(asked?.withApprovalPolicy && typeof granted?.approvalPolicy === 'boolean'
			? { approvalPolicy: granted.approvalPolicy }
			: {}),
	};
}

/**
 * A lease already granted to `owner` (by a claim, or with the session's creation): renewed while held, with the
 * long poll for a stop, until released.
 */
export function holdLease(
	client: OrchestratorClient,
	sessionId: string,
	owner: string,
	grantedTtlSeconds?: number,
	/** What the grant brought for the run's start (a claim's, or a creation's `lease`). */
	grant?: RunStart,
): SessionLease {
	const path = `/api/v1/sessions/${sessionId}/lease`;
	const ttlSeconds =
		typeof grantedTtlSeconds === 'number' && grantedTtlSeconds >= 3
			? grantedTtlSeconds
			: FALLBACK_TTL_SECONDS;
	const stop = new AbortController();
	let stopRequest: StopRequest | undefined;
	let released = false;
	const stopAsked = (s: StopRequest | null | undefined) => {
		if (!s || stop.signal.aborted) return;
		stopRequest = s;
		stop.abort();
	};
	// Renewing keeps the claim while claude runs; if this process dies the claim lapses after the TTL and the
	// service ends the run as interrupted. Three tries per TTL ride out one lost request.
	const renew = setInterval(
		() => {
			client
				.request<{ stop?: StopRequest | null }>('POST', path, { owner })
				.then((r) => stopAsked(r?.stop))
				.catch(() => undefined);
		},
		(ttlSeconds / 3) * 1000,
	);
	renew.unref();
	void (async () => {
		// Ends with the run (release), at the first stop, when the service no longer knows the lease, or when the
		// service has not answered for two lease lifetimes (the lease is lost by then; the renewals say so too).
		let answeredAt = Date.now();
		while (!released && !stop.signal.aborted && Date.now() - answeredAt < 2 * ttlSeconds * 1000) {
			try {
				const r = await client.request<{ stop: StopRequest | null; leaseHeld?: boolean }>(
					'GET',
					`/api/v1/sessions/${sessionId}/stop`,
					undefined,
					{
						owner,
						waitSeconds: STOP_POLL_SECONDS,
					},
				);
				answeredAt = Date.now();
				stopAsked(r?.stop);
				if (r?.leaseHeld === false) return;
			} catch (error) {
				// A service without stops (404) has nothing to say; anything else is retried.
				if (httpStatusOf(error) === 404) return;
				await sleep(STOP_POLL_RETRY_MS, undefined, { ref: false });
			}
		}
	})();
	return {
		owner,
		prepared: { ...runStartOf(grant), receivedAt: Date.now() },
		stopSignal: stop.signal,
		stopRequest: () => stopRequest,
		async release() {
			released = true;
			clearInterval(renew);
			await client.request('DELETE', path, undefined, { owner }).catch(() => undefined);
		},
	};
}
