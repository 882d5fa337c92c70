// What `--help` prints: the commands and every variable the service reads (and the ones n8n's nodes read, which
// `doctor` checks), so a deploy can be written from the help alone.

import type { ServiceEnvVar } from '../config';

// Typed by the configuration's own schema: a variable added there and not described here does not compile.
export const SERVICE_ENV_HELP: Record<ServiceEnvVar, string> = {
	PORT: 'port to listen on (default 3001)',
	HOST: 'address to listen on (default 127.0.0.1; 0.0.0.0 in a container or behind a load balancer on another host)',
	DATABASE_URL:
		'postgres://… ; unset: the embedded database (PGlite) under DATA_DIR, for one replica only',
	DATA_DIR: 'embedded database and the generated API key (default ./.data)',
	API_KEY:
		'key for the REST API and the n8n credential, 16+ characters; unset: generated on first start into DATA_DIR',
	DASHBOARD_TOKEN: 'read-only token for the dashboard, 16+ characters (optional)',
	PUBLIC_URL:
		'the service as claude (and E2B sandboxes) reach it, e.g. the load balancer: http://lb.internal:3001',
	BODY_LIMIT_BYTES: 'largest request body (default 2 MiB)',
	TOOL_OUTPUT_MAX_BYTES: 'tool output kept per call (default 64 KiB)',
	HOOK_ACK_TIMEOUT_MS: 'a hook is answered 202 (still queued) after this long (default 1500)',
	HOOK_QUEUE_MAX: 'hook events held in memory while the database is away (default 20000)',
	DB_POOL_SIZE: 'PostgreSQL connections per replica (default 10)',
	DELIVERY_ALLOWED_HOSTS:
		'hosts Hook Trigger deliveries may go to, comma-separated (n8n, *.example.com, 127.0.0.1); unset: public hosts only',
	DELIVERY_MAX_ATTEMPTS: 'attempts before a delivery is dead (default 12)',
	DELIVERY_BASE_DELAY_MS: 'first retry delay, doubled per attempt (default 1000)',
	DELIVERY_MAX_DELAY_MS: 'longest retry delay (default 300000)',
	DELIVERY_TIMEOUT_MS: 'timeout of one delivery request (default 10000)',
	DELIVERY_CONCURRENCY: 'deliveries in flight per replica (default 16)',
	DELIVERY_PER_SUBSCRIPTION_CONCURRENCY:
		'deliveries in flight to one subscription per replica (default 4)',
	DELIVERY_POLL_INTERVAL_MS: 'how often the outbox is polled (default 1000)',
	DELIVERY_RETENTION_HOURS: 'delivered rows kept this long, 0 = forever (default 168)',
	APPROVAL_TTL:
		'an undecided approval counts as a deny after this long: 3600, 30m, 24h, 7d (default 24h)',
	APPROVAL_SWEEP_MS: 'how often overdue approvals are settled, 0 = off (default 30000)',
	HOOK_TOKEN_TTL:
		"a hook token's life when its requester gives none (default 1h; the nodes ask for their run's timeout)",
	HOOK_TOKEN_GRACE: "late hooks taken this long after a run's end is recorded (default 2m)",
	HTTP_HEADERS_TIMEOUT_MS:
		'a client that has not sent its headers within this is answered 408 (default 20000)',
	HTTP_REQUEST_TIMEOUT_MS:
		'a client that has not sent its whole request within this is answered 408 (default 60000)',
	HTTP_KEEP_ALIVE_TIMEOUT_MS: 'idle kept-alive connections are closed after this (default 65000)',
	HTTP_MAX_CONNECTIONS: 'open connections beyond this are refused (default 2048)',
	READ_PAGE_MAX_BYTES:
		'one page of events, tool calls, messages, sessions or approvals carries about this much at most (default 8 MiB)',
	QUEUED_MESSAGES_MAX:
		'replies that may wait for one session while its turn runs (When Busy = Queue); one more is refused with 429 (default 100)',
	TRANSCRIPT_MAX_BYTES: 'largest session transcript accepted, uncompressed (default 64 MiB)',
	LEASE_TTL:
		"a run's lease not renewed for this long has lost its worker: the run ends interrupted (default 30s)",
	LEASE_SWEEP_MS: 'how often expired leases are looked for, 0 = off (default 5000)',
	BUDGET_SESSION_USD: 'a spending cap for each session, lifetime, in US dollars (unset: none)',
	BUDGET_THREAD_USD: 'a spending cap for each thread key, lifetime (unset: none)',
	BUDGET_DAY_USD: 'a cap on all sessions together per UTC day (unset: none)',
	BUDGET_MONTH_USD: 'a cap on all sessions together per UTC month (unset: none)',
	BUDGET_RUN_RESERVE_USD:
		'what a run sets aside from its budgets when its node has no Max Budget (default 5)',
	DEMO_MODE:
		'set by `npm start -- --demo`: claude talks to a local scripted stand-in of the Anthropic API, and the dashboard says so',
	LOG_LEVEL: 'debug, info, warn or error (default info); JSON lines on stderr',
};

