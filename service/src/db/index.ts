import path from 'node:path';
import type { Database } from './database';
import { createPostgresDatabase } from './postgres';
import { createPgliteDatabase } from './pglite';
import { migrate } from './migrate';

export type { Database, Queryable, QueryResult } from './database';
export { migrate } from './migrate';

/** Opens PostgreSQL when a URL is given, else the embedded database under `dataDir`, and brings the schema up to date. */
export async function openDatabase(opts: {
	databaseUrl?: string;
	dataDir?: string;
	poolSize?: number;
}): Promise<Database> {
	const db = opts.databaseUrl
		? createPostgresDatabase(opts.databaseUrl, opts.poolSize)
		: await createPgliteDatabase(opts.dataDir ? path.join(opts.dataDir, 'pglite') : undefined);
	try {
		await migrate(db);
	} catch (err) {
		await db.close().catch(() => undefined);
		throw err;
	}
	return db;
}
