// What the orchestration needs from the service, independent of n8n: the nodes pass the credential-backed
// transport, tests pass a plain fetch client. Either throws errors carrying the HTTP status.
export interface OrchestratorClient {
	request<T = Record<string, unknown>>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, qs?: Record<string, string | number>): Promise<T>;
	/** The service base URL as claude processes on this machine reach it (for hooks). */
	baseUrl: string;
	/** The service URL as seen from E2B sandboxes, if configured. */
	publicUrl?: string;
}

/** The HTTP status of a failed request, whichever client threw it. */
export function httpStatusOf(error: unknown): number | undefined {
	const e = error as { status?: unknown; httpCode?: unknown; response?: { status?: unknown }; cause?: { status?: unknown } } | undefined;
	for (const v of [e?.status, e?.httpCode, e?.response?.status, e?.cause?.status]) {
		const n = typeof v === 'string' ? Number(v) : v;
		if (typeof n === 'number' && Number.isFinite(n)) return n;
	}
	return undefined;
}
