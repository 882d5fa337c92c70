import fs from 'node:fs';

/** The pid of the claude process running this session, found by its --session-id argument. */
export function claudePidFor(sessionId: string): number | undefined {
	for (const entry of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
			const i = argv.indexOf('--session-id');
			if (i >= 0 && argv[i + 1] === sessionId) return Number(entry);
		} catch {
			// Gone while we looked.
		}
	}
	return undefined;
}

/** Whether any process of the group `pgid` (a process started detached leads its own group) still exists. */
export function groupAlive(pgid: number): boolean {
	try {
		process.kill(-pgid, 0);
		return true;
	} catch {
		return false;
	}
}
