import crypto from 'node:crypto';
import os from 'node:os';
import { httpStatusOf, type OrchestratorClient } from './client';

// The service sets how long a lease lasts (LEASE_TTL); this is what an older service without one is told.
const FALLBACK_TTL_SECONDS = 30;

export class SessionBusyError extends Error {}

export interface SessionLease {
	owner: string;
	release(): Promise<void>;
}

/**
 * Claims the session for one run (never two claude processes on one session, whichever n8n process runs them):
 * waits while another run holds it, up to `waitMs`, then fails clearly. The claim is renewed while held.
 */
export async function claimSession(client: OrchestratorClient, sessionId: string, waitMs: number, signal?: AbortSignal): Promise<SessionLease> {
	const owner = `${os.hostname()}:${process.pid}:${crypto.randomUUID()}`;
	const path = `/api/v1/sessions/${sessionId}/lease`;
	const deadline = Date.now() + waitMs;
	let delay = 250;
	let ttlSeconds = FALLBACK_TTL_SECONDS;
	for (;;) {
		try {
			const granted = await client.request<{ ttlSeconds?: number }>('POST', path, { owner });
			if (typeof granted?.ttlSeconds === 'number' && granted.ttlSeconds >= 3) ttlSeconds = granted.ttlSeconds;
			break;
		} catch (error) {
			if (httpStatusOf(error) !== 409) throw error;
			if (Date.now() + delay > deadline || signal?.aborted) {
				throw new SessionBusyError(
					`Session ${sessionId} is busy with another run and stayed busy for ${Math.round(waitMs / 1000)} s. ` +
						'Only one turn runs at a time per session; try again when it has finished, or raise Queue Timeout.',
				);
			}
			await new Promise((r) => setTimeout(r, delay));
			delay = Math.min(delay * 2, 2000);
		}
	}
	// Renewing keeps the claim while claude runs; if this process dies the claim lapses after the TTL and the
	// service ends the run as interrupted. Three tries per TTL ride out one lost request.
	const renew = setInterval(() => {
		client.request('POST', path, { owner }).catch(() => undefined);
	}, (ttlSeconds / 3) * 1000);
	renew.unref();
	return {
		owner,
		async release() {
			clearInterval(renew);
			await client.request('DELETE', path, undefined, { owner }).catch(() => undefined);
		},
	};
}
