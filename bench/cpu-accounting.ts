// CPU time (user + system) of the processes a run involves, read from /proc: unlike wall time, it does not move
// with what else the machine is doing, so it says where the product's extra time goes even on a busy machine.
import fs from 'node:fs';

// Linux reports CPU time in clock ticks of USER_HZ, 100 a second on every architecture Node runs on here.
const TICK_MS = 10;

/** utime, stime, cutime, cstime of one process (ms), or undefined once it is gone. */
function stat(pid: number | 'self'): number[] | undefined {
	try {
		const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		// Fields after the command name (which may hold spaces), counted from field 3 (state).
		const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
		return [11, 12, 13, 14].map((i) => Number(fields[i]) * TICK_MS);
	} catch {
		return undefined;
	}
}

/** PostgreSQL backends connected to one database: their command line names it. */
function backendsOf(database: string): number[] {
	const pids: number[] = [];
	for (const entry of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
			if (cmd.startsWith('postgres: ') && cmd.includes(` ${database} `)) pids.push(Number(entry));
		} catch {
			// gone meanwhile
		}
	}
	return pids;
}

export interface CpuUse {
	/** This process: the runner (and the loopback fake API, on both sides alike). */
	runner: number;
	/** Children of this process that have ended and been reaped: the claude processes and what they ran. */
	claude: number;
	service: number;
	database: number;
}

export interface CpuSample extends Omit<CpuUse, 'database'> {
	/** Each backend's CPU so far, by pid. */
	backends: Map<number, number>;
}

/**
 * Reads the CPU time so far of the runner, its ended children, the service process and the database's backends
 * (none for PGlite: it runs inside the service). Subtract two samples for one run.
 */
export function cpuSample(servicePid: number | undefined, database: string | undefined): CpuSample {
	const self = stat('self') ?? [0, 0, 0, 0];
	const service = servicePid === undefined ? undefined : stat(servicePid);
	const backends = new Map<number, number>();
	if (database)
		for (const pid of backendsOf(database)) {
			const s = stat(pid);
			if (s) backends.set(pid, s[0] + s[1]);
		}
	return {
		runner: self[0] + self[1],
		claude: self[2] + self[3],
		service: service ? service[0] + service[1] : 0,
		backends,
	};
}

/**
 * CPU used between two samples. A backend opened in between counts from zero; one that closed in between takes its
 * time with it (the database figure is then a lower bound: the service's pool keeps its connections open).
 */
export function cpuUsed(before: CpuSample, after: CpuSample): CpuUse {
	let database = 0;
	for (const [pid, ms] of after.backends) database += ms - (before.backends.get(pid) ?? 0);
	return {
		runner: after.runner - before.runner,
		claude: after.claude - before.claude,
		service: after.service - before.service,
		database,
	};
}
