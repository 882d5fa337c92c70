import crypto from 'node:crypto';
import type { IDataObject } from 'n8n-workflow';
import { ClaudeHookTrigger } from '../../nodes/ClaudeHookTrigger/ClaudeHookTrigger.node';
import { api, startTestService, TEST_API_KEY, type TestService } from './test-service';
import { hookContext, TriggerReceiver } from './trigger-receiver';
import { pollUntil } from './wait';

// What the service suites set up before the part they test: sessions and runs made through the API, and Hook
// Trigger receivers subscribed the way the node subscribes.

/**
 * Deliveries to receivers on loopback, retried fast so failure paths finish in seconds: 3 attempts, 50 ms doubling
 * to 400 ms. 5 s per request: long enough that a receiver in the test's process answers in time however busy the
 * machine (at 500 ms, answers came late under load and were retried), short enough for a hanging receiver's
 * attempts to run out within a minute.
 */
export const FAST_DELIVERY_ENV = {
	DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
	DELIVERY_MAX_ATTEMPTS: '3',
	DELIVERY_BASE_DELAY_MS: '50',
	DELIVERY_MAX_DELAY_MS: '400',
	DELIVERY_TIMEOUT_MS: '5000',
	DELIVERY_POLL_INTERVAL_MS: '50',
};

/** Subscribes the started receiver `r` with `filters`; it holds the secret the way the node does after create(). */
export async function subscribeReceiver(
	svc: { url: string },
	r: TriggerReceiver,
	filters: Record<string, unknown>,
): Promise<void> {
	const res = await api(svc, 'POST', '/api/v1/subscriptions', { url: r.url, ...filters });
	expect(res.status).toBe(201);
	r.staticData = { subscriptionId: res.body.id, secret: res.body.secret };
}

/** The service's env for the Hook Trigger's own suites: deliveries to receivers on loopback, looked for every 50 ms. */
export const LOOPBACK_DELIVERY_ENV = {
	DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
	DELIVERY_POLL_INTERVAL_MS: '50',
};

/**
 * A running receiver that the Hook Trigger itself subscribed with `parameters` (its create(), as n8n calls it when
 * the workflow is activated), pushed to `receivers` first for the suite to stop; with the events the service
 * registered for it.
 */
export async function nodeSubscribedReceiver(
	svc: TestService,
	parameters: IDataObject,
	receivers: TriggerReceiver[],
): Promise<{ receiver: TriggerReceiver; events: string[] }> {
	const receiver = new TriggerReceiver();
	receivers.push(receiver);
	await receiver.start();
	const ctx = hookContext({
		webhookUrl: receiver.url,
		parameters,
		staticData: receiver.staticData,
		credentials: { baseUrl: svc.url, apiKey: TEST_API_KEY },
	});
	expect(await new ClaudeHookTrigger().webhookMethods.default.create.call(ctx)).toBe(true);
	const registered = await api(
		svc,
		'GET',
		`/api/v1/subscriptions/${receiver.staticData.subscriptionId}`,
	);
	return { receiver, events: registered.body.events };
}

/** A running receiver subscribed with `filters` (pushed to `receivers` first, for the suite to stop). */
export async function subscribedReceiver(
	svc: TestService,
	filters: Record<string, unknown>,
	receivers: TriggerReceiver[],
): Promise<TriggerReceiver> {
	const r = new TriggerReceiver();
	receivers.push(r);
	await r.start();
	await subscribeReceiver(svc, r, filters);
	return r;
}

/** A service with one receiver subscribed to `events` (a Hook Trigger preset); both stopped if either fails to start. */
export async function startServiceWithTrigger(
	kind: 'pglite' | 'postgres',
	env: Record<string, string>,
	events: string[],
): Promise<{ svc: TestService; receiver: TriggerReceiver }> {
	const svc = await startTestService(kind, env);
	const receivers: TriggerReceiver[] = [];
	try {
		return { svc, receiver: await subscribedReceiver(svc, { events }, receivers) };
	} catch (error) {
		await Promise.all(receivers.map((r) => r.stop()));
		await svc.stop();
		throw error;
	}
}

/** A service with a receiver subscribed to `events`, for one describe block: started before its tests, stopped after. */
export function serviceWithTrigger(
	kind: 'pglite' | 'postgres',
	env: Record<string, string>,
	events: string[],
): { svc: TestService; receiver: TriggerReceiver } {
	const t = {} as { svc: TestService; receiver: TriggerReceiver };
	beforeAll(async () => {
		Object.assign(t, await startServiceWithTrigger(kind, env, events));
	});
	afterAll(async () => {
		await t.receiver?.stop();
		await t.svc?.stop();
	});
	return t;
}

/** A service for one describe block, and receivers its tests subscribe (all stopped after the block). */
export function serviceWithReceivers(kind: 'pglite' | 'postgres', env: Record<string, string>) {
	const receivers: TriggerReceiver[] = [];
	const t = {
		svc: undefined as unknown as TestService,
		receivers,
		subscribed: (filters: Record<string, unknown> = {}) =>
			subscribedReceiver(t.svc, filters, receivers),
	};
	beforeAll(async () => {
		t.svc = await startTestService(kind, env);
	});
	afterAll(async () => {
		await Promise.all(receivers.map((r) => r.stop()));
		await t.svc?.stop();
	});
	return t;
}

/** A new session record with `fields` (a local workspace unless they say otherwise); returns its id. */
export async function newSession(
	svc: TestService,
	fields: Record<string, unknown> = {},
): Promise<string> {
	const id = crypto.randomUUID();
	const res = await api(svc, 'POST', '/api/v1/sessions', {
		id,
		workspaceType: 'local',
		workspacePath: '/w',
		...fields,
	});
	expect(res.status).toBe(201);
	return id;
}

/** Starts a run of the session, as the runner records it when claude starts; returns the run's id. */
export async function startRun(svc: TestService, sessionId: string): Promise<string> {
	const runId = crypto.randomUUID();
	const res = await api(svc, 'PUT', `/api/v1/sessions/${sessionId}/runs/${runId}`, {
		kind: 'start',
		status: 'running',
		prompt: 'long task',
	});
	expect(res.status).toBe(200);
	return runId;
}

/** The id of the session bound to `threadKey`, once there is one (the workflow that starts it may still be running). */
export function threadSession(
	svc: TestService,
	threadKey: string,
	timeoutMs: number,
): Promise<string> {
	return pollUntil(
		async () =>
			(await api(svc, 'GET', `/api/v1/threads/${encodeURIComponent(threadKey)}`)).body
				?.sessionId as string | undefined,
		timeoutMs,
		`a session bound to ${threadKey}`,
	);
}

/** Waits until one of the session's tool calls has succeeded (a scripted long turn then waits on the model). */
export async function firstCallSucceeded(
	svc: TestService,
	sessionId: string,
	timeoutMs: number,
): Promise<void> {
	await pollUntil(
		async () => {
			const res = await api(svc, 'GET', `/api/v1/sessions/${sessionId}/logs`);
			if (res.status !== 200)
				throw new Error(`GET logs: ${res.status} ${JSON.stringify(res.body)}`);
			return (res.body.items as Array<{ status: string }>).some((c) => c.status === 'succeeded')
				? true
				: undefined;
		},
		timeoutMs,
		'the first tool call',
	);
}
