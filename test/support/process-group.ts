/**
 * Whether a process group still has a member, asked with signal 0: stop tests wait for claude's group to be gone,
 * fakes for their own servers' groups.
 */
export function groupAlive(pgid: number): boolean {
	try {
		process.kill(-pgid, 0);
		return true;
	} catch {
		return false;
	}
}
