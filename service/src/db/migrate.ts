import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from './database';
import { logger } from '../logger';

// Forward-only: files `NNN_name.sql` are applied once, in order, each in its own transaction.
// An applied file whose content changed is an error, not a silent re-run.
export const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');

interface Migration {
	id: number;
	name: string;
	sql: string;
	checksum: string;
}

function readMigrations(dir: string): Migration[] {
	const files = fs
		.readdirSync(dir)
		.filter((f) => /^\d{3}_[a-z0-9-]+\.sql$/.test(f))
		.sort();
	return files.map((file, index) => {
		const id = Number(file.slice(0, 3));
		if (id !== index + 1)
			throw new Error(
				`migration ${file}: expected number ${index + 1}; migrations are consecutive`,
			);
		const sql = fs.readFileSync(path.join(dir, file), 'utf8');
		return { id, name: file, sql, checksum: crypto.createHash('sha256').update(sql).digest('hex') };
	});
}

export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<number> {
	const migrations = readMigrations(dir);
	await db.transaction(async (tx) => {
		// Replicas starting together would race on creating the table itself (a duplicate pg_type row): lock first.
		await tx.query('SELECT pg_advisory_xact_lock(7283001)');
		await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
			id integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
	});
	let applied = 0;
	for (const m of migrations) {
		const done = await db.transaction(async (tx) => {
			// Several replicas may start at once: the lock makes them apply each file exactly once.
			await tx.query('SELECT pg_advisory_xact_lock(7283001)');
			const { rows } = await tx.query<{ checksum: string }>(
				'SELECT checksum FROM schema_migrations WHERE id = $1',
				[m.id],
			);
			if (rows[0]) {
				if (rows[0].checksum !== m.checksum)
					throw new Error(
						`migration ${m.name} was changed after it was applied; add a new migration instead`,
					);
				return false;
			}
			await tx.exec(m.sql);
			await tx.query('INSERT INTO schema_migrations (id, name, checksum) VALUES ($1, $2, $3)', [
				m.id,
				m.name,
				m.checksum,
			]);
			return true;
		});
		if (done) {
			applied++;
			logger.info('migration applied', { migration: m.name });
		}
	}
	return applied;
}
