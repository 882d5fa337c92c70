import crypto from 'node:crypto';
import { openDatabase, type Database } from '../src/db';
import { createScratchDatabase } from '../../test/support/scratch-database';
import { parseChanges, type Change } from '../src/stream/changes.repository';
import { DATABASE_KINDS } from '../../test/support/test-service';

// Migration 017: the dashboard's change records are written once per statement. What the live stream sees must not
// change: one change per row written, in order, and none for a lease taken or given back.
describe.each(DATABASE_KINDS)('dashboard change notices per statement (%s)', (kind) => {
	let db: Database;
	let drop: (() => Promise<void>) | undefined;
	let stop: () => Promise<void>;
	const seen: Change[] = [];
	let notices = 0;
	const waiters: Array<() => void> = [];

	beforeAll(async () => {
		if (kind === 'postgres') {
			const scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!);
			drop = scratch.drop;
			db = await openDatabase({ databaseUrl: scratch.url, poolSize: 2 });
		} else {
			db = await openDatabase({});
		}
		stop = await db.listen('dashboard_changes', (payload) => {
			notices++;
			seen.push(...parseChanges(payload));
			for (const w of waiters.splice(0)) w();
		});
	}, 60_000);
	afterAll(async () => {
		await stop?.();
		await db?.close();
		await drop?.();
	});

	/** Waits (bounded) until `n` changes of the session have been announced. */
	async function changesOf(sessionId: string, n: number): Promise<Change[]> {
		const mine = () => seen.filter((c) => c.sessionId === sessionId);
		for (let i = 0; i < 100 && mine().length < n; i++) {
			await new Promise<void>((resolve) => {
				const t = setTimeout(resolve, 100);
				waiters.push(() => {
					clearTimeout(t);
					resolve();
				});
			});
		}
		return mine();
	}

	it('announces every row of a multi-row statement, in order, in notices of at most 40 changes', async () => {
		const id = crypto.randomUUID();
		await db.query(
			`INSERT INTO sessions (id, origin, status, prompt) VALUES ($1, 'orchestrator', 'running', 'p')`,
			[id],
		);
		expect((await changesOf(id, 1)).map((c) => [c.kind, c.op])).toEqual([['session', 'insert']]);
		const before = notices;
		const { rows } = await db.query<{ id: string }>(
			`INSERT INTO session_messages (session_id, direction, content, source) SELECT $1, 'user', 'm' || g, 'n8n' FROM generate_series(1, 45) g RETURNING id`,
			[id],
		);
		const changes = (await changesOf(id, 46)).filter((c) => c.kind === 'message');
		expect(changes.map((c) => c.ref)).toEqual(rows.map((r) => String(r.id)));
		expect(changes.every((c) => c.op === 'insert')).toBe(true);
		// 45 changes: two notices (at most 40 each), not 45.
		expect(notices - before).toBe(2);
		const seqs = changes.map((c) => c.seq);
		expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
	});

	it('announces a session update but not a lease taken and given back', async () => {
		const id = crypto.randomUUID();
		await db.query(
			`INSERT INTO sessions (id, origin, status) VALUES ($1, 'orchestrator', 'running')`,
			[id],
		);
		await changesOf(id, 1);
		await db.query(
			`UPDATE sessions SET lease_owner = 'w', lease_expires_at = now() + interval '30 seconds' WHERE id = $1`,
			[id],
		);
		await db.query(`UPDATE sessions SET status = 'completed', updated_at = now() WHERE id = $1`, [
			id,
		]);
		const changes = await changesOf(id, 2);
		expect(changes.map((c) => [c.kind, c.op])).toEqual([
			['session', 'insert'],
			['session', 'update'],
		]);
	});

	it("keeps a session's search vector current when its prompt, result or error changes", async () => {
		const id = crypto.randomUUID();
		const word = `zebra${crypto.randomBytes(3).toString('hex')}`;
		await db.query(
			`INSERT INTO sessions (id, origin, status, prompt) VALUES ($1, 'orchestrator', 'running', $2)`,
			[id, `find the ${word}`],
		);
		const found = async (term: string) =>
			(
				await db.query<{ n: number }>(
					`SELECT count(*)::int AS n FROM sessions WHERE id = $1 AND search @@ plainto_tsquery('english', $2)`,
					[id, term],
				)
			).rows[0].n;
		expect(await found(word)).toBe(1);
		await db.query(
			`UPDATE sessions SET hook_event_count = hook_event_count + 1, last_activity_at = now() WHERE id = $1`,
			[id],
		);
		expect(await found(word)).toBe(1);
		await db.query(`UPDATE sessions SET result = 'the giraffes are counted' WHERE id = $1`, [id]);
		expect(await found('giraffe')).toBe(1);
		await db.query(
			`UPDATE sessions SET error_message = 'an elephant stood in the way', prompt = 'other' WHERE id = $1`,
			[id],
		);
		expect(await found('elephant')).toBe(1);
		expect(await found(word)).toBe(0);
	});
});
