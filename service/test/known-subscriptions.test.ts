import crypto from 'node:crypto';
import { KnownSubscriptions } from '../src/deliveries/outbox';
import { parseHookEvent } from '../src/hooks/hook-event';
import { insertHookEvents } from '../src/hooks/hooks.repository';
import type { SubscriptionFilter } from '../src/subscriptions/subscription-match';
import { loadFilters } from '../src/subscriptions/subscriptions.repository';
import {
	api,
	DATABASE_KINDS,
	startTestService,
	type TestService,
} from '../../test/support/test-service';

const filter = (f: Partial<SubscriptionFilter>): SubscriptionFilter => ({
	id: crypto.randomUUID(),
	events: [],
	toolFilter: null,
	sessionId: null,
	threadKey: null,
	workspaceType: null,
	...f,
});
const event = (eventName: string, toolName?: string, sessionId: string = crypto.randomUUID()) =>
	parseHookEvent(
		{
			session_id: sessionId,
			hook_event_name: eventName,
			...(toolName ? { tool_name: toolName } : {}),
			n: crypto.randomUUID(),
		},
		1024,
	);

// Hook ingestion decides a batch's deliveries in memory when it can; KnownSubscriptions makes that plan.
describe('KnownSubscriptions', () => {
	it('knows nothing until the filters are read once', () => {
		expect(new KnownSubscriptions().plan([event('Stop')])).toBeUndefined();
	});

	it('plans one delivery per matching subscription and event, under the version it read', () => {
		const known = new KnownSubscriptions();
		const stop = filter({ events: ['Stop'] });
		const edits = filter({ events: ['PostToolUse'], toolFilter: 'Bash|Edit' });
		known.remember({ version: 7, filters: [stop, edits] });
		const quiet = [
			event('PreToolUse', 'Bash'),
			event('PostToolUse', 'Write'),
			event('Notification'),
		];
		expect(known.plan(quiet)).toEqual({ subscriptionsVersion: 7, deliveries: [] });
		const [s, e] = [event('Stop'), event('PostToolUse', 'Edit')];
		const plan = known.plan([...quiet, s, e])!;
		expect(
			plan.deliveries.map(({ subscriptionId, sessionId, hash }) => ({
				subscriptionId,
				sessionId,
				hash,
			})),
		).toEqual([
			{ subscriptionId: stop.id, sessionId: s.sessionId, hash: s.hash },
			{ subscriptionId: edits.id, sessionId: e.sessionId, hash: e.hash },
		]);
		expect(new Set(plan.deliveries.map((d) => d.id)).size).toBe(2);
	});

	it('leaves a batch to the database when a thread or workspace filter may want one of its events', () => {
		const known = new KnownSubscriptions();
		known.remember({
			version: 3,
			filters: [
				filter({ events: ['Stop'], threadKey: 'slack:C1:1' }),
				filter({ workspaceType: 'e2b', events: ['Notification'] }),
			],
		});
		expect(known.plan([event('Stop')])).toBeUndefined();
		expect(known.plan([event('Notification')])).toBeUndefined();
		expect(known.plan([event('PreToolUse', 'Bash')])).toEqual({
			subscriptionsVersion: 3,
			deliveries: [],
		});
	});

	it('keeps the newest filters when reads finish out of order', () => {
		const known = new KnownSubscriptions();
		known.remember({ version: 5, filters: [] });
		known.remember({ version: 4, filters: [filter({})] });
		expect(known.plan([event('Stop')])).toEqual({ subscriptionsVersion: 5, deliveries: [] });
	});
});

describe.each(DATABASE_KINDS)('insertHookEvents with an outbox plan (%s)', (kind) => {
	let svc: TestService;
	beforeAll(async () => {
		svc = await startTestService(kind, { DELIVERY_ALLOWED_HOSTS: '127.0.0.1' });
	});
	afterAll(() => svc?.stop());

	const count = async () =>
		(
			await svc.db.query<{ n: number }>(
				'SELECT (SELECT count(*) FROM hook_events) + (SELECT count(*) FROM sessions) + (SELECT count(*) FROM deliveries) AS n',
			)
		).rows[0].n;
	const deliveriesOf = async (sessionId: string) =>
		(
			await svc.db.query<{ subscription_id: string; event_name: string }>(
				'SELECT subscription_id, event_name FROM deliveries WHERE session_id = $1',
				[sessionId],
			)
		).rows;

	it('stores the events with their planned deliveries, once, and nothing once the subscriptions have changed', async () => {
		const created = await api(svc, 'POST', '/api/v1/subscriptions', {
			url: 'http://127.0.0.1:9/hook',
			events: ['Stop'],
		});
		expect(created.status).toBe(201);
		const known = new KnownSubscriptions();
		known.remember(await loadFilters(svc.db));

		const sessionId = crypto.randomUUID();
		const batch = [
			event('UserPromptSubmit', undefined, sessionId),
			event('Stop', undefined, sessionId),
		].map((e) => ({ event: e, origin: 'external' as const }));
		const result = await insertHookEvents(svc.db, batch, known.plan(batch.map((b) => b.event)));
		expect(result).toMatchObject({ queued: 1 });
		expect(result !== 'subscriptions-changed' && result.stored).toHaveLength(2);
		expect(await deliveriesOf(sessionId)).toEqual([
			{ subscription_id: created.body.id, event_name: 'Stop' },
		]);
		// A redelivered batch stores nothing and queues nothing again.
		expect(await insertHookEvents(svc.db, batch, known.plan(batch.map((b) => b.event)))).toEqual({
			stored: [],
			queued: 0,
		});

		// A subscription deleted (on any replica) since the filters were read: the plan is refused whole.
		const stale = known.plan([event('Stop')])!;
		expect((await api(svc, 'DELETE', `/api/v1/subscriptions/${created.body.id}`)).status).toBe(204);
		const before = await count();
		expect(
			await insertHookEvents(svc.db, [{ event: event('Stop'), origin: 'external' }], stale),
		).toBe('subscriptions-changed');
		expect(await count()).toBe(before);
		// Without a plan there is nothing to check.
		expect(
			await insertHookEvents(svc.db, [{ event: event('Stop'), origin: 'external' }]),
		).toMatchObject({ queued: 0 });
	});
});
