import path from 'node:path';
import { loadConfig } from '../config';
import type { Database } from '../db';
import { migrate } from '../db/migrate';
import { createPgliteDatabase } from '../db/pglite';
import { createPostgresDatabase } from '../db/postgres';

/** The configured database without migrating it (openDatabase migrates on open; migrate and doctor want to see first). */
export async function connectDatabase(config = loadConfig()): Promise<Database> {
	return config.databaseUrl
		? createPostgresDatabase(config.databaseUrl, 2)
		: createPgliteDatabase(path.join(config.dataDir, 'pglite'));
}

/** `migrate`: applies what is pending, says how many, and exits. Safe to run while replicas run (an advisory lock). */
export async function runMigrate(): Promise<number> {
	const config = loadConfig();
	const db = await connectDatabase(config);
	try {
		const applied = await migrate(db);
		const { rows } = await db.query<{ n: number; last: string | null }>(
			'SELECT count(*)::int AS n, max(name) AS last FROM schema_migrations',
		);
		const where = config.databaseUrl
			? new URL(config.databaseUrl).host
			: `embedded database in ${config.dataDir}`;
		process.stdout.write(
			`${applied ? `applied ${applied} migration${applied === 1 ? '' : 's'}` : 'nothing to apply'}; ` +
				`${where} is at ${rows[0].n} (${rows[0].last ?? 'none'})\n`,
		);
		return 0;
	} finally {
		await db.close();
	}
}
