import type { IncomingMessage } from 'node:http';

/**
 * Runs `send` once the rest of the request body has arrived, discarding it. An answer given before the body is
 * read (401, 413) and followed by closing the socket (the client sent `Connection: close`) made the kernel reset a
 * connection that was still receiving: a client that writes its whole body before reading lost the answer.
 * body-parser waits the same way; the request timeout bounds the wait for a client that never finishes.
 */
export function answerAfterBody(req: IncomingMessage, send: () => void): void {
	if (req.complete || req.readableEnded || req.destroyed) return send();
	let sent = false;
	const once = () => {
		if (sent) return;
		sent = true;
		send();
	};
	req.once('end', once);
	req.once('close', once);
	req.resume();
}
