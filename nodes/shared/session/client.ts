import { setTimeout as sleep } from 'node:timers/promises';

// What the orchestration needs from the service, independent of n8n: the nodes pass the credential-backed
// transport, tests pass a plain fetch client. Either throws errors carrying the HTTP status.
export interface OrchestratorClient {
	request<T = Record<string, unknown>>(
		method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
		path: string,
		body?: unknown,
		qs?: Record<string, string | number>,
	): Promise<T>;
	/** The service base URL as claude processes on this machine reach it (for hooks). */
	baseUrl: string;
	/** The service URL as seen from E2B sandboxes, if configured. */
	publicUrl?: string;
}

/** The HTTP status of a failed request, whichever client threw it. */
export function httpStatusOf(error: unknown): number | undefined {
	const e = error as
		| {
				status?: unknown;
				httpCode?: unknown;
				response?: { status?: unknown };
				cause?: { status?: unknown };
		  }
		| undefined;
	for (const v of [e?.status, e?.httpCode, e?.response?.status, e?.cause?.status]) {
		const n = typeof v === 'string' ? Number(v) : v;
		if (typeof n === 'number' && Number.isFinite(n)) return n;
	}
	return undefined;
}

/**
 * Retries a bookkeeping call while the service is unreachable or answers 5xx (a restart, a failover), bounded:
 * about 15 s in all. A 4xx is the caller's mistake and is thrown at once.
 */
export async function withRetry<T>(call: () => Promise<T>, attempts = 8): Promise<T> {
	let delay = 250;
	for (let attempt = 1; ; attempt++) {
		try {
			return await call();
		} catch (error) {
			const status = httpStatusOf(error);
			if ((status !== undefined && status < 500) || attempt >= attempts) throw error;
			await sleep(delay);
			delay = Math.min(delay * 2, 3000);
		}
	}
}
