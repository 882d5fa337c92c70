import type { Config } from '../config';
import type { Database } from '../db';
import { logger } from '../logger';
import { unreadableToolFilters } from '../subscriptions/subscription-match';
import { loadFilters } from '../subscriptions/subscriptions.repository';
import { TOOL_FILTER_HELP } from '../subscriptions/tool-filter';
import { Deliverer } from './deliverer';
import type { KnownSubscriptions } from './outbox';

/** The delivery loop for Hook Trigger subscriptions, woken by the service's outbox. */
export function createDeliveries(db: Database, outbox: KnownSubscriptions, config: Config) {
	const deliverer = new Deliverer(db, {
		signal: outbox.signal,
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
	return {
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
			logger.warn(
				"a subscription's tool filter cannot be read and matches no event; register it again",
				{
					subscription: f.id,
					toolFilter: f.toolFilter,
					help: TOOL_FILTER_HELP,
				},
			);
		}
	} catch (err) {
		logger.warn('could not check the stored tool filters', {
			error: err instanceof Error ? err.message : String(err),
		});
	}
}
