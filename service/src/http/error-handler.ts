import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { answerAfterBody } from './answer-after-body';
import { HttpError } from './errors';
import { logger } from '../logger';

export const notFoundHandler: RequestHandler = (req, res) => {
	res.status(404).json({ error: 'not_found', message: `no route for ${req.method} ${req.path}` });
};

// Registered last. Client mistakes become 4xx with a message; anything else is a 500 without internals.
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
	if (res.headersSent) return;
	const { status, body } = errorResponse(err, req.method, req.path);
	answerAfterBody(req, () => {
		if (!res.headersSent) res.status(status).json(body);
	});
};

/** The status and JSON body an error is answered with (shared by Express and the hook fast path). */
export function errorResponse(
	err: unknown,
	method: string,
	path: string,
): { status: number; body: Record<string, unknown> } {
	if (err instanceof HttpError) {
		return {
			status: err.status,
			body: {
				error: err.code,
				message: err.message,
				...(err.details ? { details: err.details } : {}),
			},
		};
	}
	if (err instanceof ZodError)
		return {
			status: 400,
			body: { error: 'bad_request', message: describeZodError(err), details: err.issues },
		};
	// body-parser errors carry a status and a type.
	const e = err as
		| { status?: unknown; statusCode?: unknown; limit?: unknown; type?: unknown; message?: unknown }
		| undefined;
	const status =
		typeof e?.status === 'number'
			? e.status
			: typeof e?.statusCode === 'number'
				? e.statusCode
				: 500;
	if (status === 413) {
		return {
			status,
			body: {
				error: 'payload_too_large',
				message: `request body is larger than the limit of ${e?.limit} bytes`,
			},
		};
	}
	if (status >= 400 && status < 500) {
		const message =
			e?.type === 'entity.parse.failed'
				? `malformed JSON body: ${e.message}`
				: String(e?.message ?? 'bad request');
		return { status, body: { error: 'bad_request', message } };
	}
	logger.error('unhandled error', { method, path, error: String(e?.message ?? err) });
	return {
		status: 500,
		body: { error: 'internal', message: 'internal error; see the service log' },
	};
}

export function describeZodError(err: ZodError): string {
	return err.issues
		.slice(0, 5)
		.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
		.join('; ');
}
