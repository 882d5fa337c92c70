// Slack's Events API as seen by n8n's Slack Trigger: an event_callback envelope, signed the way Slack signs it.
import { createHmac, randomBytes } from 'node:crypto';

const POST_TIMEOUT_MS = 30_000;

/** `v0=` + HMAC-SHA256(secret, `v0:<timestamp>:<raw body>`), over the exact bytes sent. */
export function slackSignature(signingSecret: string, timestamp: number, rawBody: string): string {
	return (
		'v0=' + createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')
	);
}

export function eventEnvelope(
	event: Record<string, unknown>,
	teamId: string,
): Record<string, unknown> {
	return {
		token: 'fake-verification-token',
		team_id: teamId,
		api_app_id: 'A0FAKEAPP',
		type: 'event_callback',
		event_id: `Ev${randomBytes(6).toString('hex').toUpperCase()}`,
		event_time: Math.floor(Date.now() / 1000),
		event,
	};
}

/** POSTs a signed Events API body to a Slack Trigger webhook URL; `timestamp` may be set to test staleness. */
export async function postSignedEvent(
	url: string,
	signingSecret: string,
	body: Record<string, unknown>,
	timestamp = Math.floor(Date.now() / 1000),
	/** Extra headers, e.g. Slack's X-Slack-Retry-Num and X-Slack-Retry-Reason on a resent event. */
	extraHeaders: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
	const raw = JSON.stringify(body);
	const res = await fetch(url, {
		method: 'POST',
		headers: {
			...extraHeaders,
			'content-type': 'application/json',
			'x-slack-request-timestamp': String(timestamp),
			'x-slack-signature': slackSignature(signingSecret, timestamp, raw),
		},
		body: raw,
		signal: AbortSignal.timeout(POST_TIMEOUT_MS),
	});
	return { status: res.status, body: await res.text() };
}
