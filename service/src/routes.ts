import express, { type Express } from 'express';
import type { HookAnswerer } from './approvals';
import { approvalsRouter } from './approvals/approvals.router';
import { approvalPolicyRouter } from './approvals/policy.router';
import { budgetsRouter } from './budgets/budgets.router';
import { statsRouter } from './dashboard/stats.router';
import { vendorRouter } from './dashboard/vendor';
import type { Database } from './db';
import { deliveriesRouter } from './deliveries/deliveries.router';
import type { KnownSubscriptions } from './deliveries/outbox';
import type { Auth } from './http/auth';
import type { HookIngestor } from './hooks/hook-ingestor';
import { hooksRouter, legacyHooksRouter } from './hooks/hooks.router';
import type { Metrics } from './metrics/metrics';
import { metricsReport } from './metrics/metrics-report';
import { transferRouter } from './session-transfer/transfer.router';
import { queuedMessagesRouter } from './queued-messages/queued-messages.router';
import { DEFAULT_QUEUED_MESSAGES_MAX } from '../../nodes/shared/protocol';
import type { RunSignals } from './sessions/run-signals';
import { sessionsRouter } from './sessions/sessions.router';
import { stopsRouter } from './sessions/stops.router';
import type { ChangeFeed } from './stream/change-feed';
import { streamRouter } from './stream/stream.router';
import { subscriptionsRouter } from './subscriptions/subscriptions.router';
import { threadsRouter } from './threads/threads.router';
import { eventKeysRouter } from './event-keys/event-keys.router';
import { telemetryRouter } from './telemetry/telemetry.router';
import { transcriptsRouter } from './transcripts/transcripts.router';

/** What the routes need: the service's parts and the limits they apply. */
export interface RouteDeps {
	db: Database;
	auth: Auth;
	ingestor: HookIngestor;
	metrics: Metrics;
	/** Where writers queue Hook Trigger deliveries, and the signal that wakes this service's deliverer. */
	outbox: KnownSubscriptions;
	/** Live changes for the dashboard's stream. */
	feed: ChangeFeed;
	bodyLimitBytes: number;
	toolOutputMaxBytes: number;
	hookAckTimeoutMs: number;
	/** Largest transcript accepted, uncompressed; its upload (gzip, base64 in JSON) may exceed bodyLimitBytes. */
	transcriptMaxBytes: number;
	/** LEASE_TTL: how long a run's lease on its session lasts without renewal. */
	leaseTtlMs?: number;
	/** Hook tokens: life when the caller does not say, and how long after its run's end a token still takes hooks. */
	hookTokens: { ttlMs: number; graceMs: number };
	/** The most one page of events, tool calls or messages carries (fewer rows and a cursor beyond it). */
	readPageMaxBytes: number;
	/** QUEUED_MESSAGES_MAX: replies that may wait for one session (the contract's default when unset). */
	queuedMessagesMax?: number;
	/** Answers PreToolUse for sessions under an approval policy (allow / deny / defer). */
	hookAnswer?: HookAnswerer;
	/** Stops of running turns: their hooks' answers, and the waits of POST/GET :id/stop. */
	runSignals: RunSignals;
	/** Hosts a subscription may deliver to besides public addresses (DELIVERY_ALLOWED_HOSTS). */
	deliveryAllowedHosts: readonly string[];
	/** What a run reserves when it asks for no particular amount. */
	budgetDefaultReserveUsd: number;
	/** The clock budget periods are read from (tests move it across a UTC midnight). */
	now: () => Date;
	dashboardDir?: string;
	/** Claude runs against a scripted stand-in of the Anthropic API (`npm start -- --demo`); health says so. */
	demo?: boolean;
}

