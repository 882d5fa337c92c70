import { loadConfig, type Config } from '../config';
import { fail, type Check } from './checks/check';
import { checkDatabase } from './checks/database';
import { checkAllowedRoots } from './checks/roots';
import { checkClaude, checkGit, checkNode } from './checks/tools';
import { checkDeliveryRules, checkN8n, checkPublicUrl } from './checks/urls';

export interface DoctorOptions {
	n8nUrl?: string;
	claudePath?: string;
}

/** The service's own URL as this host reaches it: PUBLIC_URL if set, else HOST:PORT (0.0.0.0 reached on loopback). */
function serviceUrl(config: Config): string {
	if (config.publicUrl) return config.publicUrl;
	const host = ['0.0.0.0', '::'].includes(config.host) ? '127.0.0.1' : config.host;
	return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

export async function doctorChecks(opts: DoctorOptions): Promise<Check[]> {
	const checks: Check[] = [
		checkNode(),
		await checkClaude(opts.claudePath),
		await checkGit(),
		checkAllowedRoots(),
	];
	let config: Config;
	try {
		config = loadConfig();
	} catch (err) {
		checks.push(
			fail(
				'configuration',
				err instanceof Error ? err.message : String(err),
				'fix the variables named (see --help)',
			),
		);
		return checks;
	}
	const url = serviceUrl(config);
	checks.push(...(await checkDatabase(config, url)));
	checks.push(await checkPublicUrl(config));
	checks.push(await checkDeliveryRules(config, opts.n8nUrl));
	if (opts.n8nUrl) checks.push(await checkN8n(opts.n8nUrl, url));
	return checks;
}

const LABEL = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;

/** One line per check, its fix on the same line; exit code 1 when any failed. */
export async function runDoctor(opts: DoctorOptions): Promise<number> {
	const checks = await doctorChecks(opts);
	const width = Math.max(...checks.map((c) => c.name.length));
	for (const c of checks) {
		process.stdout.write(
			`${LABEL[c.status]}  ${c.name.padEnd(width)}  ${c.detail}${c.fix ? ` -> fix: ${c.fix}` : ''}\n`,
		);
	}
	const failed = checks.filter((c) => c.status === 'fail').length;
	process.stdout.write(
		failed ? `\n${failed} check${failed === 1 ? '' : 's'} failed\n` : '\nall checks passed\n',
	);
	return failed ? 1 : 0;
}
