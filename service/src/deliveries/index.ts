import type { Router } from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
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
		start: () => deliverer.start(),
		stop: (timeoutMs: number) => deliverer.stop(timeoutMs),
	};
}
