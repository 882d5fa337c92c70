import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_QUEUED_MESSAGES_MAX } from '../../nodes/shared/protocol';

// The environment is read here and only here, once, at start-up.
const DURATION = /^\d+(\.\d+)?\s*(s|m|h|d)?$/i;
const budgetUsd = (name: string) =>
	z.coerce
		.number({ message: `${name} is a number of US dollars` })
		.positive(`${name} must be more than 0`)
		.max(1_000_000, `${name} is above $1,000,000`)
		.optional();

const EnvSchema = z.object({
	PORT: z.coerce.number().int().min(0).max(65535).default(3001),
	HOST: z.string().min(1).default('127.0.0.1'),
	DATABASE_URL: z
		.string()
		.regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must start with postgres:// or postgresql://')
		.optional(),
	DATA_DIR: z.string().min(1).default('./.data'),
	API_KEY: z.string().min(16, 'API_KEY must be at least 16 characters').optional(),
	DASHBOARD_TOKEN: z.string().min(16, 'DASHBOARD_TOKEN must be at least 16 characters').optional(),
	PUBLIC_URL: z.string().url('PUBLIC_URL must be a URL such as http://127.0.0.1:3001').optional(),
	BODY_LIMIT_BYTES: z.coerce
		.number()
		.int()
		.min(1024)
		.default(2 * 1024 * 1024),
	TOOL_OUTPUT_MAX_BYTES: z.coerce
		.number()
		.int()
		.min(256)
		.default(64 * 1024),
	HOOK_ACK_TIMEOUT_MS: z.coerce.number().int().min(10).default(1500),
	HOOK_QUEUE_MAX: z.coerce.number().int().min(100).default(20_000),
	DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
	DELIVERY_ALLOWED_HOSTS: z.string().optional(),
	DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(12),
	DELIVERY_BASE_DELAY_MS: z.coerce.number().int().min(10).default(1000),
	DELIVERY_MAX_DELAY_MS: z.coerce
		.number()
		.int()
		.min(10)
		.default(5 * 60_000),
	DELIVERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
	DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
	DELIVERY_PER_SUBSCRIPTION_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(4),
	DELIVERY_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(1000),
	DELIVERY_RETENTION_HOURS: z.coerce
		.number()
		.min(0)
		.default(7 * 24),
	// How long an approval request waits for a person before it counts as a deny: seconds, or 90s / 30m / 24h / 7d.
	APPROVAL_TTL: z
		.string()
		.regex(/^\d+(\.\d+)?\s*(s|m|h|d)?$/i, 'APPROVAL_TTL is a duration such as 3600, 30m, 24h or 7d')
		.default('24h'),
	// How often overdue approval requests are settled as expired (Approval Decided fires then); 0 turns it off,
	// leaving expiry to the next decision or Resume.
	APPROVAL_SWEEP_MS: z.coerce.number().int().min(0).default(30_000),
	// Budgets for the common cases (US dollars); more, and overlapping ones, through PUT /api/v1/budgets.
	BUDGET_SESSION_USD: budgetUsd('BUDGET_SESSION_USD'),
	BUDGET_THREAD_USD: budgetUsd('BUDGET_THREAD_USD'),
	BUDGET_DAY_USD: budgetUsd('BUDGET_DAY_USD'),
	BUDGET_MONTH_USD: budgetUsd('BUDGET_MONTH_USD'),
	// What a run sets aside from its budgets when its node sets no Max Budget.
	BUDGET_RUN_RESERVE_USD: z.coerce
		.number()
		.positive('BUDGET_RUN_RESERVE_USD must be more than 0')
		.max(1_000_000)
		.default(5),
	// Set by `npm start -- --demo`: claude talks to a local scripted stand-in, and the dashboard must say so.
	DEMO_MODE: z.enum(['0', '1', 'true', 'false'], { message: 'DEMO_MODE is 1 or 0' }).optional(),
	// A session's transcript, uncompressed, is refused above this size (uploads and imports).
	TRANSCRIPT_MAX_BYTES: z.coerce
		.number()
		.int()
		.min(1024)
		.default(64 * 1024 * 1024),
	// A run's lease on its session that is not renewed for this long has lost its worker: the run and the session
	// end as `interrupted`. Seconds, or 30s / 2m.
	LEASE_TTL: z
		.string()
		.regex(/^\d+(\.\d+)?\s*(s|m|h)?$/i, 'LEASE_TTL is a duration such as 30, 30s or 2m')
		.default('30s'),
	// How often expired leases are looked for; 0 turns the sweep off.
	LEASE_SWEEP_MS: z.coerce.number().int().min(0).default(5_000),
	// A hook token's life when whoever asks for it does not say (the node asks for its run's timeout), and how long
	// after its run's end is recorded it still takes late hooks.
	HOOK_TOKEN_TTL: z
		.string()
		.regex(DURATION, 'HOOK_TOKEN_TTL is a duration such as 3600, 30m, 24h or 7d')
		.default('1h'),
	HOOK_TOKEN_GRACE: z
		.string()
		.regex(DURATION, 'HOOK_TOKEN_GRACE is a duration such as 60, 2m or 1h')
		.default('2m'),
	// Slow or idle clients are closed after these (node's own defaults were 60 s for headers and 300 s for a request);
	// beyond HTTP_MAX_CONNECTIONS open sockets, new ones are refused.
	HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1000).default(20_000),
	HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),
	HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1000).default(65_000),
	HTTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(2048),
	// The most one page of events, tool calls or messages carries; fewer rows and a cursor beyond it.
	READ_PAGE_MAX_BYTES: z.coerce
		.number()
		.int()
		.min(64 * 1024)
		.default(8 * 1024 * 1024),
	// Replies that may wait for one session's running turn (Claude Resume, When Busy = Queue); one more is 429.
	QUEUED_MESSAGES_MAX: z.coerce
		.number()
		.int()
		.min(1)
		.max(10_000)
		.default(DEFAULT_QUEUED_MESSAGES_MAX),
});

