import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/n8n/free-port';
import { LogSink, spawnGroup, stopGroup } from '../../scripts/n8n/process-group';
import { sleep } from '../support/wait';

// What a team does with the published package: `npm pack` of this checkout (its built dist/), installed with npm
// into an empty folder, then the package's own command. Nothing here reads the repository's sources at run time.

const REPO = path.resolve(__dirname, '..', '..');
const BIN = 'n8n-nodes-claude-orchestrator';
const PACKAGE = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
	bin: Record<string, string>;
	n8n: { nodes: string[]; credentials: string[] };
};

/** This process's environment without the service's own variables, so a developer's shell cannot leak into a check. */
function baseEnv(): Record<string, string> {
	const env = { ...(process.env as Record<string, string>) };
	for (const k of [
		'DATABASE_URL',
		'PUBLIC_URL',
		'API_KEY',
		'DATA_DIR',
		'PORT',
		'HOST',
		'DELIVERY_ALLOWED_HOSTS',
		'CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS',
	])
		delete env[k];
	return env;
}

function exec(
	cmd: string,
	args: string[],
	opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
) {
	return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
		execFile(
			cmd,
			args,
			{
				cwd: opts.cwd,
				env: opts.env ?? baseEnv(),
				timeout: opts.timeoutMs ?? 120_000,
				maxBuffer: 64 * 1024 * 1024,
			},
			(err, stdout, stderr) =>
				resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
		);
	});
}

