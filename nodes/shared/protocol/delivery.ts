// Hook Trigger deliveries: the headers and the HMAC signature, shared by the service (signs) and the trigger
// node (verifies). Only node:crypto here: the node side may not pull in anything else.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-claude-orchestrator-signature';
export const DELIVERY_HEADER = 'x-claude-orchestrator-delivery';
export const EVENT_HEADER = 'x-claude-orchestrator-event';
export const ATTEMPT_HEADER = 'x-claude-orchestrator-attempt';

/** How old (or how far in the future) a signature may be before it is refused as a replay. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** hex HMAC-SHA256(secret, `${timestamp}.${body}`): the timestamp is signed so it cannot be moved forward. */
export function signatureDigest(secret: string, timestamp: number, body: string | Buffer): string {
	return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The signature header value: `t=<unix seconds>,v1=<hex>`. */
export function signDelivery(secret: string, body: string | Buffer, nowMs = Date.now()): string {
	const t = Math.floor(nowMs / 1000);
	return `t=${t},v1=${signatureDigest(secret, t, body)}`;
}

export type SignatureFailure = 'unsigned' | 'malformed' | 'forged' | 'expired';

export type SignatureCheck =
	{ ok: true; timestamp: number } | { ok: false; reason: SignatureFailure; message: string };

export function verifyDelivery(opts: {
	secret: string;
	body: string | Buffer;
	header: string | string[] | undefined;
	toleranceSeconds?: number;
	nowMs?: number;
}): SignatureCheck {
	const header = Array.isArray(opts.header) ? opts.header.join(',') : opts.header;
	if (!header)
		return {
			ok: false,
			reason: 'unsigned',
			message: `the request has no ${SIGNATURE_HEADER} header`,
		};
	let timestamp: number | undefined;
	const candidates: string[] = [];
	for (const part of header.split(',')) {
		const [key, value] = part.trim().split('=', 2);
		if (key === 't' && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
		// Several v1 entries are allowed so a sender can sign with an old and a new secret during a rotation.
		else if (key === 'v1' && value && /^[0-9a-f]{64}$/i.test(value))
			candidates.push(value.toLowerCase());
	}
	if (timestamp === undefined || !candidates.length) {
		return {
			ok: false,
			reason: 'malformed',
			message: 'the signature header must look like t=<unix seconds>,v1=<hex hmac>',
		};
	}
	const expected = Buffer.from(signatureDigest(opts.secret, timestamp, opts.body), 'hex');
	// Checked before the age, so a forged request learns nothing about the clock window.
	const matches = candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
	if (!matches)
		return {
			ok: false,
			reason: 'forged',
			message: 'the signature does not match the body and the signing secret',
		};
	const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
	const age = Math.floor((opts.nowMs ?? Date.now()) / 1000) - timestamp;
	if (Math.abs(age) > tolerance) {
		return {
			ok: false,
			reason: 'expired',
			message: `the signature is ${age} s old; only ${tolerance} s are accepted (replayed, or the clocks differ)`,
		};
	}
	return { ok: true, timestamp };
}
