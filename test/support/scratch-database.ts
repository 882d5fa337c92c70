import crypto from 'node:crypto';
import { Client } from 'pg';

/**
 * A throwaway PostgreSQL database next to `adminUrl` (tests and benchmarks): created empty, dropped afterwards,
 * so suites never see each other's rows and nothing is left behind.
 */
export async function createScratchDatabase(
	adminUrl: string,
	prefix = 'orch_test',
): Promise<{ url: string; drop(): Promise<void> }> {
	const name = `${prefix}_${crypto.randomBytes(6).toString('hex')}`;
	const admin = new Client({ connectionString: adminUrl });
	await admin.connect();
	try {
		await admin.query(`CREATE DATABASE ${name}`);
	} finally {
		await admin.end();
	}
	const url = new URL(adminUrl);
	url.pathname = `/${name}`;
	return {
		url: url.toString(),
		async drop() {
			const c = new Client({ connectionString: adminUrl });
			await c.connect();
			try {
				await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
			} finally {
				await c.end();
			}
		},
	};
}
