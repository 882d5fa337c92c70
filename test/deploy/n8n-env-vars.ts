// The n8n variables deploy/compose.yaml sets, each with why. test/deploy/containers.test.ts refuses any other
// variable on an n8n container and, when the n8n install of scripts/n8n-cache.js is present, finds every name
// here in n8n's own code (a renamed or removed variable fails there, not silently in a deployment).
export const N8N_ENV_VARS: Record<string, string> = {
	DB_TYPE: 'postgresdb: queue mode needs a database every process shares',
	DB_POSTGRESDB_HOST: 'database host',
	DB_POSTGRESDB_PORT: 'database port',
	DB_POSTGRESDB_DATABASE: 'database name',
	DB_POSTGRESDB_USER: 'database user',
	DB_POSTGRESDB_PASSWORD: 'database password',
	EXECUTIONS_MODE: 'queue: main enqueues, workers execute',
	QUEUE_BULL_REDIS_HOST: 'the queue',
	QUEUE_BULL_REDIS_PORT: 'the queue',
	QUEUE_HEALTH_CHECK_ACTIVE: 'a worker answers /healthz (the container health check)',
	N8N_ENCRYPTION_KEY: 'the same on main and every worker: credentials are encrypted with it',
	OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS:
		'manual executions on workers too (the only behaviour in n8n 3)',
	N8N_UNVERIFIED_PACKAGES_ENABLED: 'n8n 3 loads unverified community packages only when true',
	N8N_PORT: 'the port n8n listens on',
	N8N_PROTOCOL: 'http inside the network',
	N8N_WEBHOOK_URL:
		'base of webhook URLs, which the Hook Trigger registers with the service (WEBHOOK_URL is deprecated)',
	N8N_DIAGNOSTICS_ENABLED: 'no telemetry',
	GENERIC_TIMEZONE: 'schedule triggers',
};

/** Read by the claude CLI the nodes start on n8n's processes. */
export const CLAUDE_ENV_VARS = ['ANTHROPIC_API_KEY'];

/** Documented by the official postgres image. */
export const POSTGRES_IMAGE_ENV_VARS = ['POSTGRES_PASSWORD', 'POSTGRES_DB', 'POSTGRES_USER'];
