import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { freePort } from '../../scripts/n8n/free-port';
import { sleep } from './wait';

// The service as its own process, for faults an in-process service cannot suffer (SIGKILL) and for measuring
// its memory. It is built from the current sources into a private temp folder (each file transpiled on its
// own, as ts-jest does; tsc -p tsconfig.json --noEmit checks the types), so a test never depends on whether
// someone rebuilt dist/ and never writes into the dist/ other engineers use.

const REPO = path.resolve(__dirname, '..', '..');
let built: string | undefined;

/** Transpiles service/src/index.ts and everything it imports (relative imports) into a temp folder. */
export function buildServiceEntry(): string {
	if (built && fs.existsSync(built)) return built;
	const out = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-service-build-'));
	const queue = [path.join(REPO, 'service', 'src', 'index.ts')];
	const seen = new Set<string>();
	while (queue.length) {
		const file = queue.pop()!;
		if (seen.has(file)) continue;
		seen.add(file);
		const source = fs.readFileSync(file, 'utf8');
		const js = ts.transpileModule(source, {
			fileName: file,
			compilerOptions: {
				module: ts.ModuleKind.CommonJS,
				target: ts.ScriptTarget.ES2022,
				esModuleInterop: true,
			},
		}).outputText;
		const target = path.join(out, path.relative(REPO, file)).replace(/\.ts$/, '.js');
		fs.mkdirSync(path.dirname(target), { recursive: true });
		fs.writeFileSync(target, js);
		for (const m of source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
			const base = path.resolve(path.dirname(file), m[1]);
			const resolved = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
			if (resolved) queue.push(resolved);
		}
	}
	// The migrator reads SQL files next to the compiled code (service/src/db → ../../migrations).
	fs.symlinkSync(path.join(REPO, 'service', 'migrations'), path.join(out, 'service', 'migrations'));
	built = path.join(out, 'service', 'src', 'index.js');
	return built;
}

export interface ServiceProcess {
	url: string;
	port: number;
	readonly pid: number | undefined;
	/** Everything the service wrote to stderr (its JSON log) and stdout, over every start. */
	output(): string;
	/** SIGKILL: no shutdown code runs, whatever was in memory is gone. Resolves once the process is gone. */
	kill9(): Promise<void>;
	/** Starts it again on the same port and database. */
	start(): Promise<void>;
	/** SIGTERM (graceful), bounded; SIGKILL if it does not go. */
	stop(): Promise<void>;
	/** Resident memory of the service process in KiB, read from /proc. */
	rssKb(): number | undefined;
}

export async function startServiceProcess(
	env: Record<string, string>,
	opts: { port?: number } = {},
): Promise<ServiceProcess> {
	const entry = buildServiceEntry();
	const port = opts.port ?? (await freePort());
	const url = `http://127.0.0.1:${port}`;
	let child: ChildProcess | undefined;
	let exited: Promise<void> = Promise.resolve();
	let log = '';

	const start = async () => {
		child = spawn(process.execPath, [entry], {
			env: {
				PATH: process.env.PATH ?? '/usr/bin:/bin',
				NODE_PATH: path.join(REPO, 'node_modules'),
				LOG_LEVEL: 'warn',
				...env,
				PORT: String(port),
				HOST: '127.0.0.1',
			},
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		const c = child;
		c.stdout!.setEncoding('utf8').on('data', (s: string) => (log += s));
		c.stderr!.setEncoding('utf8').on('data', (s: string) => (log += s));
		exited = new Promise((resolve) => c.once('exit', () => resolve()));
		// A guard against a start-up that hangs; a busy machine can take well over 30 s to start PGlite.
		const deadline = Date.now() + 180_000;
		while (Date.now() < deadline) {
			if (c.exitCode !== null || c.signalCode !== null)
				throw new Error(`service exited during start-up:\n${log.slice(-3000)}`);
			const ok = await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(1000) }).then(
				(r) => r.ok,
				() => false,
			);
			if (ok) return;
			await sleep(100);
		}
		c.kill('SIGKILL');
		throw new Error(`service did not become healthy within 180 s:\n${log.slice(-3000)}`);
	};

	const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
	await start();
	return {
		url,
		port,
		get pid() {
			return child?.pid;
		},
		output: () => log,
		async kill9() {
			if (alive()) child!.kill('SIGKILL');
			await exited;
		},
		start,
		async stop() {
			if (!alive()) return;
			child!.kill('SIGTERM');
			const gone = await Promise.race([
				exited.then(() => true),
				new Promise<boolean>((r) => setTimeout(() => r(false), 15_000)),
			]);
			if (!gone) {
				child!.kill('SIGKILL');
				await exited;
			}
		},
		rssKb() {
			if (!child?.pid) return undefined;
			try {
				const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
				return m ? Number(m[1]) : undefined;
			} catch {
				return undefined;
			}
		},
	};
}