/** Read by the nodes inside n8n (set them on n8n main and every worker); `doctor` checks them where it runs. */
export const NODE_ENV_HELP: Record<string, string> = {
	CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS:
		'folders local and worktree sessions may use (: or , separated; default ~/.claude-orchestrator/projects)',
	CLAUDE_ORCHESTRATOR_HOME: 'base of the defaults below (default ~/.claude-orchestrator)',
	CLAUDE_ORCHESTRATOR_WORKSPACES_DIR:
		'temporary and cloned workspaces (default $CLAUDE_ORCHESTRATOR_HOME/workspaces)',
	CLAUDE_ORCHESTRATOR_CACHE_DIR: 'GitHub clone cache (default $CLAUDE_ORCHESTRATOR_HOME/cache)',
	CLAUDE_ORCHESTRATOR_WORKTREES_DIR:
		'where git worktrees are made (default <base parent>/.claude-worktrees/<repo>)',
};

const table = (vars: Record<string, string>) => {
	const width = Math.max(...Object.keys(vars).map((k) => k.length));
	return Object.entries(vars)
		.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)
		.join('\n');
};

export function helpText(bin: string): string {
	return `Usage: ${bin} <command> [options]

Commands:
  serve                 start the service (REST API, hook intake, Hook Trigger deliveries, dashboard) until SIGTERM
  migrate               apply database migrations and exit (a deploy step before replicas start)
  doctor [--n8n-url URL] [--claude PATH]
                        check this host: the claude CLI, git, the allowed roots, the database, PUBLIC_URL and the
                        delivery rules; with --n8n-url, that n8n and the service reach each other. One line per
                        check with its fix; exit code 1 when a check fails
  cleanup-worktrees [--service-url URL] [--older-than 7d] [--session ID]... [--dry-run] [--json]
                        remove the git worktrees of finished sessions on this host (run it on n8n main and every
                        worker); asks the service (API_KEY; URL default PUBLIC_URL, else 127.0.0.1:PORT) which sessions
                        are over and holds each one's lease meanwhile. Kept, with the reason: sessions active within
                        --older-than (default 7d; 0 for all), running ones, uncommitted work, commits on no other
                        branch or remote. Branches are never deleted
  help                  this text (also --help, -h)
  version               the package version (also --version)

Service environment:
${table(SERVICE_ENV_HELP)}

Read by the nodes in n8n (checked by doctor):
${table(NODE_ENV_HELP)}

Example:
  DATABASE_URL=postgres://orch@db/orch API_KEY=… PUBLIC_URL=http://lb:3001 HOST=0.0.0.0 ${bin} migrate
  DATABASE_URL=… API_KEY=… PUBLIC_URL=http://lb:3001 HOST=0.0.0.0 ${bin} serve
`;
}
