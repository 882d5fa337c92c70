/** An error whose message is safe and useful to show the client. */
export class HttpError extends Error {
	constructor(
		readonly status: number,
		message: string,
		readonly code = 'error',
		readonly details?: unknown,
	) {
		super(message);
	}
}

export const badRequest = (message: string, details?: unknown) =>
	new HttpError(400, message, 'bad_request', details);
export const unauthorized = (
	message = 'missing or invalid credentials: send Authorization: Bearer <API key>',
) => new HttpError(401, message, 'unauthorized');
export const forbidden = (message: string) => new HttpError(403, message, 'forbidden');
export const notFound = (message: string) => new HttpError(404, message, 'not_found');
export const conflict = (message: string) => new HttpError(409, message, 'conflict');
