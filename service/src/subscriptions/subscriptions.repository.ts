import type { Queryable } from '../db';
import type { SubscriptionFilter } from './subscription-match';
import type { CreateSubscription } from './subscriptions.schema';

interface Row {
	id: string;
	url: string;
	events: string[];
	tool_filter: string | null;
	session_id: string | null;
	thread_key: string | null;
	workspace_type: string | null;
	min_interval_seconds: number | null;
	workflow_id: string | null;
	node_name: string | null;
	created_at: Date;
	updated_at: Date;
	pending?: number;
	dead?: number;
}

const COLUMNS = `s.id, s.url, s.events, s.tool_filter, s.session_id, s.thread_key, s.workspace_type, s.min_interval_seconds,
	s.workflow_id, s.node_name,
	s.created_at, s.updated_at`;

// Outbox counts per subscription, from the (subscription_id, status, created_at) index.
const COUNTS = `(SELECT count(*)::int FROM deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending') AS pending,
	(SELECT count(*)::int FROM deliveries d WHERE d.subscription_id = s.id AND d.status = 'dead') AS dead`;

/** The public shape: never the secret, which is only ever returned by the POST that set it. */
function toSubscription(r: Row) {
	return {
		id: r.id,
		url: r.url,
		events: r.events,
		toolFilter: r.tool_filter,
		sessionId: r.session_id,
		threadKey: r.thread_key,
		workspaceType: r.workspace_type,
		minIntervalSeconds: r.min_interval_seconds,
		workflowId: r.workflow_id,
		nodeName: r.node_name,
		createdAt: r.created_at,
		updatedAt: r.updated_at,
		...(r.pending !== undefined ? { deliveries: { pending: r.pending, dead: r.dead ?? 0 } } : {}),
	};
}

export type Subscription = ReturnType<typeof toSubscription>;

/**
 * Registers a URL, or replaces the registration that URL already has (same id, new filters and secret):
 * a trigger that registers again after losing its state takes its subscription back instead of failing.
 */
export async function upsertSubscription(
	db: Queryable,
	id: string,
	secret: string,
	b: CreateSubscription,
) {
	const { rows } = await db.query<Row & { inserted: boolean }>(
		`INSERT INTO subscriptions AS s (id, url, events, tool_filter, session_id, thread_key, workspace_type, secret, workflow_id, node_name,
			min_interval_seconds)
		VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (url) DO UPDATE SET events = EXCLUDED.events, tool_filter = EXCLUDED.tool_filter,
			session_id = EXCLUDED.session_id, thread_key = EXCLUDED.thread_key, workspace_type = EXCLUDED.workspace_type,
			min_interval_seconds = EXCLUDED.min_interval_seconds, secret = EXCLUDED.secret, workflow_id = EXCLUDED.workflow_id, node_name = EXCLUDED.node_name, updated_at = now()
		RETURNING ${COLUMNS}, (xmax = 0) AS inserted`,
		[
			id,
			b.url,
			JSON.stringify(b.events),
			b.toolFilter || null,
			b.sessionId ?? null,
			b.threadKey ?? null,
			b.workspaceType ?? null,
			secret,
			b.workflowId ?? null,
			b.nodeName ?? null,
			b.minIntervalSeconds ?? null,
		],
	);
	const r = rows[0];
	return { subscription: toSubscription(r), created: r.inserted };
}

export async function getSubscription(db: Queryable, id: string) {
	const { rows } = await db.query<Row>(
		`SELECT ${COLUMNS}, ${COUNTS} FROM subscriptions s WHERE s.id = $1`,
		[id],
	);
	return rows[0] ? toSubscription(rows[0]) : undefined;
}

export async function listSubscriptions(db: Queryable, f: { url?: string; workflowId?: string }) {
	const { rows } = await db.query<Row>(
		`SELECT ${COLUMNS}, ${COUNTS} FROM subscriptions s
		WHERE ($1::text IS NULL OR s.url = $1) AND ($2::text IS NULL OR s.workflow_id = $2)
		ORDER BY s.created_at, s.id`,
		[f.url ?? null, f.workflowId ?? null],
	);
	return rows.map(toSubscription);
}

/** Deletes by id or by url; its outbox rows go with it (ON DELETE CASCADE). */
export async function deleteSubscription(
	db: Queryable,
	by: { id: string } | { url: string },
): Promise<boolean> {
	const { rowCount } =
		'id' in by
			? await db.query('DELETE FROM subscriptions WHERE id = $1', [by.id])
			: await db.query('DELETE FROM subscriptions WHERE url = $1', [by.url]);
	return rowCount > 0;
}

/** Every subscription's filter: read once per ingested batch (the table is small; several replicas share it). */
/** Every subscription's filters, and the subscriptions version they are (one snapshot; migration 006). */
export async function loadFilters(
	db: Queryable,
): Promise<{ version: number; filters: SubscriptionFilter[] }> {
	const { rows } = await db.query<Row & { version: number }>(
		`SELECT v.version, s.id, s.events, s.tool_filter, s.session_id, s.thread_key, s.workspace_type
		FROM subscriptions_version v LEFT JOIN subscriptions s ON true`,
	);
	return {
		version: rows[0].version,
		filters: rows
			.filter((r) => r.id !== null)
			.map((r) => ({
				id: r.id,
				events: Array.isArray(r.events) ? r.events : [],
				toolFilter: r.tool_filter,
				sessionId: r.session_id,
				threadKey: r.thread_key,
				workspaceType: r.workspace_type,
			})),
	};
}
