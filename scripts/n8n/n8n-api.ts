import * as fs from 'node:fs';
import * as path from 'node:path';

// A throw-away owner for a loopback-only test instance; n8n needs one before it hands out public-API keys.
export const HARNESS_OWNER = {
	email: 'harness-owner@example.com',
	password: 'Harness-Passw0rd!1',
	firstName: 'Harness',
	lastName: 'Owner',
};
const REQUEST_TIMEOUT_MS = 30_000;

export class N8nApiError extends Error {
	constructor(
		message: string,
		readonly status: number,
		readonly body: string,
	) {
		super(message);
	}
}

/**
 * Public API client (`/api/v1/*`, `X-N8N-API-KEY`). The key is made on first use: owner setup (once per
 * database), login, `POST /rest/api-keys` (n8n.md §3 path B). It is kept in the user folder, so a restarted or
 * reused instance does not mint another.
 */
export class N8nApi {
	private key: string | undefined;

	constructor(
		private readonly baseUrl: () => string,
		private readonly userFolder: string,
	) {}

	async request<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
		const key = await this.apiKey();
		return this.send<T>(method, `/api/v1${route}`, { 'X-N8N-API-KEY': key }, body);
	}

	async apiKey(): Promise<string> {
		if (this.key) return this.key;
		const file = path.join(this.userFolder, 'harness-api-key');
		if (fs.existsSync(file)) return (this.key = fs.readFileSync(file, 'utf8').trim());
		const cookie = await this.login();
		const scopes = await this.send<{ data: string[] }>('GET', '/rest/api-keys/scopes', { cookie });
		const created = await this.send<{ data: { rawApiKey: string } }>(
			'POST',
			'/rest/api-keys',
			{ cookie },
			{
				label: `harness-${Date.now()}`,
				scopes: scopes.data,
				expiresAt: null,
			},
		);
		this.key = created.data.rawApiKey;
		fs.writeFileSync(file, this.key, { mode: 0o600 });
		return this.key;
	}

	private async login(): Promise<string> {
		const { email, password, firstName, lastName } = HARNESS_OWNER;
		try {
			await this.send('POST', '/rest/owner/setup', {}, { email, password, firstName, lastName });
		} catch (err) {
			// 400 "Instance owner already setup" on every start after the first; anything else is real.
			if (!(err instanceof N8nApiError && err.status === 400)) throw err;
		}
		const res = await fetch(`${this.baseUrl()}/rest/login`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ emailOrLdapLoginId: email, password }),
			signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
		});
		if (!res.ok)
			throw new N8nApiError(`n8n login failed: ${res.status}`, res.status, await res.text());
		const cookie = res.headers
			.getSetCookie()
			.map((c) => c.split(';')[0])
			.find((c) => c.startsWith('n8n-auth='));
		if (!cookie) throw new Error('n8n login returned no n8n-auth cookie');
		return cookie;
	}

	private async send<T>(
		method: string,
		route: string,
		headers: Record<string, string>,
		body?: unknown,
	): Promise<T> {
		const res = await fetch(`${this.baseUrl()}${route}`, {
			method,
			headers: {
				...headers,
				...(body === undefined ? {} : { 'content-type': 'application/json' }),
			},
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
		});
		const text = await res.text();
		if (!res.ok)
			throw new N8nApiError(
				`n8n ${method} ${route} → ${res.status}: ${text.slice(0, 500)}`,
				res.status,
				text,
			);
		return (text ? JSON.parse(text) : undefined) as T;
	}
}
