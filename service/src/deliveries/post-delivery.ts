import http from 'node:http';
import https from 'node:https';
import { checkTargetUrl, guardedLookup, TargetRefused } from './delivery-target';

export type PostOutcome =
	| { ok: true; statusCode: number }
	| { ok: false; statusCode?: number; error: string; refused?: boolean };

/**
 * One POST with a hard deadline. No redirects are followed (a 3xx is a failure: following one would let a
 * public host bounce the request to an internal one), the connection goes only to checked addresses, and at
 * most a little of the response is read, for the error message.
 */
export function postDelivery(
	rawUrl: string,
	body: string,
	headers: Record<string, string>,
	opts: { timeoutMs: number; allowedHosts: readonly string[]; signal?: AbortSignal },
): Promise<PostOutcome> {
	let url: URL;
	try {
		url = checkTargetUrl(rawUrl, opts.allowedHosts);
	} catch (err) {
		return Promise.resolve({
			ok: false,
			error: `target refused: ${(err as Error).message}`,
			refused: true,
		});
	}
	return new Promise((resolve) => {
		let settled = false;
		const finish = (outcome: PostOutcome) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			opts.signal?.removeEventListener('abort', onAbort);
			resolve(outcome);
		};
		const client = url.protocol === 'https:' ? https : http;
		const req = client.request(url, {
			method: 'POST',
			agent: false,
			lookup: guardedLookup(opts.allowedHosts) as unknown as http.RequestOptions['lookup'],
			headers: {
				...headers,
				'content-type': 'application/json',
				'content-length': String(Buffer.byteLength(body)),
			},
		});
		const giveUp = (error: string) => {
			finish({ ok: false, error });
			req.destroy();
		};
		const timer = setTimeout(
			() => giveUp(`timeout: no complete answer within ${opts.timeoutMs} ms`),
			opts.timeoutMs,
		);
		const onAbort = () => giveUp('interrupted: the service is shutting down');
		opts.signal?.addEventListener('abort', onAbort, { once: true });

		req.on('response', (res) => {
			const status = res.statusCode ?? 0;
			const chunks: Buffer[] = [];
			let size = 0;
			res.on('data', (chunk: Buffer) => {
				if (size < 512) chunks.push(chunk);
				size += chunk.length;
			});
			res.on('error', () => undefined);
			res.on('end', () => {
				if (status >= 200 && status < 300) return finish({ ok: true, statusCode: status });
				const text = Buffer.concat(chunks)
					.toString('utf8')
					.slice(0, 300)
					.replace(/\s+/g, ' ')
					.trim();
				const what =
					status >= 300 && status < 400
						? `redirect to ${res.headers.location ?? '?'} (not followed)`
						: text;
				finish({
					ok: false,
					statusCode: status,
					error: `HTTP ${status}${what ? `: ${what}` : ''}`,
				});
			});
		});
		req.on('error', (err: NodeJS.ErrnoException) => {
			const refused = err instanceof TargetRefused || err.code === 'ETARGETREFUSED';
			finish({
				ok: false,
				error: refused
					? `target refused: ${err.message}`
					: `${err.code ? `${err.code}: ` : ''}${err.message}`,
				refused,
			});
		});
		req.end(body);
	});
}