/** A variable the service reads (LOG_LEVEL is read by the logger). */
export type ServiceEnvVar = keyof typeof EnvSchema.shape | 'LOG_LEVEL';

/** Every variable the service reads; `--help` and the deploy checks list them. */
export const SERVICE_ENV_VARS: readonly ServiceEnvVar[] = [
	...(Object.keys(EnvSchema.shape) as Array<keyof typeof EnvSchema.shape>),
	'LOG_LEVEL',
];

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const durationMs = (text: string) => {
	const m = /^(\d+(?:\.\d+)?)\s*([smhd])?$/i.exec(text.trim())!;
	return Math.max(1000, Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? 's').toLowerCase()]));
};

export interface Config {
	port: number;
	host: string;
	databaseUrl?: string;
	dataDir: string;
	apiKey?: string;
	dashboardToken?: string;
	publicUrl?: string;
	bodyLimitBytes: number;
	toolOutputMaxBytes: number;
	hookAckTimeoutMs: number;
	hookQueueMax: number;
	dbPoolSize: number;
	/** Hosts a subscription may deliver to; empty = any public host (private and loopback addresses refused). */
	deliveryAllowedHosts: string[];
	/** Hook Trigger outbox: attempts before a delivery is dead, backoff (base doubles per attempt, capped), limits. */
	deliveryMaxAttempts: number;
	deliveryBaseDelayMs: number;
	deliveryMaxDelayMs: number;
	deliveryTimeoutMs: number;
	deliveryConcurrency: number;
	deliveryPerSubscriptionConcurrency: number;
	deliveryPollIntervalMs: number;
	/** Delivered outbox rows are kept this long (0 = forever); dead ones stay until retried or their subscription goes. */
	deliveryRetentionHours: number;
	/** An approval request not decided within this long is settled as expired, which counts as a deny. */
	approvalTtlMs: number;
	approvalSweepMs: number;
	/** Budgets from BUDGET_* variables (US dollars); unset ones are not created. */
	budgets: { sessionUsd?: number; threadUsd?: number; dayUsd?: number; monthUsd?: number };
	budgetRunReserveUsd: number;
	demo: boolean;
	transcriptMaxBytes: number;
	leaseTtlMs: number;
	leaseSweepMs: number;
	hookTokenTtlMs: number;
	hookTokenGraceMs: number;
	httpHeadersTimeoutMs: number;
	httpRequestTimeoutMs: number;
	httpKeepAliveTimeoutMs: number;
	httpMaxConnections: number;
	readPageMaxBytes: number;
	queuedMessagesMax: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
	// An empty variable (API_KEY= in an env file) means "not set", not "set to nothing".
	const present = Object.fromEntries(
		Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
	);
	const parsed = EnvSchema.safeParse(present);
	if (!parsed.success) {
		const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
		throw new Error(`invalid configuration: ${problems}`);
	}
	const e = parsed.data;
	return Object.freeze({
		port: e.PORT,
		host: e.HOST,
		databaseUrl: e.DATABASE_URL,
		dataDir: path.resolve(e.DATA_DIR),
		apiKey: e.API_KEY,
		dashboardToken: e.DASHBOARD_TOKEN,
		publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
		bodyLimitBytes: e.BODY_LIMIT_BYTES,
		toolOutputMaxBytes: e.TOOL_OUTPUT_MAX_BYTES,
		hookAckTimeoutMs: e.HOOK_ACK_TIMEOUT_MS,
		hookQueueMax: e.HOOK_QUEUE_MAX,
		dbPoolSize: e.DB_POOL_SIZE,
		deliveryAllowedHosts: (e.DELIVERY_ALLOWED_HOSTS ?? '')
			.split(',')
			.map((h) => h.trim().toLowerCase())
			.filter(Boolean),
		deliveryMaxAttempts: e.DELIVERY_MAX_ATTEMPTS,
		deliveryBaseDelayMs: e.DELIVERY_BASE_DELAY_MS,
		deliveryMaxDelayMs: e.DELIVERY_MAX_DELAY_MS,
		deliveryTimeoutMs: e.DELIVERY_TIMEOUT_MS,
		deliveryConcurrency: e.DELIVERY_CONCURRENCY,
		deliveryPerSubscriptionConcurrency: e.DELIVERY_PER_SUBSCRIPTION_CONCURRENCY,
		deliveryPollIntervalMs: e.DELIVERY_POLL_INTERVAL_MS,
		deliveryRetentionHours: e.DELIVERY_RETENTION_HOURS,
		approvalTtlMs: durationMs(e.APPROVAL_TTL),
		approvalSweepMs: e.APPROVAL_SWEEP_MS,
		budgets: Object.freeze({
			sessionUsd: e.BUDGET_SESSION_USD,
			threadUsd: e.BUDGET_THREAD_USD,
			dayUsd: e.BUDGET_DAY_USD,
			monthUsd: e.BUDGET_MONTH_USD,
		}),
		budgetRunReserveUsd: e.BUDGET_RUN_RESERVE_USD,
		demo: e.DEMO_MODE === '1' || e.DEMO_MODE === 'true',
		transcriptMaxBytes: e.TRANSCRIPT_MAX_BYTES,
		leaseTtlMs: durationMs(e.LEASE_TTL),
		leaseSweepMs: e.LEASE_SWEEP_MS,
		hookTokenTtlMs: durationMs(e.HOOK_TOKEN_TTL),
		hookTokenGraceMs: durationMs(e.HOOK_TOKEN_GRACE),
		httpHeadersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
		httpRequestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
		httpKeepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
		httpMaxConnections: e.HTTP_MAX_CONNECTIONS,
		readPageMaxBytes: e.READ_PAGE_MAX_BYTES,
		queuedMessagesMax: e.QUEUED_MESSAGES_MAX,
	});
}
