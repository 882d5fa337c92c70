import fc from 'fast-check';
import { api, startTestService, type TestService } from '../../../test/support/test-service';

// A subscription makes the service send requests; without DELIVERY_ALLOWED_HOSTS it must never be pointed at a
// loopback, private or link-local address, however the address is spelled. The plain spellings are in
// subscriptions.test.ts; here every IPv4 address of those ranges in every form a URL parser accepts
// (dotted, one 32-bit number, hex, octal, short forms, IPv4-mapped IPv6), generated.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

const RANGES: Array<[string, number, number]> = [
	['loopback', 0x7f000000, 8],
	['link-local', 0xa9fe0000, 16],
	['private 10/8', 0x0a000000, 8],
	['private 172.16/12', 0xac100000, 12],
	['private 192.168/16', 0xc0a80000, 16],
	['this network', 0x00000000, 8],
	['carrier NAT', 0x64400000, 10],
];

const address = fc
	.tuple(fc.constantFrom(...RANGES), fc.nat())
	.map(([[name, base, bits], n]) => ({ name, ip: (base | (n & (2 ** (32 - bits) - 1))) >>> 0 }));

const octets = (ip: number) => [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
const SPELLINGS: Record<string, (ip: number) => string> = {
	dotted: (ip) => octets(ip).join('.'),
	decimal: (ip) => String(ip),
	hex: (ip) => `0x${ip.toString(16)}`,
	octalDotted: (ip) =>
		octets(ip)
			.map((o) => `0${o.toString(8)}`)
			.join('.'),
	hexDotted: (ip) =>
		octets(ip)
			.map((o) => `0x${o.toString(16)}`)
			.join('.'),
	short: (ip) => `${ip >>> 24}.${ip & 0xffffff}`,
	mapped: (ip) => `[::ffff:${octets(ip).join('.')}]`,
	mappedHex: (ip) => `[::ffff:${(ip >>> 16).toString(16)}:${(ip & 0xffff).toString(16)}]`,
};

describe(`subscription URLs on loopback and link-local addresses are refused (${kind})`, () => {
	let svc: TestService;
	beforeAll(async () => {
		svc = await startTestService(kind, { DELIVERY_ALLOWED_HOSTS: '' });
	});
	afterAll(() => svc?.stop());

	it('in every spelling, with a message, storing nothing', async () => {
		await fc.assert(
			fc.asyncProperty(
				address,
				fc.constantFrom(...Object.keys(SPELLINGS)),
				fc.constantFrom('http', 'https'),
				fc.constantFrom('', ':5678', ':80'),
				async ({ ip }, spelling, scheme, port) => {
					const url = `${scheme}://${SPELLINGS[spelling](ip)}${port}/webhook/x/claude-hook`;
					const res = await api(svc, 'POST', '/api/v1/subscriptions', { url });
					expect({ url, status: res.status }).toEqual({ url, status: 400 });
					expect(res.body.message).toMatch(
						/private, loopback or link-local|not a URL|must be an absolute URL/,
					);
				},
			),
			{ numRuns: 400 },
		);
		expect((await api(svc, 'GET', '/api/v1/subscriptions')).body.items).toEqual([]);
	});
});
