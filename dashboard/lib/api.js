// @ts-check
// The dashboard's only way to the service. It can GET and nothing else: there is no method for writing.

export class ApiError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

/**
 * token(): the credential the user signed in with. It travels in the Authorization header, never in a URL,
 * so it stays out of server logs, proxies, browser history and Referer headers.
 * onUnauthorized(): called when the service refuses it (rotated key, wrong token).
 */
export function createApi({ token, onUnauthorized }) {
	async function get(path, params = {}, signal) {
		const url = new URL(path, location.origin);
		for (const [key, value] of Object.entries(params)) {
			if (value !== undefined && value !== null && value !== '')
				url.searchParams.set(key, String(value));
		}
		let res;
		try {
			res = await fetch(url, {
				headers: { Authorization: `Bearer ${token()}`, Accept: 'application/json' },
				cache: 'no-store',
				signal,
			});
		} catch (err) {
			if (err?.name === 'AbortError') throw err;
			throw new ApiError(0, 'the service does not answer');
		}
		if (res.status === 401) {
			onUnauthorized();
			throw new ApiError(401, 'the credential was not accepted');
		}
		const body = await res.json().catch(() => undefined);
		if (!res.ok) throw new ApiError(res.status, body?.message ?? `HTTP ${res.status}`);
		return body;
	}
	/** A GET saved as a file: fetched with the header (a plain link could not carry it), handed over as a blob. */
	async function download(path, filename) {
		const body = await get(path);
		const url = URL.createObjectURL(
			new Blob([JSON.stringify(body, null, '\t')], { type: 'application/json' }),
		);
		const a = Object.assign(document.createElement('a'), { href: url, download: filename });
		document.body.append(a);
		a.click();
		a.remove();
		setTimeout(() => URL.revokeObjectURL(url), 10_000);
	}

	/**
	 * Opens a server-sent event stream; the caller reads the body. `lastEventId` resumes after that event
	 * (the header EventSource would send on its own).
	 */
	async function stream(path, params = {}, lastEventId, signal) {
		const url = new URL(path, location.origin);
		for (const [key, value] of Object.entries(params))
			if (value) url.searchParams.set(key, String(value));
		/** @type {Record<string, string>} */
		const headers = { Authorization: `Bearer ${token()}`, Accept: 'text/event-stream' };
		if (lastEventId) headers['Last-Event-ID'] = lastEventId;
		const res = await fetch(url, { headers, cache: 'no-store', signal });
		if (res.status === 401) {
			onUnauthorized();
			throw new ApiError(401, 'the credential was not accepted');
		}
		return res;
	}
	return { get, download, stream };
}

/** Whether the service accepts `token` for reading (sign-in), without keeping it anywhere. */
export async function checkToken(token) {
	const res = await fetch('/api/v1/sessions?limit=1', {
		headers: { Authorization: `Bearer ${token}` },
		cache: 'no-store',
	});
	if (res.status === 401 || res.status === 403) return false;
	if (!res.ok) throw new Error(`the service answered HTTP ${res.status}`);
	return true;
}
