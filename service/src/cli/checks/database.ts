import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config';
import { MIGRATIONS_DIR } from '../../db/migrate';
import { connectDatabase } from '../migrate';
import { fail, ok, type Check } from './check';

const MIGRATE = 'npx n8n-nodes-claude-orchestrator migrate';

function migrationFiles(): string[] {
	return fs
		.readdirSync(MIGRATIONS_DIR)
		.filter((f) => /^\d{3}_[a-z0-9-]+\.sql$/.test(f))
		.sort();
}

/** Reachable (a query answers) and migrated (every migration file of this package applied, none unknown). */
export async function checkDatabase(config: Config, serviceUrl: string): Promise<Check[]> {
	const reach = 'database';
	const migrated = 'migrations';
	const files = migrationFiles();
	if (!config.databaseUrl) {
		// PGlite is one process's database: while the service runs, ask it rather than open the files beside it.
		const health = await fetch(`${serviceUrl}/api/v1/health`, { signal: AbortSignal.timeout(3000) })
			.then(async (r) => (r.ok ? ((await r.json()) as { database?: string }) : undefined))
			.catch(() => undefined);
		if (health?.database === 'pglite') {
			return [
				ok(
					reach,
					`embedded (PGlite) in ${config.dataDir}, open in the service at ${serviceUrl} (health ok)`,
				),
				ok(
					migrated,
					`applied by the running service when it started (${files.length} in this package)`,
				),
			];
		}
		if (!fs.existsSync(path.join(config.dataDir, 'pglite'))) {
			const missing = `no embedded database in ${config.dataDir} yet`;
			return [
				fail(
					reach,
					missing,
					`run "${MIGRATE}" (or serve) once with this DATA_DIR, or set DATABASE_URL for PostgreSQL`,
				),
				fail(migrated, missing, `run "${MIGRATE}"`),
			];
		}
	}
	const where = config.databaseUrl
		? new URL(config.databaseUrl).host + new URL(config.databaseUrl).pathname
		: `embedded (PGlite) in ${config.dataDir}`;
	let db;
	try {
		db = await connectDatabase(config);
		await db.query('SELECT 1');
	} catch (err) {
		await db?.close().catch(() => undefined);
		return [
			fail(
				reach,
				`${where}: ${err instanceof Error ? err.message : String(err)}`,
				'check DATABASE_URL (host, port, user, database name) and that PostgreSQL accepts connections from this host',
			),
			fail(migrated, 'not checked: the database does not answer', 'fix the database line first'),
		];
	}
	try {
		const table = await db.query<{ t: string | null }>(
			"SELECT to_regclass('schema_migrations')::text AS t",
		);
		const applied = table.rows[0].t
			? (
					await db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY id')
				).rows.map((r) => r.name)
			: [];
		const pending = files.filter((f) => !applied.includes(f));
		const unknown = applied.filter((f) => !files.includes(f));
		const checks = [ok(reach, `${where} answers`)];
		if (unknown.length) {
			checks.push(
				fail(
					migrated,
					`applied by a newer version of the package: ${unknown.join(', ')}`,
					'upgrade this package to the version the other replicas run',
				),
			);
		} else if (pending.length) {
			checks.push(
				fail(
					migrated,
					`${pending.length} of ${files.length} not applied: ${pending.join(', ')}`,
					`run "${MIGRATE}" (serve applies them too)`,
				),
			);
		} else {
			checks.push(ok(migrated, `all ${files.length} applied (last ${files.at(-1)})`));
		}
		return checks;
	} finally {
		await db.close();
	}
}
