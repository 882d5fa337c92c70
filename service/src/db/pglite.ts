import fs from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import type { Database, Queryable, QueryResult } from './database';

const parsers = { [types.INT8]: (v: string) => Number(v) };

function wrap(db: Pick<PGlite, 'query' | 'exec'>): Queryable {
	return {
		async query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
			const res = await db.query<T>(sql, params, { parsers });
			return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
		},
		async exec(sql: string) {
			await db.exec(sql);
		},
	};
}

/** Embedded PostgreSQL (WASM) persisted in `dataDir`; used when no DATABASE_URL is configured. */
export async function createPgliteDatabase(dataDir: string | undefined): Promise<Database> {
	if (dataDir) fs.mkdirSync(dataDir, { recursive: true });
	const db = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
	const base = wrap(db);
	return {
		kind: 'pglite',
		query: base.query,
		exec: base.exec,
		// PGlite has one connection; its transaction() holds it exclusively, so transactions never interleave.
		transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
		// One process holds the embedded database, so its in-process LISTEN reaches every writer.
		async listen(channel, onNotify) {
			const unlisten = await db.listen(channel, onNotify);
			return async () => {
				if (!db.closed) await unlisten();
			};
		},
		close: () => db.close(),
	};
}
