import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { NODE_ENV_HELP } from '../../service/src/cli/help';
import { SERVICE_ENV_VARS } from '../../service/src/config';
import { CLAUDE_ENV_VARS, N8N_ENV_VARS, POSTGRES_IMAGE_ENV_VARS } from './n8n-env-vars';

// No container engine runs here: these are the checks that need none. The compose file parses; every variable it
// sets is one its container reads; ports, service names and the load balancer's backends agree; each Dockerfile's
// COPY sources exist in the build context; the images are multi-stage, run unprivileged and install the package
// packed from this repository.

const REPO = path.resolve(__dirname, '..', '..');
const DEPLOY = path.join(REPO, 'deploy');

interface ComposeService {
	build?: { context: string; dockerfile: string };
	image?: string;
	command?: string[];
	entrypoint?: string[];
	environment?: Record<string, string>;
	ports?: string[];
	volumes?: string[];
	depends_on?: Record<string, { condition: string }>;
	healthcheck?: { test: string[] };
}

function loadCompose(): {
	services: Record<string, ComposeService>;
	volumes: Record<string, unknown>;
} {
	const doc = parseDocument(fs.readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8'), {
		merge: true,
	});
	if (doc.errors.length)
		throw new Error(
			`deploy/compose.yaml does not parse: ${doc.errors.map((e) => e.message).join('; ')}`,
		);
	return doc.toJS({ maxAliasCount: 100 });
}

/** Compose interpolation with its defaults: ${X:-d} → d, ${X:?msg} → a placeholder, ${X} → ''. */
function value(raw: string | number | boolean | undefined): string {
	return String(raw ?? '').replace(
		/\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}/g,
		(_, name: string, op?: string, arg?: string) =>
			op === '-' ? (arg ?? '') : op === '?' ? `<${name}>` : '',
	);
}

interface Dockerfile {
	stages: Array<{ name?: string; from: string; lines: string[] }>;
}

function readDockerfile(file: string): Dockerfile {
	const text = fs.readFileSync(path.join(REPO, file), 'utf8').replace(/\\\n/g, ' ');
	const stages: Dockerfile['stages'] = [];
	for (const line of text
		.split('\n')
		.map((l) => l.trim())
		.filter((l) => l && !l.startsWith('#'))) {
		const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
		if (from) stages.push({ from: from[1], name: from[2], lines: [] });
		else stages.at(-1)?.lines.push(line);
	}
	return { stages };
}

const words = (line: string) => line.split(/\s+/).slice(1);
const envKeys = (lines: string[]) =>
	lines
		.filter((l) => /^ENV\s/i.test(l))
		.flatMap((l) => [...l.slice(4).matchAll(/([A-Z_][A-Z0-9_]*)=/g)].map((m) => m[1]));

const compose = loadCompose();
const services = compose.services;
const env = (name: string) => services[name]?.environment ?? {};
const byDockerfile = (dockerfile: string) =>
	Object.keys(services).filter((n) => services[n].build?.dockerfile === dockerfile);
