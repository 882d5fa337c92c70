import type { Router } from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { logger } from '../logger';
import { unreadableToolFilters } from '../subscriptions/subscription-match';
import { loadFilters } from '../subscriptions/subscriptions.repository';
import { TOOL_FILTER_HELP } from '../subscriptions/tool-filter';
import { subscriptionsRouter } from '../subscriptions/subscriptions.router';
import { deliveriesRouter } from './deliveries.router';
import { Deliverer } from './deliverer';
import { KnownSubscriptions } from './outbox';

export { recordRunDenials } from './run-denials';

/** Everything the service wires in for Hook Trigger deliveries: the outbox, the routes, the loop. */
export function createDeliveries(db: Database, auth: Auth, config: Config) {
	const deliverer = new Deliverer(db, {
		maxAttempts: config.deliveryMaxAttempts,
		baseDelayMs: config.deliveryBaseDelayMs,
		maxDelayMs: config.deliveryMaxDelayMs,
		timeoutMs: config.deliveryTimeoutMs,
		concurrency: config.deliveryConcurrency,
		perSubscription: config.deliveryPerSubscriptionConcurrency,
		pollIntervalMs: config.deliveryPollIntervalMs,
		allowedHosts: config.deliveryAllowedHosts,
		retentionMs: config.deliveryRetentionHours * 3_600_000,
	});
	const routers: Record<string, Router> = {
		subscriptions: subscriptionsRouter({ db, auth, allowedHosts: config.deliveryAllowedHosts }),
		deliveries: deliveriesRouter({ db, auth }),
	};
	return {
		/** Hands the hook ingestor the subscriptions, to queue deliveries beside the events it stores. */
		outbox: new KnownSubscriptions(),
		routers,
		start: () => {
			deliverer.start();
			void reportUnreadableToolFilters(db);
		},
		stop: (timeoutMs: number) => deliverer.stop(timeoutMs),
	};
}

/**
 * Tool filters registered as regular expressions before filters became globs: the ones that are not a plain
 * alternation of names cannot be read and match nothing. Said once at start, so whoever runs the service can
 * re-register them (saving the Hook Trigger's workflow again does it).
 */
async function reportUnreadableToolFilters(db: Database): Promise<void> {
	try {
		for (const f of unreadableToolFilters((await loadFilters(db)).filters)) {
			logger.warn('a subscription\'s tool filter cannot be read and matches no event; register it again', {
				subscription: f.id,
				toolFilter: f.toolFilter,
				help: TOOL_FILTER_HELP,
			});
		}
	} catch (err) {
		logger.warn('could not check the stored tool filters', { error: err instanceof Error ? err.message : String(err) });
	}
}
