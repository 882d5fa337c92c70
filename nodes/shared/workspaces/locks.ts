import { setTimeout as sleep } from 'node:timers/promises';

// git guards its repositories with lock files and fails (rather than waits) when one is taken. Work on
// one repository is therefore queued in-process, and what still collides with another process
// (another n8n worker, a user's own git) is retried for a few seconds.

const tails = new Map<string, Promise<unknown>>();

/** Runs `task` after every earlier task queued under the same key has settled. */
export async function withKeyLock<T>(key: string, task: () => Promise<T>): Promise<T> {
	const previous = tails.get(key) ?? Promise.resolve();
	const run = previous.then(task, task);
	const tail = run.then(
		() => undefined,
		() => undefined,
	);
	tails.set(key, tail);
	try {
		return await run;
	} finally {
		// Forget the key once nothing is queued behind us, so the map does not grow per repository forever.
		if (tails.get(key) === tail) tails.delete(key);
	}
}

const LOCK_MESSAGE =
	/index\.lock|\.lock': File exists|Unable to create '[^']*\.lock'|cannot lock ref|could not lock/i;

export function isGitLockError(error: unknown): boolean {
	return LOCK_MESSAGE.test(error instanceof Error ? error.message : String(error));
}

/** Retries `task` while it fails on a git lock file, with growing, jittered pauses (about 6 s in all). */
export async function retryWhileLocked<T>(task: () => Promise<T>, attempts = 10): Promise<T> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await task();
		} catch (error) {
			if (attempt >= attempts || !isGitLockError(error)) throw error;
			await sleep(Math.min(1000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2));
		}
	}
}
