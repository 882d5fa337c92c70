import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate, openDatabase } from '../src/db';
import { createPgliteDatabase } from '../src/db/pglite';
import { createScratchDatabase } from '../../test/support/scratch-database';

const adminUrl = process.env.TEST_DATABASE_URL;

describe('migrations', () => {
	// PostgreSQL only: PGlite is one process by construction.
	(adminUrl ? it : it.skip)(
		'apply once when several replicas start on one empty PostgreSQL database at the same time',
		async () => {
			const scratch = await createScratchDatabase(adminUrl!);
			try {
				const replicas = await Promise.all(
					[1, 2, 3].map(() => openDatabase({ databaseUrl: scratch.url, poolSize: 2 })),
				);
				const { rows } = await replicas[0].query<{ n: number }>(
					'SELECT count(*)::int AS n FROM schema_migrations',
				);
				expect(rows[0].n).toBe(
					fs.readdirSync(path.join(__dirname, '..', 'migrations')).filter((f) => f.endsWith('.sql'))
						.length,
				);
				await Promise.all(replicas.map((db) => db.close()));
			} finally {
				await scratch.drop();
			}
		},
	);

	it('refuses a migration file changed after it was applied', async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-migrations-'));
		fs.writeFileSync(path.join(dir, '001_create-t.sql'), 'CREATE TABLE t (x int);');
		const db = await createPgliteDatabase(undefined);
		try {
			expect(await migrate(db, dir)).toBe(1);
			expect(await migrate(db, dir)).toBe(0);
			fs.writeFileSync(path.join(dir, '001_create-t.sql'), 'CREATE TABLE t (x bigint);');
			await expect(migrate(db, dir)).rejects.toThrow(/was changed after it was applied/);
		} finally {
			await db.close();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});
