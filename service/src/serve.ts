import { loadConfig } from './config';
import { logger } from './logger';
import { startService } from './service';

/**
 * Runs the service until SIGTERM or SIGINT, for `node dist/service/src/index.js` and the package's `serve`
 * command alike. Configuration errors and start-up failures end the process with a message, not a stack.
 */
export async function serve(): Promise<void> {
	const config = loadConfig();
	const service = await startService(config);
	process.stdout.write(
		`Claude Orchestrator service: ${service.url}  (dashboard: ${service.url}/, health: ${service.url}/api/v1/health)\n`,
	);
	let stopping = false;
	const stop = (signal: string) => {
		if (stopping) return;
		stopping = true;
		logger.info('shutting down', { signal });
		// Whatever happens in close(), the process ends within 10 s.
		setTimeout(() => process.exit(1), 10_000).unref();
		service.close().then(
			() => process.exit(0),
			(err) => {
				logger.error('shutdown failed', { error: String(err) });
				process.exit(1);
			},
		);
	};
	process.on('SIGTERM', () => stop('SIGTERM'));
	process.on('SIGINT', () => stop('SIGINT'));
}

export function failedToStart(err: unknown): never {
	process.stderr.write(
		`Claude Orchestrator service failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
	);
	process.exit(1);
}
