// Where a subscription may make the service send requests. Without this, anyone with the API key could point a
// subscription at 169.254.169.254 or an internal admin port and use the deliverer as a proxy into the network.
//
// DELIVERY_ALLOWED_HOSTS empty: any host whose every address is public; private, loopback, link-local and
// similar ranges are refused. Non-empty: only the listed hosts (`n8n.example.com`, `*.example.com`,
// `127.0.0.1`, `localhost`), and those are trusted whatever they resolve to, so a local n8n can be allowed.
import dns from 'node:dns';
import net from 'node:net';

export class TargetRefused extends Error {}

const blocked = new net.BlockList();
for (const [prefix, bits] of [
	['0.0.0.0', 8], // "this network"
	['10.0.0.0', 8],
	['100.64.0.0', 10], // carrier-grade NAT
	['127.0.0.0', 8],
	['169.254.0.0', 16], // link-local, cloud metadata
	['172.16.0.0', 12],
	['192.0.0.0', 24],
	['192.0.2.0', 24],
	['192.88.99.0', 24],
	['192.168.0.0', 16],
	['198.18.0.0', 15],
	['198.51.100.0', 24],
	['203.0.113.0', 24],
	['224.0.0.0', 4], // multicast
	['240.0.0.0', 4], // reserved, broadcast
] as const) {
	blocked.addSubnet(prefix, bits, 'ipv4');
}
for (const [prefix, bits] of [
	['::', 128],
	['::1', 128],
	['64:ff9b:1::', 48], // local-use NAT64
	['100::', 64], // discard
	['2001:db8::', 32], // documentation
	['fc00::', 7], // unique local
	['fe80::', 10], // link-local
	['fec0::', 10], // old site-local
	['ff00::', 8], // multicast
] as const) {
	blocked.addSubnet(prefix, bits, 'ipv6');
}

/** The IPv4 address an IPv6 address carries, for the forms that reach an IPv4 host (mapped, compatible, NAT64, 6to4). */
function embeddedIpv4(address: string): string | undefined {
	const lower = address.toLowerCase();
	const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
	if (dotted) return dotted[1];
	const groups = expandIpv6(lower);
	if (!groups) return undefined;
	const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
	const zeros = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
	if (zeros(0, 5) && groups[5] === 0xffff) return v4(groups[6], groups[7]); // ::ffff:a.b.c.d
	if (zeros(0, 6) && (groups[6] || groups[7] > 1)) return v4(groups[6], groups[7]); // ::a.b.c.d
	if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return v4(groups[6], groups[7]); // NAT64
	if (groups[0] === 0x2002) return v4(groups[1], groups[2]); // 6to4
	return undefined;
}

function expandIpv6(address: string): number[] | undefined {
	if (address.includes('.')) return undefined;
	const [head, tail] = address.split('::');
	const part = (s: string | undefined) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
	const a = part(head);
	const b = part(tail);
	const fill = address.includes('::') ? 8 - a.length - b.length : 0;
	const groups = [...a, ...Array<number>(Math.max(fill, 0)).fill(0), ...b];
	return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
		? groups
		: undefined;
}

/** True for an address on the public internet. */
export function isPublicAddress(address: string): boolean {
	const family = net.isIP(address);
	if (family === 4) return !blocked.check(address, 'ipv4');
	if (family === 6) {
		const v4 = embeddedIpv4(address);
		if (v4) return isPublicAddress(v4);
		return !blocked.check(address, 'ipv6');
	}
	return false;
}

const bare = (hostname: string) =>
	hostname
		.replace(/^\[|\]$/g, '')
		.toLowerCase()
		.replace(/\.$/, '');

export function isAllowlisted(hostname: string, allowedHosts: readonly string[]): boolean {
	const host = bare(hostname);
	return allowedHosts.some((entry) => {
		const e = bare(entry);
		return e.startsWith('*.')
			? host.endsWith(e.slice(1)) && host.length > e.length - 1
			: host === e;
	});
}

/** Scheme, credentials and host rules that need no DNS; returns the parsed URL. */
export function checkTargetUrl(raw: string, allowedHosts: readonly string[]): URL {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new TargetRefused(`${raw} is not a URL`);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		throw new TargetRefused(
			`only http and https delivery URLs are allowed, not ${url.protocol.replace(/:$/, '')}`,
		);
	}
	if (url.username || url.password)
		throw new TargetRefused('delivery URLs may not carry a user name or password');
	if (allowedHosts.length && !isAllowlisted(url.hostname, allowedHosts)) {
		throw new TargetRefused(
			`host ${bare(url.hostname)} is not in DELIVERY_ALLOWED_HOSTS (${allowedHosts.join(', ')})`,
		);
	}
	const host = bare(url.hostname);
	if (!allowedHosts.length && net.isIP(host) && !isPublicAddress(host)) {
		throw new TargetRefused(
			`${host} is a private, loopback or link-local address; list it in DELIVERY_ALLOWED_HOSTS to deliver there`,
		);
	}
	return url;
}

type LookupCallback = (
	err: NodeJS.ErrnoException | null,
	address: string | dns.LookupAddress[],
	family?: number,
) => void;

/**
 * A `lookup` for http.request that refuses names resolving to any non-public address. The connection then uses
 * exactly the addresses checked here, so a DNS answer that changes between check and connect cannot slip through.
 */
export function guardedLookup(allowedHosts: readonly string[]) {
	return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
		dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
			if (err) return callback(err, []);
			if (!isAllowlisted(hostname, allowedHosts)) {
				const bad = addresses.find((a) => !isPublicAddress(a.address));
				if (bad) {
					const refused = new TargetRefused(
						`${hostname} resolves to ${bad.address}, a private, loopback or link-local address; list it in DELIVERY_ALLOWED_HOSTS to deliver there`,
					) as NodeJS.ErrnoException;
					refused.code = 'ETARGETREFUSED';
					return callback(refused, []);
				}
			}
			if (options.all) return callback(null, addresses);
			const first = addresses[0];
			if (!first)
				return callback(
					Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }),
					[],
				);
			callback(null, first.address, first.family);
		});
	};
}

/** Full check for a new subscription: the URL rules, then (for names) every address the name resolves to. */
export async function checkTarget(raw: string, allowedHosts: readonly string[]): Promise<URL> {
	const url = checkTargetUrl(raw, allowedHosts);
	const host = bare(url.hostname);
	if (net.isIP(host) || isAllowlisted(host, allowedHosts)) return url;
	let addresses: dns.LookupAddress[];
	try {
		addresses = await dns.promises.lookup(host, { all: true });
	} catch (err) {
		throw new TargetRefused(
			`cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
		);
	}
	const bad = addresses.find((a) => !isPublicAddress(a.address));
	if (bad) {
		throw new TargetRefused(
			`${host} resolves to ${bad.address}, a private, loopback or link-local address; list it in DELIVERY_ALLOWED_HOSTS to deliver there`,
		);
	}
	return url;
}