describe('the packed package, installed with npm in an empty folder', () => {
	let dir: string;
	let app: string;
	let files: string[];

	beforeAll(async () => {
		if (!fs.existsSync(path.join(REPO, PACKAGE.bin[BIN])))
			throw new Error(`${PACKAGE.bin[BIN]} is missing: run npm run build first`);
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-pack-'));
		const packed = await exec('npm', ['pack', '--json', '--pack-destination', dir], { cwd: REPO });
		expect(packed.code).toBe(0);
		const [info] = JSON.parse(packed.stdout) as Array<{
			filename: string;
			files: Array<{ path: string }>;
		}>;
		files = info.files.map((f) => f.path).sort();
		app = path.join(dir, 'app');
		fs.mkdirSync(app);
		fs.writeFileSync(path.join(app, 'package.json'), '{"name":"deploy-check","private":true}\n');
		// As the README installs it into n8n: n8n brings its own n8n-workflow (the peer dependency).
		const installed = await exec(
			'npm',
			[
				'install',
				'--no-audit',
				'--no-fund',
				'--prefer-offline',
				'--legacy-peer-deps',
				path.join(dir, info.filename),
			],
			{ cwd: app, timeoutMs: 300_000 },
		);
		if (installed.code !== 0)
			throw new Error(`npm install of the tarball failed:\n${installed.stderr.slice(-3000)}`);
	}, 360_000);
	afterAll(() => {
		if (dir) fs.rmSync(dir, { recursive: true, force: true });
	});

	it('holds what the package needs and nothing else', () => {
		const migrations = fs
			.readdirSync(path.join(REPO, 'service', 'migrations'))
			.filter((f) => f.endsWith('.sql'));
		for (const needed of [
			'package.json',
			'README.md',
			PACKAGE.bin[BIN],
			...PACKAGE.n8n.nodes,
			...PACKAGE.n8n.credentials,
			...migrations.map((m) => `dist/service/migrations/${m}`),
			'dist/dashboard/index.html',
			'dist/dashboard/app.js',
			'dist/service/src/index.js',
			PACKAGE.bin[BIN],
		]) {
			expect(files).toContain(needed);
		}
		const allowed =
			/^(package\.json|README\.md|LICENSE|dist\/(nodes|credentials|service|cli|dashboard|icons)\/.+)$/;
		expect(files.filter((f) => !allowed.test(f))).toEqual([]);
		// No benchmarks, no test code or fakes, no source maps of tests.
		expect(
			files.filter(
				(f) =>
					/(^|\/)(bench|test|tests|__tests__|fakes|fixtures)\//.test(f) ||
					/\.test\.(js|ts|map)|\.test\.js\.map$/.test(f),
			),
		).toEqual([]);
		expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
	});

	it('--help lists the commands and every variable the service reads', async () => {
		const { code, stdout } = await exec('npx', ['--no-install', BIN, '--help'], { cwd: app });
		expect(code).toBe(0);
		for (const command of ['serve', 'migrate', 'doctor', '--n8n-url', 'cleanup-worktrees'])
			expect(stdout).toContain(command);
		// The list of variables comes from the installed package's own config module.
		const { SERVICE_ENV_VARS } = (await import(
			path.join(app, 'node_modules', BIN, 'dist', 'service', 'src', 'config.js')
		)) as { SERVICE_ENV_VARS: string[] };
		expect(SERVICE_ENV_VARS).toEqual(
			expect.arrayContaining([
				'PORT',
				'DATABASE_URL',
				'API_KEY',
				'PUBLIC_URL',
				'DELIVERY_ALLOWED_HOSTS',
				'LOG_LEVEL',
			]),
		);
		for (const name of SERVICE_ENV_VARS) expect(stdout).toMatch(new RegExp(`^\\s+${name}\\s`, 'm'));
		expect(stdout).toContain('CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS');
		const bad = await exec('npx', ['--no-install', BIN, 'serv'], { cwd: app });
		expect(bad.code).toBe(2);
		expect(bad.stderr).toContain('unknown command "serv"');
	});

	it('serve runs the service on the embedded database; migrate and doctor work from the same folder', async () => {
		const dataDir = path.join(app, 'data');
		const port = await freePort();
		const env: Record<string, string> = {
			...baseEnv(),
			PORT: String(port),
			DATA_DIR: dataDir,
			LOG_LEVEL: 'warn',
		};

		// A fresh folder: migrate creates the embedded database and applies every migration, then exits.
		const migrated = await exec('npx', ['--no-install', BIN, 'migrate'], { cwd: app, env });
		expect(migrated.code).toBe(0);
		expect(migrated.stdout).toMatch(
			/^applied \d+ migrations; embedded database in .* is at \d+ \(\d{3}_[a-z0-9-]+\.sql\)$/m,
		);
		const again = await exec('npx', ['--no-install', BIN, 'migrate'], { cwd: app, env });
		expect(again.stdout).toMatch(/^nothing to apply; /);

		const log = new LogSink(path.join(dir, 'serve.log'));
		const served = spawnGroup('npx', ['--no-install', BIN, 'serve'], { cwd: app, env, log });
		try {
			const url = `http://127.0.0.1:${port}`;
			let health: { status?: string; database?: string } = {};
			for (let i = 0; i < 300 && health.status !== 'ok'; i++) {
				if (!served.isRunning()) throw new Error(`serve exited:\n${log.tail()}`);
				health = await fetch(`${url}/api/v1/health`).then(
					(r) => r.json() as Promise<typeof health>,
					() => ({}),
				);
				if (health.status !== 'ok') await sleep(100);
			}
			expect(health).toMatchObject({ status: 'ok', database: 'pglite' });
			// The dashboard's built files came with the package.
			const page = await fetch(`${url}/`);
			expect(page.status).toBe(200);
			expect(await page.text()).toContain('<html');
			// The generated key (printed once, stored in DATA_DIR) opens the API.
			const apiKey = fs.readFileSync(path.join(dataDir, 'api-key'), 'utf8').trim();
			expect(log.toString()).toContain(apiKey);
			const sessions = await fetch(`${url}/api/v1/sessions`, {
				headers: { authorization: `Bearer ${apiKey}` },
			});
			expect(sessions.status).toBe(200);

			// doctor while the service runs: every check on its own line; the allowed root is missing on purpose.
			const missingRoot = path.join(dir, 'no-such-projects');
			const claudeDir = path.join(REPO, 'node_modules', '@anthropic-ai', 'claude-code-linux-x64');
			const doctor = await exec(
				'npx',
				['--no-install', BIN, 'doctor', '--n8n-url', url.replace('127.0.0.1', 'localhost')],
				{
					cwd: app,
					env: {
						...env,
						PATH: `${process.env.PATH}${path.delimiter}${claudeDir}`,
						CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS: missingRoot,
						PUBLIC_URL: url,
						DELIVERY_ALLOWED_HOSTS: 'localhost',
					},
				},
			);
			process.stderr.write(`[deploy] doctor:\n${doctor.stdout}`);
			expect(doctor.code).toBe(1);
			const lines = doctor.stdout.split('\n').filter((l) => /^(ok|warn|FAIL)\s/.test(l));
			const byName = (name: string) =>
				lines.find((l) => new RegExp(`^(ok|warn|FAIL)\\s+${name}\\s`).test(l)) ??
				`(no ${name} line)`;
			expect(byName('node')).toMatch(/^ok/);
			expect(byName('claude CLI')).toMatch(
				/^(ok|warn)\s+claude CLI\s+2\.1\.\d+ \(Claude Code\) at .*native binary/,
			);
			expect(byName('git')).toMatch(/^ok\s+git\s+git version/);
			expect(byName('allowed roots')).toBe(
				`FAIL  allowed roots   ${missingRoot} does not exist (from CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS) -> fix: mkdir -p ${missingRoot} ` +
					'(owned by the user n8n runs as), or list an existing folder in CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS',
			);
			expect(byName('database')).toMatch(/^ok\s+database\s+embedded \(PGlite\).*health ok/);
			expect(byName('migrations')).toMatch(/^ok\s+migrations/);
			expect(byName('PUBLIC_URL')).toMatch(
				/^warn\s+PUBLIC_URL\s+.*answers, but it is a loopback address -> fix: /,
			);
			expect(byName('delivery hosts')).toMatch(
				/^ok\s+delivery hosts\s+only localhost: n8n at localhost is allowed/,
			);
			// --n8n-url points at the service itself here: it has no /healthz, so that check fails and says what to do.
			expect(byName('n8n')).toMatch(/^FAIL\s+n8n\s+.*\/healthz answered 404 -> fix: start n8n/);
			expect(lines).toHaveLength(9);
			expect(doctor.stdout).toContain('2 checks failed');

			// With everything in place, doctor passes and exits 0.
			fs.mkdirSync(missingRoot);
			const healthy = await exec('npx', ['--no-install', BIN, 'doctor'], {
				cwd: app,
				env: {
					...env,
					PATH: `${process.env.PATH}${path.delimiter}${claudeDir}`,
					CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS: missingRoot,
				},
			});
			expect(healthy.stdout).toContain('all checks passed');
			expect(healthy.code).toBe(0);
		} finally {
			await stopGroup(served, 10_000);
		}
	}, 180_000);

	it('doctor says what is wrong with PostgreSQL: unreachable, then not migrated', async () => {
		if (!process.env.TEST_DATABASE_URL) return;
		const env = {
			...baseEnv(),
			LOG_LEVEL: 'warn',
			DATA_DIR: path.join(app, 'pg-data'),
			CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS: app,
		};
		const closed = await freePort();
		const down = await exec('npx', ['--no-install', BIN, 'doctor'], {
			cwd: app,
			env: { ...env, DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/x` },
		});
		expect(down.code).toBe(1);
		expect(down.stdout).toMatch(
			/^FAIL\s+database\s+127\.0\.0\.1:\d+\/x: .* -> fix: check DATABASE_URL/m,
		);
		const { createScratchDatabase } = await import('../support/scratch-database');
		const scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL);
		try {
			const fresh = await exec('npx', ['--no-install', BIN, 'doctor'], {
				cwd: app,
				env: { ...env, DATABASE_URL: scratch.url },
			});
			expect(fresh.stdout).toMatch(/^ok\s+database\s+.* answers$/m);
			expect(fresh.stdout).toMatch(
				/^FAIL\s+migrations\s+\d+ of \d+ not applied: 001_create-core-tables\.sql.* -> fix: run "npx n8n-nodes-claude-orchestrator migrate"/m,
			);
			expect(
				(
					await exec('npx', ['--no-install', BIN, 'migrate'], {
						cwd: app,
						env: { ...env, DATABASE_URL: scratch.url },
					})
				).code,
			).toBe(0);
			const done = await exec('npx', ['--no-install', BIN, 'doctor'], {
				cwd: app,
				env: { ...env, DATABASE_URL: scratch.url },
			});
			expect(done.stdout).toMatch(/^ok\s+migrations\s+all \d+ applied/m);
		} finally {
			await scratch.drop();
		}
	}, 120_000);
});
