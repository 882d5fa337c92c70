/**
 * Something a describe block (or a whole file) runs against: started before its tests, stopped after them. The
 * value stands for the running thing: every property is read from it when used, so a start that failed in
 * beforeAll says so at the first use instead of as an undefined property.
 */
export function startedForBlock<T extends { stop(): Promise<void> }>(
	start: () => Promise<T>,
	startTimeoutMs: number,
	what: string,
): T {
	let started: T | undefined;
	beforeAll(async () => {
		started = await start();
	}, startTimeoutMs);
	afterAll(async () => {
		await started?.stop();
	}, 120_000);
	return new Proxy({} as T, {
		get(_target, key) {
			if (!started) throw new Error(`${what} is not running (its start failed, see beforeAll)`);
			return Reflect.get(started, key);
		},
	});
}
