import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { answerAfterBody } from '../http/answer-after-body';
import { errorResponse } from '../http/error-handler';
import { badRequest, HttpError } from '../http/errors';
import { refuseDeepBody } from '../http/validate';
import { receiveNativeHook, type HookDeps } from './hooks.router';

const HOOK_PATHS = new Set(['/api/v1/hooks', '/api/v1/hooks/', '/api/hooks', '/api/hooks/']);
// Only plain UTF-8 JSON is taken here; any other type, charset or content encoding goes on to Express, whose
// body parser answers it exactly as before (decoded, or 415).
const PLAIN_JSON = /^application\/json\s*(?:;\s*charset="?utf-8"?\s*)?$/i;

type FastPathDeps = HookDeps & { bodyLimitBytes: number };

/**
 * Serves POST /api/v1/hooks (and the /api alias) straight from node:http, in front of the Express app.
 * Every Claude Code tool call posts here and waits for the answer, so this is the service's hot path: Express's
 * router, body parser and response helpers cost as much CPU per event as validating and storing it
 * (bench/hooks-ingest.ts). The answer is the same in both layers: receiveNativeHook decides it, errorResponse
 * shapes errors, and the steps run in the same order (credentials, then body, then payload).
 */
export function hookFastPath(deps: FastPathDeps, next: RequestListener): RequestListener {
	return (req, res) => {
		const url = req.url ?? '/';
		const q = url.indexOf('?');
		const pathname = q < 0 ? url : url.slice(0, q);
		const encoding = req.headers['content-encoding'];
		if (
			req.method !== 'POST' ||
			!HOOK_PATHS.has(pathname) ||
			!PLAIN_JSON.test(req.headers['content-type'] ?? '') ||
			(encoding !== undefined && encoding.toLowerCase() !== 'identity')
		) {
			return next(req, res);
		}
		const query = q < 0 ? '' : url.slice(q + 1);
		handle(deps, req, query).then(
			(r) => send(res, r.status, r.body),
			(err) => {
				const { status, body } = errorResponse(err, 'POST', pathname);
				answerAfterBody(req, () => send(res, status, body));
			},
		);
		res.once('finish', () => deps.metrics.httpResponse('POST', res.statusCode));
	};
}

async function handle(deps: FastPathDeps, req: IncomingMessage, query: string) {
	// The credential first: a body is read only for a caller who may post one (a 2 MB body cost ~120 ms even when
	// the answer was 401).
	const principal = await deps.auth.hookWriter(req);
	const text = await readBody(req, deps.bodyLimitBytes);
	let body: unknown = {}; // an empty body, as body-parser reads it
	if (text.length) {
		try {
			body = JSON.parse(text);
		} catch (err) {
			throw badRequest(`malformed JSON body: ${(err as Error).message}`);
		}
	}
	refuseDeepBody(body);
	return receiveNativeHook(
		deps,
		principal,
		body,
		query !== '' && new URLSearchParams(query).get('approvals') === 'required',
	);
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
	const tooLarge = () =>
		new HttpError(
			413,
			`request body is larger than the limit of ${limit} bytes`,
			'payload_too_large',
		);
	if (Number(req.headers['content-length']) > limit) return Promise.reject(tooLarge());
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size <= limit) return void chunks.push(chunk);
			// Answered once the rest has arrived, unread (answerAfterBody).
			req.removeAllListeners('data');
			reject(tooLarge());
		});
		req.once('end', () =>
			resolve(
				chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'),
			),
		);
		req.once('error', reject);
		// The caller hung up mid-body: settles the wait; the answer goes nowhere. ('close' also follows every
		// complete body; an Error built there each time cost 3% of the CPU per event.)
		req.once('close', () => {
			if (!req.complete) reject(badRequest('the request closed before its body was read'));
		});
	});
}

function send(res: ServerResponse, status: number, body: unknown) {
	if (res.headersSent) return;
	const json = JSON.stringify(body);
	// Headers and body leave in one write.
	res.writeHead(status, {
		'Content-Type': 'application/json; charset=utf-8',
		'Content-Length': Buffer.byteLength(json),
		'X-Content-Type-Options': 'nosniff',
	});
	res.end(json);
}
