import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { logger } from '../logger';

/**
 * LISTEN on one dedicated PostgreSQL connection (a pooled one would be handed to other queries). A lost connection
 * is re-opened with backoff; `onReconnect` runs after each re-open so the caller can read what it missed.
 */
export async function listenPostgres(
	connectionString: string,
	channel: string,
	onNotify: (payload: string) => void,
	onReconnect?: () => void,
): Promise<() => Promise<void>> {
	if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
	let stopped = false;
	let client: Client | undefined;

	async function open(): Promise<Client> {
		const c = new Client({ connectionString, connectionTimeoutMillis: 5000 });
		c.on('notification', (n) => n.channel === channel && onNotify(n.payload ?? ''));
		c.on('error', (err) => logger.debug('listen connection lost', { error: err.message }));
		c.on('end', () => {
			if (stopped || client !== c) return;
			client = undefined;
			void reopen();
		});
		await c.connect();
		await c.query(`LISTEN ${channel}`);
		return c;
	}

	async function reopen() {
		for (let delay = 100; !stopped; delay = Math.min(delay * 2, 5000)) {
			await sleep(delay);
			if (stopped) return;
			try {
				const c = await open();
				if (stopped) {
					await c.end().catch(() => undefined);
					return;
				}
				client = c;
				logger.info('listen connection re-opened', { channel });
				onReconnect?.();
				return;
			} catch (err) {
				logger.debug('listen connection not re-opened yet', {
					error: err instanceof Error ? err.message : String(err),
				});
			}
		}
	}

	client = await open();
	return async () => {
		stopped = true;
		const c = client;
		client = undefined;
		await c?.end().catch(() => undefined);
	};
}
