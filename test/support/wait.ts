// Waiting in tests and benchmarks: one clock (node:timers/promises) and one bounded polling loop. Every wait has a
// deadline; tests wait for what they need to see, never for a fixed time where an event can be watched.
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** Calls `check` every `everyMs` until it returns something truthy or `timeoutMs` passes; returns the last value. */
export async function waitUntil<T>(
	check: () => Promise<T> | T,
	timeoutMs: number,
	everyMs = 100,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let value = await check();
	while (!value && Date.now() < deadline) {
		await sleep(everyMs);
		value = await check();
	}
	return value;
}

/** `waitUntil` for a yes/no check: whether it held before `timeoutMs` passed. */
export async function waitFor(
	check: () => boolean | Promise<boolean>,
	timeoutMs: number,
	everyMs = 25,
): Promise<boolean> {
	return Boolean(await waitUntil(check, timeoutMs, everyMs));
}

/**
 * Calls `probe` until it returns a value (not undefined) or `timeoutMs` passes, then throws saying what it waited
 * for (and the probe's last error, if it threw).
 */
export async function pollUntil<T>(
	probe: () => Promise<T | undefined> | T | undefined,
	timeoutMs: number,
	what: string,
	everyMs = 250,
): Promise<T> {
	let lastError: unknown;
	const attempt = async () => {
		try {
			return { value: await probe() };
		} catch (error) {
			lastError = error;
			return undefined;
		}
	};
	const found = await waitUntil(
		async () => {
			const got = await attempt();
			return got && got.value !== undefined ? got : undefined;
		},
		timeoutMs,
		everyMs,
	);
	if (found) return found.value as T;
	const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
	throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
}
