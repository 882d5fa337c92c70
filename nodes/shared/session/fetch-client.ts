import type { OrchestratorClient } from './client';

/**
 * The service client outside n8n (the package's command line, and the tests): what the nodes get from their
 * credential, as a plain fetch with the API key. A failed request throws with the status and the service's answer.
 */
export function fetchClient(
	baseUrl: string,
	apiKey: string,
	publicUrl?: string,
	timeoutMs = 15_000,
): OrchestratorClient {
	return {
		baseUrl,
		publicUrl,
		async request(method, path, body, qs) {
			const url = new URL(baseUrl + path);
			for (const [k, v] of Object.entries(qs ?? {})) url.searchParams.set(k, String(v));
			const res = await fetch(url, {
				method,
				headers: {
					Authorization: `Bearer ${apiKey}`,
					...(body === undefined ? {} : { 'content-type': 'application/json' }),
				},
				body: body === undefined ? undefined : JSON.stringify(body),
				signal: AbortSignal.timeout(timeoutMs),
			});
			const text = await res.text();
			if (!res.ok)
				throw Object.assign(new Error(`${method} ${path}: ${res.status} ${text}`), {
					status: res.status,
				});
			return (text ? JSON.parse(text) : undefined) as never;
		},
	};
}
