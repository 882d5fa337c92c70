import * as path from 'node:path';

import type { N8nCachePaths } from './n8n-cache';

// Fixed so a restarted instance (and the CLI) can decrypt credentials written by an earlier run.
export const HARNESS_ENCRYPTION_KEY = 'n8n-harness-fixed-encryption-key-0001';

// Only these are inherited: anything else from the developer's shell (DB_*, N8N_*, proxies, NODE_OPTIONS from
// jest) would silently change what n8n does. Callers add what they need through `env`.
const INHERITED = ['HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'PATH'];

export interface N8nEnvInput {
	cache: N8nCachePaths;
	userFolder: string;
	port: number;
	brokerPort: number;
	extra?: Record<string, string>;
}

/** The env of n8n.md §3: headless, SQLite, loopback only, and the quiet set that makes zero outbound lookups. */
export function n8nEnv({
	cache,
	userFolder,
	port,
	brokerPort,
	extra = {},
}: N8nEnvInput): Record<string, string> {
	const env: Record<string, string> = {};
	for (const name of INHERITED) {
		const value = process.env[name];
		if (value !== undefined) env[name] = value;
	}
	const base = `http://127.0.0.1:${port}/`;
	Object.assign(env, {
		// n8n's own children (the JS task runner) run `node`: make that Node 24 too, whatever PATH the caller gives.
		PATH: [cache.nodeBinDir, extra.PATH ?? env.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(
			path.delimiter,
		),
		N8N_USER_FOLDER: userFolder,
		N8N_ENCRYPTION_KEY: HARNESS_ENCRYPTION_KEY,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_PROTOCOL: 'http',
		N8N_EDITOR_BASE_URL: base,
		// WEBHOOK_URL (used in n8n.md) still works in 2.41 but logs a deprecation; this is its replacement.
		N8N_WEBHOOK_URL: base,
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
		DB_TYPE: 'sqlite',
		N8N_LOG_OUTPUT: 'console',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_DIAGNOSTICS_CONFIG_FRONTEND: '',
		N8N_DIAGNOSTICS_CONFIG_BACKEND: '',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_DYNAMIC_BANNERS_ENABLED: 'false',
		N8N_VERIFIED_PACKAGES_ENABLED: 'false',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'false',
		N8N_AI_ENABLED: 'false',
		N8N_LICENSE_AUTO_RENEW_ENABLED: 'false',
		EXTERNAL_FRONTEND_HOOKS_URLS: '',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
		N8N_SECURE_COOKIE: 'false',
		// The MCP registry refresh is the last thing that phones home (api.n8n.io) once the quiet set is on.
		N8N_DISABLED_MODULES: 'mcp-registry',
	});
	const { PATH: _path, ...rest } = extra;
	return { ...env, ...rest };
}
