import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { createApp, DASHBOARD_DIR } from './app';
import { createApprovals } from './approvals';
import { createBudgets } from './budgets';
import type { Config } from './config';
import { openDatabase, type Database } from './db';
import { createDeliveries } from './deliveries';
import { createDeliveryWindowPruner } from './deliveries/deliveries.repository';
import { KnownSubscriptions } from './deliveries/outbox';
import { HookIngestor } from './hooks/hook-ingestor';
import { createAuth } from './http/auth';
import { logger } from './logger';
import { readHookTokenState } from './sessions/sessions.repository';
import { Metrics } from './metrics/metrics';
import { createLeaseSweep } from './sessions/lease-sweep';
import { createEventKeyPruner } from './event-keys/event-keys.repository';
import { RunSignals } from './sessions/run-signals';
import { ChangeFeed } from './stream/change-feed';

export interface RunningService {
	url: string;
	apiKey: string;
	db: Database;
	/** The Express app behind the hook fast path (its router lists every route). */
	app: Express;
	server: http.Server;
	/** Stops accepting, drains queued hook events, closes the database. */
	close(): Promise<void>;
}

/** API_KEY from the environment, or one generated on first start and kept in DATA_DIR. */
export function resolveApiKey(config: Config): { apiKey: string; generated: boolean } {
	if (config.apiKey) return { apiKey: config.apiKey, generated: false };
	const file = path.join(config.dataDir, 'api-key');
	if (fs.existsSync(file))
		return { apiKey: fs.readFileSync(file, 'utf8').trim(), generated: false };
	fs.mkdirSync(config.dataDir, { recursive: true });
	const apiKey = `co_${crypto.randomBytes(24).toString('base64url')}`;
	fs.writeFileSync(file, apiKey + '\n', { mode: 0o600 });
	return { apiKey, generated: true };
}

export async function startService(
	config: Config,
	opts: { db?: Database; now?: () => Date } = {},
): Promise<RunningService> {
	const { apiKey, generated } = resolveApiKey(config);
	const db =
		opts.db ??
		(await openDatabase({
			databaseUrl: config.databaseUrl,
			dataDir: config.dataDir,
			poolSize: config.dbPoolSize,
		}));
	const metrics = new Metrics();
	const auth = createAuth({
		apiKey,
		dashboardToken: config.dashboardToken,
		tokenState: (sessionId) => readHookTokenState(db, sessionId),
	});
	// This service's outbox: every writer of events queues deliveries through it, and it wakes this deliverer.
	const outbox = new KnownSubscriptions();
	const deliveries = createDeliveries(db, outbox, config);
	// PGlite has one connection: its transactions run one after another whatever is asked.
	const ingestor = new HookIngestor(db, {
		maxQueue: config.hookQueueMax,
		maxInFlight: db.kind === 'postgres' ? Math.max(1, Math.min(4, config.dbPoolSize - 2)) : 1,
		outbox,
	});
	const approvals = createApprovals(db, outbox, {
		ttlMs: config.approvalTtlMs,
		sweepMs: config.approvalSweepMs,
	});
	const leases = createLeaseSweep(db, { sweepMs: config.leaseSweepMs, outbox });
	const eventKeys = createEventKeyPruner(db);
	const deliveryWindows = createDeliveryWindowPruner(db);
	const budgets = createBudgets(db, { environment: config.budgets });
	await budgets.start();
	const feed = new ChangeFeed(db);
	await feed.start();
	const runSignals = new RunSignals(db);
	await runSignals.start();
	const { app, handler } = createApp({
		db,
		auth,
		ingestor,
		metrics,
		outbox,
		feed,
		bodyLimitBytes: config.bodyLimitBytes,
		toolOutputMaxBytes: config.toolOutputMaxBytes,
		hookAckTimeoutMs: config.hookAckTimeoutMs,
		transcriptMaxBytes: config.transcriptMaxBytes,
		leaseTtlMs: config.leaseTtlMs,
		hookTokens: { ttlMs: config.hookTokenTtlMs, graceMs: config.hookTokenGraceMs },
		readPageMaxBytes: config.readPageMaxBytes,
		queuedMessagesMax: config.queuedMessagesMax,
		dashboardDir: fs.existsSync(DASHBOARD_DIR) ? DASHBOARD_DIR : undefined,
		hookAnswer: approvals.answer,
		runSignals,
		deliveryAllowedHosts: config.deliveryAllowedHosts,
		budgetDefaultReserveUsd: config.budgetRunReserveUsd,
		now: opts.now ?? (() => new Date()),
		demo: config.demo,
	});
	const server = http.createServer(
		{
			// A client that trickles its headers or body is closed after these, not after node's 60 s and 300 s.
			headersTimeout: Math.min(config.httpHeadersTimeoutMs, config.httpRequestTimeoutMs),
			requestTimeout: config.httpRequestTimeoutMs,
			// The timeouts above are enforced when connections are checked: every 30 s by default.
			connectionsCheckingInterval: Math.min(1000, config.httpHeadersTimeoutMs),
		},
		handler,
	);
	// Longer than a load balancer's idle timeout (often 60 s), so the balancer, not the service, closes idle sockets.
	server.keepAliveTimeout = config.httpKeepAliveTimeoutMs;
	server.maxConnections = config.httpMaxConnections;
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(config.port, config.host, () => resolve());
	});
	deliveries.start();
	approvals.start();
	leases.start();
	eventKeys.start();
	deliveryWindows.start();
	const { port } = server.address() as AddressInfo;
	const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
	logger.info('service listening', { url, database: db.kind });
	if (generated) {
		// Printed once, on the run that created it; afterwards it is read from DATA_DIR/api-key.
		process.stdout.write(
			`\nAPI key (generated, stored in ${path.join(config.dataDir, 'api-key')}):\n  ${apiKey}\n\n`,
		);
	}

	let closing: Promise<void> | undefined;
	// Once closing, every answer ends its connection: a client that keeps a keep-alive socket busy (a runner's polls,
	// claude's hooks) would otherwise hold this server open, while the replica that replaces it cannot take over.
	server.prependListener('request', (_req, res) => {
		if (closing && !res.headersSent) res.setHeader('Connection', 'close');
	});
	const close = () =>
		(closing ??= (async () => {
			// Open streams would keep the server from closing: end them first (their clients reconnect elsewhere).
			await feed.stop();
			// Long polls waiting on a run answer now instead of holding the server open.
			await runSignals.stop();
			await new Promise<void>((resolve) => {
				server.close(() => resolve());
				server.closeIdleConnections();
			});
			await ingestor.drain(5000);
			await deliveries.stop(5000);
			await approvals.stop();
			await leases.stop();
			await eventKeys.stop();
			await deliveryWindows.stop();
			if (!opts.db) await db.close();
		})());
	return { url, apiKey, db, app, server, close };
}