const SERVICE_IMAGE = byDockerfile('deploy/service.Dockerfile');
const N8N_IMAGE = byDockerfile('docker/n8n.Dockerfile');
const INIT_VARS = [
	...fs
		.readFileSync(path.join(DEPLOY, 'n8n-init.js'), 'utf8')
		.matchAll(/(?:env\(|process\.env\.)'?([A-Z][A-Z0-9_]+)/g),
].map((m) => m[1]);
const HAPROXY_CFG = fs.readFileSync(path.join(DEPLOY, 'haproxy.cfg'), 'utf8');
const HAPROXY_VARS = [
	...new Set([...HAPROXY_CFG.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1])),
];

describe('deploy/compose.yaml, checked without a container engine', () => {
	it('has the stack the deployment needs', () => {
		expect(SERVICE_IMAGE.sort()).toEqual(['migrate', 'service-1', 'service-2']);
		expect(N8N_IMAGE.sort()).toEqual(['n8n', 'n8n-init', 'n8n-worker']);
		expect(Object.keys(services).sort()).toEqual([
			'lb',
			'migrate',
			'n8n',
			'n8n-init',
			'n8n-worker',
			'postgres',
			'redis',
			'service-1',
			'service-2',
		]);
		expect(services.postgres.image).toMatch(/^postgres:\d+/);
		expect(services.redis.image).toMatch(/^redis:\d+/);
		expect(services.lb.image).toMatch(/^haproxy:2\.\d+/);
	});

	it('sets only variables that its containers read', () => {
		const allowed: Record<string, string[]> = {};
		for (const s of SERVICE_IMAGE) allowed[s] = [...SERVICE_ENV_VARS];
		for (const s of N8N_IMAGE)
			allowed[s] = [
				...Object.keys(N8N_ENV_VARS),
				...Object.keys(NODE_ENV_HELP),
				...CLAUDE_ENV_VARS,
				...(s === 'n8n-init' ? INIT_VARS : []),
			];
		allowed.lb = HAPROXY_VARS;
		allowed.postgres = POSTGRES_IMAGE_ENV_VARS;
		allowed.redis = [];
		for (const [name, svc] of Object.entries(services)) {
			expect([
				name,
				Object.keys(svc.environment ?? {}).filter((k) => !allowed[name]?.includes(k)),
			]).toEqual([name, []]);
		}
		// The load balancer gets every variable its configuration uses.
		expect(Object.keys(env('lb')).sort()).toEqual([...HAPROXY_VARS].sort());
		// And the init script every one it needs (those without a default in the script).
		expect(Object.keys(env('n8n-init'))).toEqual(
			expect.arrayContaining(['ORCH_SERVICE_URL', 'ORCH_API_KEY']),
		);
	});

	it('names only variables that n8n itself reads (when the n8n install is present)', () => {
		const cache =
			process.env.N8N_CACHE_DIR ||
			path.join(os.homedir(), '.cache', 'n8n-nodes-claude-orchestrator');
		const install = fs.existsSync(cache)
			? fs.readdirSync(cache).find((d) => /^n8n-[\d.]+-node\d+$/.test(d))
			: undefined;
		const modules = install && path.join(cache, install, 'node_modules');
		if (!modules || !fs.existsSync(path.join(modules, 'n8n', 'dist'))) {
			process.stderr.write(
				`[deploy] no n8n install in ${cache} (node scripts/n8n-cache.js makes it): n8n's own variable names not checked\n`,
			);
			return;
		}
		const names = Object.keys(N8N_ENV_VARS);
		const found = execFileSync(
			'grep',
			[
				'-rhoF',
				'--include=*.js',
				...names.flatMap((n) => ['-e', n]),
				path.join(modules, 'n8n', 'dist'),
				path.join(modules, '@n8n', 'config', 'dist'),
			],
			{ encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
		);
		const seen = new Set(found.split('\n'));
		expect(names.filter((n) => !seen.has(n))).toEqual([]);
	});

	it('wires ports, service names and the load balancer backends consistently', () => {
		// Every replica is a backend of the load balancer and nothing else is; each backend's port is its PORT.
		const replicas = SERVICE_IMAGE.filter((s) => services[s].command?.[0] !== 'migrate');
		expect(replicas.length).toBeGreaterThanOrEqual(2);
		const backends = Object.entries(env('lb'))
			.filter(([k]) => /^REPLICA_\d+$/.test(k))
			.map(([, v]) => value(v));
		expect(backends.map((b) => b.split(':')[0]).sort()).toEqual(replicas.sort());
		for (const b of backends) {
			const [host, port] = b.split(':');
			expect(value(env(host).PORT)).toBe(port);
			expect(value(env(host).HOST)).toBe('0.0.0.0');
		}
		// deploy/haproxy.cfg has one server line per REPLICA_n the load balancer is given.
		const servers = [
			...HAPROXY_CFG.matchAll(/^\s*server\s+\S+\s+"\$\{(REPLICA_\d+)\}"\s+check/gm),
		].map((m) => m[1]);
		expect(servers.sort()).toEqual(
			Object.keys(env('lb'))
				.filter((k) => k.startsWith('REPLICA_'))
				.sort(),
		);
		expect(HAPROXY_CFG).toMatch(/http-check send meth GET uri \/api\/v1\/health/);
		expect(HAPROXY_CFG).toMatch(/option redispatch/);
		expect(HAPROXY_CFG).toMatch(/retry-on conn-failure/);

		// The load balancer listens where PUBLIC_URL and the n8n credential point, and publishes that port.
		const lbPort = value(env('lb').LB_BIND).split(':').at(-1)!;
		for (const s of replicas)
			expect(new URL(value(env(s).PUBLIC_URL))).toMatchObject({ hostname: 'lb', port: lbPort });
		expect(new URL(value(env('n8n-init').ORCH_SERVICE_URL))).toMatchObject({
			hostname: 'lb',
			port: lbPort,
		});
		expect(services.lb.ports?.map((p) => p.split(':').at(-1))).toEqual(
			expect.arrayContaining([lbPort, value(env('lb').LB_STATS_BIND).split(':').at(-1)]),
		);

		// The service's database is on the postgres service, in a database its init script creates.
		for (const s of SERVICE_IMAGE) {
			const db = new URL(value(env(s).DATABASE_URL));
			expect(db.hostname).toBe('postgres');
			expect(fs.readFileSync(path.join(DEPLOY, 'postgres-init.sql'), 'utf8')).toContain(
				`CREATE DATABASE ${db.pathname.slice(1)};`,
			);
			expect(decodeURIComponent(db.password)).toBe(value(env('postgres').POSTGRES_PASSWORD));
		}
		// n8n: the same PostgreSQL server (its own database), the redis service, its port published.
		for (const s of N8N_IMAGE) {
			expect(value(env(s).DB_POSTGRESDB_HOST)).toBe('postgres');
			expect(value(env(s).DB_POSTGRESDB_DATABASE)).toBe(value(env('postgres').POSTGRES_DB));
			expect(value(env(s).DB_POSTGRESDB_PASSWORD)).toBe(value(env('postgres').POSTGRES_PASSWORD));
			expect(services[value(env(s).QUEUE_BULL_REDIS_HOST)]?.image).toMatch(/^redis:/);
		}
		const n8nPort = value(env('n8n').N8N_PORT);
		expect(services.n8n.ports?.map((p) => p.split(':').at(-1))).toContain(n8nPort);
		// Hook Trigger deliveries go to n8n's webhook URL, which the replicas may deliver to.
		const webhook = new URL(value(env('n8n').N8N_WEBHOOK_URL));
		expect(services[webhook.hostname]).toBe(services.n8n);
		expect(webhook.port).toBe(n8nPort);
		for (const s of replicas)
			expect(value(env(s).DELIVERY_ALLOWED_HOSTS).split(',')).toContain(webhook.hostname);
	});

	it('runs n8n in queue mode: main and a worker with one key, one database, one shared workspace', () => {
		const main = env('n8n');
		const worker = env('n8n-worker');
		expect(services['n8n-worker'].command?.[0]).toBe('worker');
		for (const e of [main, worker]) {
			expect(e.EXECUTIONS_MODE).toBe('queue');
			expect(e.N8N_UNVERIFIED_PACKAGES_ENABLED).toBe('true');
			expect(e.OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS).toBe('true');
			expect(e.DB_TYPE).toBe('postgresdb');
		}
		expect(worker.N8N_ENCRYPTION_KEY).toBe(main.N8N_ENCRYPTION_KEY);
		expect(main.N8N_ENCRYPTION_KEY).toMatch(/^\$\{N8N_ENCRYPTION_KEY:\?/);
		// The workspace volume is mounted at the same place on main and worker, and the session folders are in it.
		const mount = (s: string) => services[s].volumes?.find((v) => v.startsWith('workspace:'));
		expect(mount('n8n')).toBeDefined();
		expect(mount('n8n-worker')).toBe(mount('n8n'));
		const at = mount('n8n')!.split(':')[1];
		for (const k of [
			'CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS',
			'CLAUDE_ORCHESTRATOR_WORKSPACES_DIR',
			'CLAUDE_ORCHESTRATOR_CACHE_DIR',
		]) {
			expect(value(worker[k]).startsWith(`${at}/`)).toBe(true);
		}
		// The credential and templates are loaded by the init container once n8n is up, from the repository's workflows.
		expect(services['n8n-init'].entrypoint).toEqual(['node', '/init/n8n-init.js']);
		expect(services['n8n-init'].depends_on?.n8n.condition).toBe('service_healthy');
		expect(services['n8n-init'].volumes).toEqual(
			expect.arrayContaining(['../workflows:/templates:ro']),
		);
		expect(value(env('n8n-init').N8N_TEMPLATES_DIR)).toBe('/templates');
		expect(
			fs.readdirSync(path.join(REPO, 'workflows')).filter((f) => f.endsWith('.json')).length,
		).toBeGreaterThan(0);
		// Migrations run once before the replicas start.
		for (const s of SERVICE_IMAGE.filter((n) => n !== 'migrate'))
			expect(services[s].depends_on?.migrate.condition).toBe('service_completed_successfully');
	});

	it('refers only to things that exist: services, volumes, files, build contexts', () => {
		const declared = Object.keys(compose.volumes ?? {});
		for (const [name, svc] of Object.entries(services)) {
			for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
				expect([name, dep, dep in services]).toEqual([name, dep, true]);
				if (condition === 'service_healthy') {
					const image = services[dep].build?.dockerfile;
					const hasCheck =
						Boolean(services[dep].healthcheck) ||
						(image !== undefined &&
							fs.readFileSync(path.join(REPO, image), 'utf8').includes('HEALTHCHECK'));
					expect([dep, hasCheck]).toEqual([dep, true]);
				}
			}
			for (const v of svc.volumes ?? []) {
				const source = v.split(':')[0];
				if (source.startsWith('.') || source.startsWith('/'))
					expect([v, fs.existsSync(path.resolve(DEPLOY, source))]).toEqual([v, true]);
				else expect(declared).toContain(source);
			}
			if (svc.build) {
				expect(path.resolve(DEPLOY, svc.build.context)).toBe(REPO);
				expect(fs.existsSync(path.join(REPO, svc.build.dockerfile))).toBe(true);
			}
		}
	});
});

describe.each(['deploy/service.Dockerfile', 'docker/n8n.Dockerfile'])(
	'%s, checked without a container engine',
	(file) => {
		const { stages } = readDockerfile(file);

		it('is multi-stage and every COPY source exists', () => {
			expect(stages.length).toBeGreaterThanOrEqual(2);
			const names = new Set<string>();
			for (const stage of stages) {
				for (const line of stage.lines.filter((l) => /^COPY\s/i.test(l))) {
					const args = words(line);
					const from = args.find((a) => a.startsWith('--from='))?.slice('--from='.length);
					const paths = args.filter((a) => !a.startsWith('--'));
					const sources = paths.slice(0, -1);
					expect(sources.length).toBeGreaterThan(0);
					if (from) {
						expect([line, names.has(from)]).toEqual([line, true]);
						continue;
					}
					for (const src of sources)
						expect([src, fs.existsSync(path.join(REPO, src))]).toEqual([src, true]);
				}
				if (stage.name) names.add(stage.name);
			}
		});

		it('builds the package from this repository and installs its packed tarball', () => {
			const build = stages[0];
			const copied = build.lines
				.filter((l) => /^COPY\s/i.test(l))
				.flatMap((l) => words(l).slice(0, -1));
			// Every folder the published files are built from is in the build context copy.
			const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
				files: string[];
			};
			for (const f of pkg.files) expect(copied).toContain(f.replace(/^dist\//, ''));
			expect(build.lines.join('\n')).toMatch(/npm run build && .*npm pack/);
			const final = stages.at(-1)!;
			const run = final.lines.filter((l) => /^RUN\s/i.test(l)).join('\n');
			expect(run).toMatch(/npm install [^\n]*\/tmp\/package\.tgz/);
			// Never the registry's version of this package.
			expect(run).not.toMatch(/npm install[^\n]* n8n-nodes-claude-orchestrator(\s|$)/);
		});

		it('runs unprivileged and sets only variables its programs read', () => {
			const final = stages.at(-1)!;
			const users = final.lines.filter((l) => /^USER\s/i.test(l)).map((l) => words(l)[0]);
			expect(users.at(-1)).toBe('node');
			const keys = envKeys(final.lines);
			const allowed = file.startsWith('deploy/service')
				? [...SERVICE_ENV_VARS, 'NODE_ENV']
				: Object.keys(NODE_ENV_HELP);
			expect(keys.filter((k) => !allowed.includes(k))).toEqual([]);
			if (file.startsWith('deploy/service')) {
				expect(final.lines.some((l) => /^HEALTHCHECK\s.*\/api\/v1\/health/i.test(l))).toBe(true);
				expect(
					final.lines.some((l) => /^ENTRYPOINT\s.*n8n-nodes-claude-orchestrator/i.test(l)),
				).toBe(true);
			}
		});
	},
);