export function hookRouteDeps(deps: RouteDeps) {
	return {
		auth: deps.auth,
		ingestor: deps.ingestor,
		metrics: deps.metrics,
		toolOutputMaxBytes: deps.toolOutputMaxBytes,
		ackTimeoutMs: deps.hookAckTimeoutMs,
		answer: deps.hookAnswer,
		stopAnswer: (sessionId: string, generation: number | undefined, eventName: string) =>
			deps.runSignals.hookAnswer(sessionId, generation, eventName),
	};
}

/** Every route the service answers, in the order they are matched. */
export function mountRoutes(app: Express, deps: RouteDeps): void {
	const { db, auth, outbox } = deps;
	app.get('/api/v1/health', async (_req, res) => {
		try {
			await db.query('SELECT 1');
			res.json({
				status: 'ok',
				database: db.kind,
				hookQueue: deps.ingestor.depth,
				...(deps.demo ? { demo: true } : {}),
			});
		} catch {
			res.status(503).json({
				status: 'unavailable',
				database: db.kind,
				message: 'the database does not answer',
			});
		}
	});

	app.get('/metrics', auth.requireReader, async (_req, res) => {
		const text = await metricsReport(
			{ db, metrics: deps.metrics, hookQueueDepth: deps.ingestor.depth },
			new Date(),
		);
		res.type('text/plain; version=0.0.4').send(text);
	});

	const hooks = hookRouteDeps(deps);
	const transcriptMaxBytes = deps.transcriptMaxBytes;
	const sessions = sessionsRouter({
		db,
		auth,
		outbox,
		toolOutputMaxBytes: deps.toolOutputMaxBytes,
		hookTokens: deps.hookTokens,
		readPageMaxBytes: deps.readPageMaxBytes,
		leaseTtlSeconds: Math.round((deps.leaseTtlMs ?? 30_000) / 1000),
		now: deps.now,
		defaultReserveUsd: deps.budgetDefaultReserveUsd,
	});
	// /api/... are the seed's documented routes; they answer exactly like /api/v1/....
	for (const base of ['/api/v1', '/api']) {
		const routes: Array<[string, express.RequestHandler[]]> = [
			['hooks', [legacyHooksRouter(hooks), hooksRouter(hooks)]],
			['sessions', [transferRouter({ db, auth, transcriptMaxBytes })]],
			['sessions', [sessions]],
			['sessions', [stopsRouter({ db, auth, signals: deps.runSignals })]],
			[
				'sessions',
				[
					queuedMessagesRouter({
						db,
						auth,
						maxWaiting: deps.queuedMessagesMax ?? DEFAULT_QUEUED_MESSAGES_MAX,
					}),
				],
			],
			['sessions', [transcriptsRouter({ db, auth, transcriptMaxBytes })]],
			['threads', [threadsRouter({ db, auth })]],
			['event-keys', [eventKeysRouter({ db, auth })]],
			['telemetry', [telemetryRouter({ db, auth })]],
			['stats', [statsRouter({ db, auth })]],
			[
				'subscriptions',
				[subscriptionsRouter({ db, auth, allowedHosts: deps.deliveryAllowedHosts })],
			],
			['deliveries', [deliveriesRouter({ db, auth, signal: outbox.signal })]],
			[
				'approvals',
				[approvalsRouter({ db, auth, outbox, readPageMaxBytes: deps.readPageMaxBytes })],
			],
			// /sessions/:id/approval-policy
			['sessions', [approvalPolicyRouter({ db, auth })]],
			[
				'budgets',
				[
					budgetsRouter({
						db,
						auth,
						outbox,
						now: deps.now,
						defaultReserveUsd: deps.budgetDefaultReserveUsd,
					}),
				],
			],
			['stream', [streamRouter({ db, auth, feed: deps.feed })]],
		];
		for (const [mount, handlers] of routes) app.use(`${base}/${mount}`, ...handlers);
	}

	if (deps.dashboardDir) app.use('/vendor', vendorRouter());
	if (deps.dashboardDir)
		app.use('/', express.static(deps.dashboardDir, { index: 'index.html', fallthrough: true }));
}
