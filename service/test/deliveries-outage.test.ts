import crypto from 'node:crypto';
import { ClaudeHookTrigger } from '../../nodes/ClaudeHookTrigger/ClaudeHookTrigger.node';
import { hookContext, TriggerReceiver } from '../../test/support/trigger-receiver';
import { waitFor, sleep } from '../../test/support/wait';
import {
	api,
	DATABASE_KINDS,
	startTestService,
	TEST_API_KEY,
	type TestService,
} from '../../test/support/test-service';

const OUTAGE_MS = 30_000;
const SESSIONS = 4;
const BEFORE = 5; // events per session while the receiver is up
const DURING = 10; // events per session while it is down

// Backoff capped at 1 s so the receiver's return is noticed within about a second; 100 attempts outlast the outage.
const ENV = {
	DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
	DELIVERY_MAX_ATTEMPTS: '100',
	DELIVERY_BASE_DELAY_MS: '100',
	DELIVERY_MAX_DELAY_MS: '1000',
	DELIVERY_TIMEOUT_MS: '2000',
	DELIVERY_POLL_INTERVAL_MS: '100',
};

describe.each(DATABASE_KINDS)('receiver down for 30 s, then back (%s)', (kind) => {
	let svc: TestService;
	const receiver = new TriggerReceiver();
	beforeAll(async () => {
		svc = await startTestService(kind, ENV);
		await receiver.start();
	});
	afterAll(async () => {
		await receiver.stop();
		await svc?.stop();
	});

	it('delivers every event exactly once to the workflow, in order per session', async () => {
		// Registered by the node itself, as n8n's activation would.
		const node = new ClaudeHookTrigger();
		const ctx = hookContext({
			webhookUrl: receiver.url,
			parameters: { preset: 'custom', events: ['*'] },
			staticData: receiver.staticData,
			credentials: { baseUrl: svc.url, apiKey: TEST_API_KEY },
		});
		expect(await node.webhookMethods.default.create.call(ctx)).toBe(true);
		const subscriptionId = receiver.staticData.subscriptionId!;

		const sessions = Array.from({ length: SESSIONS }, () => crypto.randomUUID());
		const postRound = async (n: number) => {
			for (const sessionId of sessions) {
				const res = await api(svc, 'POST', '/api/v1/hooks', {
					session_id: sessionId,
					hook_event_name: 'PostToolUse',
					tool_name: 'Bash',
					tool_use_id: `toolu_${n}`,
					tool_input: { command: `echo ${n}` },
					tool_response: { stdout: `${n}\n` },
					n,
				});
				expect(res.status).toBe(200);
			}
		};

		for (let n = 0; n < BEFORE; n++) await postRound(n);
		expect(await waitFor(() => receiver.emitted.length === SESSIONS * BEFORE, 15_000)).toBe(true);

		await receiver.stop();
		const downAt = Date.now();
		// Claude keeps working while the receiver is away: events keep arriving through the outage.
		for (let n = BEFORE; n < BEFORE + DURING; n++) {
			await postRound(n);
			await sleep((OUTAGE_MS * 0.8) / DURING);
		}
		await sleep(Math.max(0, OUTAGE_MS - (Date.now() - downAt)));
		const during = (await api(svc, 'GET', `/api/v1/subscriptions/${subscriptionId}`)).body
			.deliveries;
		expect(during).toEqual({ pending: SESSIONS * DURING, dead: 0 });
		const outageMs = Date.now() - downAt;

		// Back, and the very first answer is lost after the workflow got the item: the retry must not run it twice.
		receiver.nextMode = 'lose-answer';
		await receiver.start();
		const upAt = Date.now();
		const total = SESSIONS * (BEFORE + DURING);
		expect(await waitFor(() => receiver.emitted.length >= total, 30_000)).toBe(true);
		const recoveredMs = Date.now() - upAt;
		await sleep(500);

		expect(receiver.emitted).toHaveLength(total);
		expect(new Set(receiver.emitted.map((e) => e.deliveryId)).size).toBe(total);
		for (const sessionId of sessions) {
			const seen = receiver.emitted
				.filter((e) => e.sessionId === sessionId)
				.map((e) => (e.payload as { n: number }).n);
			expect(seen).toEqual(Array.from({ length: BEFORE + DURING }, (_, n) => n));
		}
		expect(receiver.requests.filter((r) => r.status === 'dropped')).toHaveLength(1);
		const dropped = receiver.requests.find((r) => r.status === 'dropped')!.deliveryId;
		expect(receiver.requests.filter((r) => r.deliveryId === dropped).map((r) => r.status)).toEqual([
			'dropped',
			200,
		]);
		expect(
			(await api(svc, 'GET', `/api/v1/subscriptions/${subscriptionId}`)).body.deliveries,
		).toEqual({ pending: 0, dead: 0 });
		process.stderr.write(
			`[${kind}] receiver down ${outageMs} ms; all ${total} events delivered ${recoveredMs} ms after it came back\n`,
		);
	}, 120_000);
});
