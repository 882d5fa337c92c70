import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LogSink, spawnGroup, stopGroup, type SpawnedGroup } from '../../scripts/n8n/process-group';
import { sleep } from '../support/wait';

// The real HAProxy from the Debian package, run from deploy/haproxy.cfg with this test's addresses filled in.

export const TEMPLATE = path.resolve(__dirname, '..', '..', 'deploy', 'haproxy.cfg');

/** The haproxy binary on PATH (or in /usr/sbin, off a non-root PATH), or undefined when it is not installed. */
export function haproxyBinary(): string | undefined {
	const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'];
	return dirs.map((d) => path.join(d, 'haproxy')).find((f) => fs.existsSync(f));
}

/** The template with every "${NAME}" replaced; a name the test does not give is an error, not an empty string. */
export function renderConfig(vars: Record<string, string>): string {
	return fs.readFileSync(TEMPLATE, 'utf8').replace(/"?\$\{([A-Z0-9_]+)\}"?/g, (_, name: string) => {
		if (!(name in vars))
			throw new Error(`deploy/haproxy.cfg uses \${${name}}, which the test does not set`);
		return `"${vars[name]}"`;
	});
}

export interface StatRow {
	pxname: string;
	svname: string;
	status: string;
	wretr: number;
	wredis: number;
	hrsp_5xx: number;
	stot: number;
}

/** One request as HAProxy logged it (option httplog), with the time its line arrived here. */
export interface LoggedRequest {
	at: number;
	server: string;
	status: number;
	retries: number;
	redispatched: boolean;
	method: string;
	path: string;
}

// ... replicas/replica1 0/0/0/3/3 200 123 - - ---- 1/1/0/0/+1 0/0 "POST /api/v1/hooks HTTP/1.1"
const LINE =
	/\s\S+\/(\S+)\s\S+\s(\d{3})\s\S+\s\S+\s\S+\s\S+\s\d+\/\d+\/\d+\/\d+\/(\+?)(\d+)\s\d+\/\d+\s"(\S+)\s(\S+)/;

export interface Haproxy {
	url: string;
	requests: LoggedRequest[];
	stats(): Promise<StatRow[]>;
	server(name: string): Promise<StatRow | undefined>;
	log(): string;
	stop(): Promise<void>;
}

export async function startHaproxy(
	binary: string,
	dir: string,
	vars: { LB_BIND: string; LB_STATS_BIND: string } & Record<string, string>,
): Promise<Haproxy> {
	const file = path.join(dir, 'haproxy.cfg');
	fs.writeFileSync(file, renderConfig(vars));
	execFileSync(binary, ['-c', '-q', '-f', file], { stdio: 'pipe' });
	const sink = new LogSink(path.join(dir, 'haproxy.log'));
	const requests: LoggedRequest[] = [];
	let partial = '';
	const group: SpawnedGroup = spawnGroup(binary, ['-db', '-f', file], {
		cwd: dir,
		env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
		log: sink,
	});
	group.child.stdout?.on('data', (d: Buffer) => {
		const lines = (partial + d.toString()).split('\n');
		partial = lines.pop() ?? '';
		for (const line of lines) {
			const m = LINE.exec(line);
			if (!m) continue;
			requests.push({
				at: Date.now(),
				server: m[1],
				status: Number(m[2]),
				redispatched: m[3] === '+',
				retries: Number(m[4]),
				method: m[5],
				path: m[6],
			});
		}
	});
	const statsUrl = `http://${vars.LB_STATS_BIND}/stats;csv`;
	const stats = async (): Promise<StatRow[]> => {
		const text = await (await fetch(statsUrl, { signal: AbortSignal.timeout(5000) })).text();
		const [header, ...rows] = text.trim().split('\n');
		const cols = header.replace(/^# /, '').split(',');
		return rows.map((r) => {
			const v = r.split(',');
			const get = (c: string) => v[cols.indexOf(c)] ?? '';
			return {
				pxname: get('pxname'),
				svname: get('svname'),
				status: get('status'),
				wretr: Number(get('wretr') || 0),
				wredis: Number(get('wredis') || 0),
				hrsp_5xx: Number(get('hrsp_5xx') || 0),
				stot: Number(get('stot') || 0),
			};
		});
	};
	for (let i = 0; ; i++) {
		if (!group.isRunning()) throw new Error(`haproxy exited:\n${sink.tail()}`);
		const ok = await stats().then(
			() => true,
			() => false,
		);
		if (ok) break;
		if (i > 100) throw new Error(`haproxy's stats page did not answer:\n${sink.tail()}`);
		await sleep(100);
	}
	return {
		url: `http://${vars.LB_BIND}`,
		requests,
		stats,
		server: async (name) =>
			(await stats()).find((s) => s.pxname === 'replicas' && s.svname === name),
		log: () => sink.toString(),
		stop: () => stopGroup(group, 5000),
	};
}
