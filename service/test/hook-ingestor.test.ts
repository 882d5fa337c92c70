import crypto from 'node:crypto';
import type { Database } from '../src/db';
import { parseHookEvent } from '../src/hooks/hook-event';
import { HookIngestor } from '../src/hooks/hook-ingestor';
import {
	DATABASE_KINDS,
	startTestService,
	type TestService,
} from '../../test/support/test-service';

// The group commit's failure paths, on the real database with the failures put in front of it: a batch the
// database refuses is written again one event at a time, and if the database goes away during that, the events
// left wait for it like any batch. They may already have been answered 202, so dropping them loses an
// acknowledged event.

/** The real database, with the next writes of hook events failing as listed (then written as usual). */
function failingWrites(db: Database, failures: Error[]): Database {
	const failing: Database = {
		kind: db.kind,
		exec: (sql) => db.exec(sql),
		close: () => db.close(),
		async query(sql, params, name) {
			const failure = name === 'insert-hook-events' ? failures.shift() : undefined;
			if (failure) throw failure;
			return db.query(sql, params, name);
		},
		transaction: (fn) => db.transaction(fn),
		listen: (channel, onNotify) => db.listen(channel, onNotify),
	};
	return failing;
}

const refused = () =>
	Object.assign(new Error('invalid byte sequence for encoding "UTF8"'), { code: '22021' });
const connectionLost = () =>
	Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe.each(DATABASE_KINDS)('hook group commit when writes fail (%s)', (kind) => {
	let svc: TestService;
	beforeAll(async () => {
		svc = await startTestService(kind);
	});
	afterAll(() => svc?.stop());

	const events = (sessionId: string, n: number) =>
		Array.from({ length: n }, (_, i) =>
			parseHookEvent(
				{
					session_id: sessionId,
					hook_event_name: 'Notification',
					message: `n${i}`,
					notification_type: 'idle_prompt',
				},
				10_000,
			),
		);
	const stored = async (sessionId: string) =>
		(
			await svc.db.query<{ n: number }>(
				'SELECT count(*)::int AS n FROM hook_events WHERE session_id = $1',
				[sessionId],
			)
		).rows[0].n;

	it('a batch the database refuses is written event by event; a connection lost during that is waited out', async () => {
		const sessionId = crypto.randomUUID();
		// The batch is refused, then the first single write finds the database gone; after that it is back.
		const ingestor = new HookIngestor(failingWrites(svc.db, [refused(), connectionLost()]), {
			maxQueue: 100,
		});
		const results = await Promise.allSettled(
			events(sessionId, 3).map((e) => ingestor.submit(e, 'external')),
		);
		expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
		expect(results.map((r) => (r.status === 'fulfilled' ? typeof r.value?.id : undefined))).toEqual(
			['number', 'number', 'number'],
		);
		expect(await stored(sessionId)).toBe(3);
		await ingestor.drain(1_000);
	});

	it('an event the database refuses on its own is refused; the rest of its batch is written', async () => {
		const sessionId = crypto.randomUUID();
		// The batch is refused and the first single write finds the database gone; written again, the batch is
		// refused again, and so is its first event on its own.
		const ingestor = new HookIngestor(
			failingWrites(svc.db, [refused(), connectionLost(), refused(), refused()]),
			{ maxQueue: 100 },
		);
		const results = await Promise.allSettled(
			events(sessionId, 3).map((e) => ingestor.submit(e, 'external')),
		);
		expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
		expect(await stored(sessionId)).toBe(2);
		await ingestor.drain(1_000);
	});
});
