import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/n8n/free-port';
import { sleep } from './wait';

// A PostgreSQL cluster of its own for a fault test: the machine's shared server is used by other suites at the
// same time, so it must never be restarted. This one lives in a temp folder, listens on a free loopback port and
// a private socket folder, runs without fsync (nothing here needs to survive a power cut), and is deleted after.

export interface PrivatePostgres {
	/** postgres://postgres@127.0.0.1:<port>/postgres */
	url: string;
	port: number;
	/** Fast shutdown (open connections are cut, as in a failover), `downMs` with nothing listening, then start. */
	restart(downMs?: number): Promise<{ stoppedAt: number; startedAt: number }>;
	stop(): Promise<void>;
	start(): Promise<void>;
	/** Stops the server if it runs and removes the folder. */
	destroy(): Promise<void>;
}

/** The newest installed server's bin folder holding initdb and pg_ctl, or undefined. */
export function postgresBinDir(): string | undefined {
	const base = '/usr/lib/postgresql';
	if (!fs.existsSync(base)) return undefined;
	const versions = fs
		.readdirSync(base)
		.filter((v) => /^\d+$/.test(v))
		.sort((a, b) => Number(b) - Number(a));
	for (const v of versions) {
		const bin = path.join(base, v, 'bin');
		if (['initdb', 'pg_ctl', 'postgres'].every((b) => fs.existsSync(path.join(bin, b)))) return bin;
	}
	return undefined;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
	const bin = postgresBinDir();
	if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/*/bin');
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-private-pg-'));
	const data = path.join(dir, 'data');
	// initdb refuses to run as root: as root, the cluster belongs to the postgres user and is run through runuser.
	const asRoot = process.getuid?.() === 0;
	if (asRoot) {
		const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
		const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
		fs.chownSync(dir, uid, gid);
	}
	const run = (cmd: string, args: string[], timeoutMs = 60_000) =>
		new Promise<string>((resolve, reject) => {
			const [file, argv] = asRoot
				? ['runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]]
				: [path.join(bin, cmd), args];
			execFile(file, argv, { timeout: timeoutMs, cwd: dir }, (err, stdout, stderr) =>
				err
					? reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`))
					: resolve(stdout),
			);
		});

	const port = await freePort();
	await run('initdb', [
		'-D',
		data,
		'-U',
		'postgres',
		'--auth=trust',
		'-E',
		'UTF8',
		'--no-sync',
		'--no-instructions',
	]);
	const serverOptions = `-F -c fsync=off -c full_page_writes=off -p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=200`;
	const logFile = path.join(dir, 'server.log');
	const start = async () => {
		await run('pg_ctl', [
			'-D',
			data,
			'-o',
			serverOptions,
			'-l',
			logFile,
			'-w',
			'-t',
			'60',
			'start',
		]);
	};
	const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
		await run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
	};
	const running = () => fs.existsSync(path.join(data, 'postmaster.pid'));
	await start();
	return {
		url: `postgres://postgres@127.0.0.1:${port}/postgres`,
		port,
		async restart(downMs = 0) {
			await stop('fast');
			const stoppedAt = Date.now();
			await sleep(downMs);
			await start();
			return { stoppedAt, startedAt: Date.now() };
		},
		stop: () => stop('fast'),
		start,
		async destroy() {
			if (running()) await stop('immediate').catch(() => undefined);
			fs.rmSync(dir, { recursive: true, force: true });
		},
	};
}
