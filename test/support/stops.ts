import * as fs from 'node:fs';

/**
 * What a test stack started, to stop in reverse order, and the temp folder it all lived in. `stop` runs every step
 * even when one fails (each failure is logged), then removes the folder.
 */
export function stopsFor(baseDir: string): {
	stops: Array<() => Promise<void>>;
	stop(): Promise<void>;
} {
	const stops: Array<() => Promise<void>> = [];
	const stop = async () => {
		for (const fn of stops.reverse())
			await fn().catch((e: unknown) => process.stderr.write(`e2e stop: ${String(e)}\n`));
		fs.rmSync(baseDir, { recursive: true, force: true });
	};
	return { stops, stop };
}
