import { logger } from './logger';

/**
 * Work the service repeats in the background (lease and approval sweeps): every `everyMs` (0: never), one pass
 * at a time per process; a failed pass is logged and the next one tries again. stop() waits for a pass under way.
 */
export function periodicTask(what: string, everyMs: number, pass: () => Promise<unknown>) {
	let timer: NodeJS.Timeout | undefined;
	let running: Promise<unknown> | undefined;
	const tick = () => {
		running ??= pass()
			.catch((err) =>
				logger.warn(`${what} failed; will try again`, {
					error: err instanceof Error ? err.message : String(err),
				}),
			)
			.finally(() => (running = undefined));
	};
	return {
		start() {
			if (everyMs > 0) timer = setInterval(tick, everyMs).unref();
		},
		async stop() {
			clearInterval(timer);
			await running;
		},
	};
}
