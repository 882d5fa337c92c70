import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { HttpError } from './errors';
import { logger } from '../logger';

export const notFoundHandler: RequestHandler = (req, res) => {
	res.status(404).json({ error: 'not_found', message: `no route for ${req.method} ${req.path}` });
};

// Registered last. Client mistakes become 4xx with a message; anything else is a 500 without internals.
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
	if (res.headersSent) return;
	if (err instanceof HttpError) {
		res.status(err.status).json({ error: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });
		return;
	}
	if (err instanceof ZodError) {
		res.status(400).json({ error: 'bad_request', message: describeZodError(err), details: err.issues });
		return;
	}
	// body-parser errors carry a status and a type.
	const status = typeof err?.status === 'number' ? err.status : typeof err?.statusCode === 'number' ? err.statusCode : 500;
	if (status === 413) {
		res.status(413).json({ error: 'payload_too_large', message: `request body is larger than the limit of ${err.limit} bytes` });
		return;
	}
	if (status >= 400 && status < 500) {
		const message = err.type === 'entity.parse.failed' ? `malformed JSON body: ${err.message}` : String(err.message ?? 'bad request');
		res.status(status).json({ error: 'bad_request', message });
		return;
	}
	logger.error('unhandled error', { method: req.method, path: req.path, error: String(err?.message ?? err) });
	res.status(500).json({ error: 'internal', message: 'internal error; see the service log' });
};

export function describeZodError(err: ZodError): string {
	return err.issues
		.slice(0, 5)
		.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
		.join('; ');
}
