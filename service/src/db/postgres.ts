import { Pool, types, type PoolClient } from 'pg';
import type { Database, Queryable, QueryResult } from './database';
import { logger } from '../logger';
import { listenPostgres } from './listener';

// int8 (counts, bigserial ids) as numbers: ids stay far below 2^53 and PGlite parses them the same way.
const typeParsers = {
	getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
		oid === types.builtins.INT8
			? Number
			: types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};

function wrap(client: Pool | PoolClient): Queryable {
	return {
		async query<T>(sql: string, params: unknown[] = [], name?: string): Promise<QueryResult<T>> {
			const res = await client.query({
				text: sql,
				values: params,
				types: typeParsers,
				...(name ? { name } : {}),
			});
			return { rows: res.rows as T[], rowCount: res.rowCount ?? 0 };
		},
		async exec(sql: string) {
			await client.query(sql);
		},
	};
}

export function createPostgresDatabase(connectionString: string, max = 10): Database {
	const pool = new Pool({ connectionString, max, connectionTimeoutMillis: 5000 });
	// An idle client losing its connection (database restarted) must not crash the process; the pool replaces it.
	pool.on('error', (err) => logger.warn('postgres idle client error', { error: err.message }));
	// pg-pool takes its own listener off a client while the client is checked out, and hands a client over in
	// the same tick as the message that freed it. A connection cut in that window (the database restarting) was
	// an unhandled 'error' event, which ends the process. With a listener for the client's whole life, the next
	// statement on it fails instead (a connection error the callers retry) and the pool drops the dead client.
	pool.on('connect', (client) => {
		client.on('error', (err) => logger.debug('postgres connection lost', { error: err.message }));
	});
	const base = wrap(pool);
	return {
		kind: 'postgres',
		query: base.query,
		exec: base.exec,
		async transaction(fn) {
			const client = await pool.connect();
			try {
				await client.query('BEGIN');
				const result = await fn(wrap(client));
				await client.query('COMMIT');
				return result;
			} catch (err) {
				await client.query('ROLLBACK').catch(() => undefined);
				throw err;
			} finally {
				client.release();
			}
		},
		listen: (channel, onNotify, onReconnect) =>
			listenPostgres(connectionString, channel, onNotify, onReconnect),
		close: () => pool.end(),
	};
}
