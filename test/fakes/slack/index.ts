// A fake of Slack that n8n's own Slack nodes really call: HTTPS_PROXY points n8n at the CONNECT proxy, which
// tunnels slack.com into a local TLS server whose certificate n8n trusts through NODE_EXTRA_CA_CERTS
// (reference/n8n-slack-email.md §1). Templates keep calling https://slack.com/api/… unchanged.
import { startConnectProxy, type ConnectProxy } from './connect-proxy';
import { eventEnvelope, postSignedEvent } from './slack-events';
import { startSlackWebApi, type SlackMessage, type SlackWebApi } from './slack-web-api';
import { createTestPki, type TestPki } from './test-pki';
import { sleep } from '../../support/wait';

export type { SlackApiCall, SlackMessage } from './slack-web-api';
export { eventEnvelope, postSignedEvent, slackSignature } from './slack-events';

const SLACK_HOSTS = ['slack.com', '*.slack.com', 'files.slack.com'];

export interface FakeSlackOptions {
	token?: string;
	signingSecret?: string;
}

export interface FakeSlack {
	token: string;
	signingSecret: string;
	api: SlackWebApi;
	proxy: ConnectProxy;
	/** What n8n needs in its environment to reach the fake (NO_PROXY keeps loopback traffic direct). */
	env: Record<string, string>;
	/** The `slackApi` credential data for n8n: the bot token plus the signing secret the Slack Trigger checks. */
	credentialData: { accessToken: string; signatureSecret: string };
	/** Messages the bot posted (chat.postMessage), oldest first. */
	botMessages(filter?: { channel?: string; threadTs?: string }): SlackMessage[];
	/** Waits until the bot has posted a message matching `predicate`. */
	waitForBotMessage(
		predicate: (m: SlackMessage) => boolean,
		timeoutMs: number,
		what?: string,
	): Promise<SlackMessage>;
	/**
	 * A person writes in Slack: the message is stored (so replies can thread on it) and its Events API body is
	 * POSTed, signed, to a Slack Trigger URL. `mention` sends Slack's app_mention event instead of message; `asBot`
	 * sends it as the bot's own message, which real Slack echoes back to the app.
	 */
	sendUserMessage(
		triggerUrl: string,
		msg: {
			channel: string;
			text: string;
			threadTs?: string;
			user?: string;
			mention?: boolean;
			asBot?: boolean;
		},
	): Promise<{ status: number; body: string; message: SlackMessage }>;
	close(): Promise<void>;
}

export async function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
	const token = opts.token ?? 'xoxb-fake-bot-token';
	const signingSecret = opts.signingSecret ?? 'fake-slack-signing-secret';
	const pki: TestPki = await createTestPki(SLACK_HOSTS);
	let api: SlackWebApi | undefined;
	let proxy: ConnectProxy | undefined;
	try {
		api = await startSlackWebApi({ cert: pki.cert, key: pki.key, token });
		const webApi = api;
		proxy = await startConnectProxy({
			intercept: (host) => host === 'slack.com' || host.endsWith('.slack.com'),
			interceptPort: webApi.port,
		});
	} catch (error) {
		await api?.close();
		pki.remove();
		throw error;
	}
	const webApi = api;
	const botMessages = (filter: { channel?: string; threadTs?: string } = {}) =>
		webApi.messages.filter(
			(m) =>
				m.botId &&
				(!filter.channel || m.channel === filter.channel) &&
				(filter.threadTs === undefined || m.threadTs === filter.threadTs),
		);
	return {
		token,
		signingSecret,
		api: webApi,
		proxy,
		env: {
			HTTPS_PROXY: proxy.url,
			HTTP_PROXY: proxy.url,
			https_proxy: proxy.url,
			http_proxy: proxy.url,
			NO_PROXY: '127.0.0.1,localhost,::1',
			no_proxy: '127.0.0.1,localhost,::1',
			NODE_EXTRA_CA_CERTS: pki.caFile,
		},
		credentialData: { accessToken: token, signatureSecret: signingSecret },
		botMessages,
		async waitForBotMessage(predicate, timeoutMs, what = 'a matching bot message') {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const found = botMessages().find(predicate);
				if (found) return found;
				if (Date.now() > deadline) {
					const seen = botMessages().map(
						(m) => `${m.channel}/${m.threadTs ?? '-'}: ${m.text.slice(0, 80)}`,
					);
					throw new Error(
						`fake Slack: no ${what} within ${timeoutMs} ms; bot messages so far:\n${seen.join('\n') || '(none)'}`,
					);
				}
				await sleep(200);
			}
		},
		async sendUserMessage(triggerUrl, msg) {
			const message: SlackMessage = {
				channel: msg.channel,
				ts: webApi.nextTs(),
				threadTs: msg.threadTs,
				text: msg.text,
				user: msg.asBot ? webApi.bot.userId : (msg.user ?? 'U0PERSON'),
				...(msg.asBot ? { botId: webApi.bot.botId } : {}),
			};
			webApi.messages.push(message);
			const event = {
				type: msg.mention ? 'app_mention' : 'message',
				channel: msg.channel,
				channel_type: 'channel',
				user: message.user,
				text: msg.text,
				ts: message.ts,
				event_ts: message.ts,
				team: webApi.team.id,
				...(msg.threadTs ? { thread_ts: msg.threadTs } : {}),
				...(msg.asBot ? { bot_id: webApi.bot.botId } : {}),
			};
			const res = await postSignedEvent(
				triggerUrl,
				signingSecret,
				eventEnvelope(event, webApi.team.id),
			);
			return { ...res, message };
		},
		async close() {
			await proxy?.close();
			await webApi.close();
			pki.remove();
		},
	};
}
