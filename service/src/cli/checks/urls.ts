import type { Config } from '../../config';
import { checkTarget } from '../../deliveries/delivery-target';
import { fail, ok, warn, type Check } from './check';

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|::1)$/i;

const health = (base: string) =>
	fetch(`${base.replace(/\/+$/, '')}/api/v1/health`, { signal: AbortSignal.timeout(5000) }).then(
		async (r) => (r.ok ? 'ok' : `answered ${r.status}`),
		(err: unknown) =>
			`does not answer (${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)})`,
	);

/** PUBLIC_URL: where claude's hooks and E2B sandboxes reach the service; behind a load balancer, the balancer. */
export async function checkPublicUrl(config: Config): Promise<Check> {
	const name = 'PUBLIC_URL';
	if (!config.publicUrl) {
		return ok(
			name,
			'unset: hooks go to the base URL of the n8n credential; only E2B sandboxes need PUBLIC_URL (set it to the load balancer when replicas run)',
		);
	}
	const answer = await health(config.publicUrl);
	if (answer !== 'ok') {
		return fail(
			name,
			`${config.publicUrl}/api/v1/health ${answer}`,
			'start the service (or the load balancer in front of it), or set PUBLIC_URL to an address of the service that answers from here',
		);
	}
	if (LOOPBACK.test(new URL(config.publicUrl).hostname)) {
		return warn(
			name,
			`${config.publicUrl} answers, but it is a loopback address`,
			'E2B sandboxes and claude on other hosts cannot reach it: use an address they can reach (the load balancer, an https tunnel)',
		);
	}
	return ok(name, `${config.publicUrl} answers health`);
}

const HOST_ENTRY = /^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+$|^\[?[0-9a-f:.]+\]?$/i;

/** DELIVERY_ALLOWED_HOSTS well-formed; with --n8n-url, n8n's host is one deliveries may go to. */
export async function checkDeliveryRules(
	config: Config,
	n8nUrl: string | undefined,
): Promise<Check> {
	const name = 'delivery hosts';
	const hosts = config.deliveryAllowedHosts;
	const bad = hosts.filter((h) => !HOST_ENTRY.test(h));
	if (bad.length) {
		return fail(
			name,
			`DELIVERY_ALLOWED_HOSTS has entries that are not host names: ${bad.join(', ')}`,
			'list bare host names or addresses, comma-separated: n8n.internal,*.example.com,127.0.0.1 (no scheme, port or path)',
		);
	}
	const rule = hosts.length
		? `only ${hosts.join(', ')}`
		: 'public hosts only (private, loopback and link-local refused)';
	if (!n8nUrl) return ok(name, `${rule}; pass --n8n-url to check n8n's host against it`);
	try {
		await checkTarget(new URL('/webhook/check/claude-hook', n8nUrl).href, hosts);
		return ok(name, `${rule}: n8n at ${new URL(n8nUrl).hostname} is allowed`);
	} catch (err) {
		const host = new URL(n8nUrl).hostname;
		return fail(
			name,
			`${rule}: ${err instanceof Error ? err.message : String(err)}`,
			`add ${host} to DELIVERY_ALLOWED_HOSTS (DELIVERY_ALLOWED_HOSTS=${[...hosts, host].join(',')})`,
		);
	}
}

/**
 * n8n and the service reach each other: n8n answers /healthz from here (the service delivers Hook Trigger events
 * to it), and the service URL n8n is given answers and is not a loopback address of another host.
 */
export async function checkN8n(n8nUrl: string, serviceUrl: string): Promise<Check> {
	const name = 'n8n';
	let n8n: URL;
	try {
		n8n = new URL(n8nUrl);
	} catch {
		return fail(
			name,
			`--n8n-url ${JSON.stringify(n8nUrl)} is not a URL`,
			"pass n8n's base URL, e.g. --n8n-url http://n8n.internal:5678",
		);
	}
	const healthz = await fetch(new URL('/healthz', n8n), { signal: AbortSignal.timeout(5000) }).then(
		(r) => (r.ok ? 'ok' : `answered ${r.status}`),
		(err: unknown) =>
			`does not answer (${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)})`,
	);
	if (healthz !== 'ok') {
		return fail(
			name,
			`${n8n.origin}/healthz ${healthz}`,
			'start n8n, or pass the URL it answers on from this host (Hook Trigger deliveries go there)',
		);
	}
	const service = await health(serviceUrl);
	if (service !== 'ok') {
		return fail(
			name,
			`n8n answers; the service at ${serviceUrl} ${service}`,
			"start the service, or set PUBLIC_URL to the address n8n uses for it (the credential's base URL)",
		);
	}
	if (LOOPBACK.test(new URL(serviceUrl).hostname) && !LOOPBACK.test(n8n.hostname)) {
		return fail(
			name,
			`n8n is at ${n8n.hostname} but the service is known as ${serviceUrl}, a loopback address of this host`,
			'listen on HOST=0.0.0.0 and give n8n (and PUBLIC_URL) an address of this host or of the load balancer',
		);
	}
	return ok(
		name,
		`${n8n.origin} answers /healthz; the service at ${serviceUrl} answers health for it`,
	);
}
