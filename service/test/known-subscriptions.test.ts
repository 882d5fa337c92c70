import crypto from 'node:crypto';
import { KnownSubscriptions } from '../src/deliveries/outbox';
import { parseHookEvent } from '../src/hooks/hook-event';
import { insertHookEvents } from '../src/hooks/hooks.repository';
import type { SubscriptionFilter } from '../src/subscriptions/subscription-match';
import { loadFilters } from '../src/subscriptions/subscriptions.repository';
import { api, DATABASE_KINDS, startTestService, type TestService } from './harness';

const filter = (f: Partial<SubscriptionFilter>): SubscriptionFilter => ({
	id: crypto.randomUUID(), events: [], toolFilter: null, sessionId: null, threadKey: null, workspaceType: null, ...f,
});
const event = (eventName: string, toolName?: string) => ({ sessionId: crypto.randomUUID(), eventName, toolName });

// Hook ingestion skips the transaction for batches no subscription wants; KnownSubscriptions decides which.
describe('KnownSubscriptions', () => {
	it('knows nothing until the filters are read once', () => {
		expect(new KnownSubscriptions().quietVersion([event('Stop')])).toBeUndefined();
	});

	it('gives the version for a batch no filter wants, and none for one a filter may want', () => {
		const known = new KnownSubscriptions();
		known.remember({ version: 7, filters: [filter({ events: ['Stop'] }), filter({ events: ['PostToolUse'], toolFilter: 'Bash|Edit' })] });
		expect(known.quietVersion([event('PreToolUse', 'Bash'), event('PostToolUse', 'Write'), event('Notification')])).toBe(7);
		expect(known.quietVersion([event('PreToolUse', 'Bash'), event('Stop')])).toBeUndefined();
		expect(known.quietVersion([event('PostToolUse', 'Edit')])).toBeUndefined();
	});

	it('counts a thread or workspace filter as a possible match once everything else matches', () => {
		const known = new KnownSubscriptions();
		known.remember({ version: 3, filters: [filter({ events: ['Stop'], threadKey: 'slack:C1:1' }), filter({ workspaceType: 'e2b', events: ['Notification'] })] });
		expect(known.quietVersion([event('Stop')])).toBeUndefined();
		expect(known.quietVersion([event('Notification')])).toBeUndefined();
		expect(known.quietVersion([event('PreToolUse', 'Bash')])).toBe(3);
	});

	it('keeps the newest filters when reads finish out of order', () => {
		const known = new KnownSubscriptions();
		known.remember({ version: 5, filters: [] });
		known.remember({ version: 4, filters: [filter({})] });
		expect(known.quietVersion([event('Stop')])).toBe(5);
	});
});

describe.each(DATABASE_KINDS)('insertHookEvents with a subscriptions version (%s)', (kind) => {
	let svc: TestService;
	beforeAll(async () => {
		svc = await startTestService(kind, { DELIVERY_ALLOWED_HOSTS: '127.0.0.1' });
	});
	afterAll(() => svc?.stop());

	const batch = () => {
		const sessionId = crypto.randomUUID();
		return ['UserPromptSubmit', 'Stop'].map((name) => ({
			event: parseHookEvent({ session_id: sessionId, hook_event_name: name }, 1024),
			origin: 'external' as const,
		}));
	};
	const count = async () => (await svc.db.query<{ n: number }>('SELECT (SELECT count(*) FROM hook_events) + (SELECT count(*) FROM sessions) AS n')).rows[0].n;

	it('writes the batch under the current version, and nothing once the subscriptions have changed', async () => {
		const { version } = await loadFilters(svc.db);
		const stored = await insertHookEvents(svc.db, batch(), version);
		expect(stored).toHaveLength(2);

		const created = await api(svc, 'POST', '/api/v1/subscriptions', { url: 'http://127.0.0.1:9/hook' });
		expect(created.status).toBe(201);
		expect((await loadFilters(svc.db)).version).toBeGreaterThan(version);
		const before = await count();
		expect(await insertHookEvents(svc.db, batch(), version)).toBe('subscriptions-changed');
		expect(await count()).toBe(before);

		// Deleting one moves the version too.
		const now = (await loadFilters(svc.db)).version;
		expect((await api(svc, 'DELETE', `/api/v1/subscriptions/${created.body.id}`)).status).toBe(204);
		expect(await insertHookEvents(svc.db, batch(), now)).toBe('subscriptions-changed');
		expect(await insertHookEvents(svc.db, batch(), null)).toHaveLength(2);
	});
});
