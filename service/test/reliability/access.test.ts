import crypto from 'node:crypto';
import {
	api,
	startTestService,
	TEST_API_KEY,
	type TestService,
} from '../../../test/support/test-service';
import { listRoutes, type RouteInfo } from './routes';

// Who may do what, for every route the app has (read from its router, so a route added later is covered
// without editing this file): nothing but health without credentials, a hook token only posts its own
// session's events, the dashboard token only reads, and every credential check is constant-time.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
const DASHBOARD_TOKEN = 'dashboard-token-0123456789abcdef';
// Health, and the charting library's files, which are served to the dashboard's pages like its own static files.
const PUBLIC = new Set(['GET /api/v1/health', 'GET /vendor/:file']);
const HOOK_ROUTES = new Set([
	'POST /api/v1/hooks',
	'POST /api/v1/hooks/tool-complete',
	'POST /api/v1/hooks/notification',
]);

describe(`access to every route (${kind})`, () => {
	let svc: TestService;
	let routes: RouteInfo[];
	let own: { id: string; hookToken: string };
	let other: { id: string; hookToken: string };
	const marker = `secret-prompt-${crypto.randomUUID()}`;

	beforeAll(async () => {
		svc = await startTestService(kind, {
			DASHBOARD_TOKEN,
			DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
			DELIVERY_POLL_INTERVAL_MS: '60000',
		});
		routes = listRoutes(svc.app);
		own = (
			await api(svc, 'POST', '/api/v1/sessions', {
				prompt: marker,
				threadKey: `slack:C1:${crypto.randomUUID()}`,
			})
		).body;
		other = (await api(svc, 'POST', '/api/v1/sessions', { prompt: marker })).body;
		await api(svc, 'POST', '/api/v1/subscriptions', {
			url: `http://127.0.0.1:9/${crypto.randomUUID()}`,
		});
	});
	afterAll(() => svc?.stop());

	/** A request to the route with real ids filled in, so a route that forgot its guard would answer with data. */
	const call = (r: RouteInfo, headers: Record<string, string>, sessionId = own.id) => {
		const path = r.path
			.replace(':id', sessionId)
			.replace(':runId', crypto.randomUUID())
			.replace(':key', 'slack:C1:1.2');
		const body =
			r.method === 'GET' || r.method === 'DELETE'
				? undefined
				: { session_id: sessionId, hook_event_name: 'Stop', prompt: 'x', owner: 'o' };
		return api(
			svc,
			r.method,
			`${path}${r.method === 'DELETE' ? '?owner=o&url=x' : ''}`,
			body,
			headers,
		);
	};
	const key = (r: RouteInfo) => `${r.method} ${r.path.replace(/^\/api(?!\/v1)/, '/api/v1')}`;

	it('finds the routes: every /api/v1 route has its /api alias', () => {
		expect(routes.length).toBeGreaterThanOrEqual(40);
		for (const r of routes.filter(
			(x) => x.path.startsWith('/api/v1/') && x.path !== '/api/v1/health',
		)) {
			expect(routes).toContainEqual({
				method: r.method,
				path: r.path.replace('/api/v1/', '/api/'),
			});
		}
	});

	it('answers nothing but health without credentials, or with wrong ones', async () => {
		const wrong: Array<Record<string, string>> = [
			{},
			{ Authorization: 'Bearer ' },
			{ Authorization: `Bearer ${TEST_API_KEY}x` },
			{ Authorization: `Bearer ${TEST_API_KEY.slice(0, -1)}` },
			{ Authorization: `Basic ${Buffer.from(`admin:${TEST_API_KEY}`).toString('base64')}` },
			{ Authorization: TEST_API_KEY },
			{ 'x-api-key': TEST_API_KEY.toUpperCase() },
			{ Authorization: `Bearer ht1.${own.id}.${'A'.repeat(43)}` }, // the old, never-ending form
			{ Authorization: `Bearer ht2.${own.id}.` },
			{
				Authorization: `Bearer ${[...own.hookToken.split('.').slice(0, 4), other.hookToken.split('.')[4]].join('.')}`,
			},
			{ Authorization: `Bearer ${own.hookToken.replace(own.id, '')}` },
			// Its own signature over a longer life, or over another generation.
			{
				Authorization: `Bearer ${own.hookToken.replace(/\.(\d+)\.([A-Za-z0-9_-]+)$/, (_m, exp: string, sig: string) => `.${Number(exp) + 86_400}.${sig}`)}`,
			},
			{
				Authorization: `Bearer ${own.hookToken.replace(/^(ht2\.[^.]+\.)(\d+)/, (_m, head: string, gen: string) => `${head}${Number(gen) + 1}`)}`,
			},
			{ Authorization: `Bearer ${own.hookToken}x` },
		];
		const answered: string[] = [];
		for (const r of routes) {
			for (const headers of wrong) {
				const res = await call(r, headers);
				if (PUBLIC.has(key(r))) continue;
				if (res.status !== 401 || JSON.stringify(res.body).includes(marker))
					answered.push(`${key(r)} ${JSON.stringify(headers)} → ${res.status}`);
			}
		}
		expect(answered).toEqual([]);
		const health = await api(svc, 'GET', '/api/v1/health', undefined, {});
		expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
		// Unknown paths say "no route" whoever asks; the dashboard's static files carry no data.
		for (const path of [
			'/api/v1/secrets',
			'/api/v1/sessions/../metrics',
			'/metrics/',
			'/.env',
			'/api/v1/admin',
		]) {
			const res = await api(svc, 'GET', path, undefined, {});
			expect(JSON.stringify(res.body ?? '')).not.toContain(marker);
			expect([401, 404]).toContain(res.status);
		}
	});

	it("lets a session's hook token post that session's events and nothing else", async () => {
		const token = { Authorization: `Bearer ${own.hookToken}` };
		const allowed: string[] = [];
		for (const r of routes) {
			if (PUBLIC.has(key(r))) continue;
			for (const sessionId of [own.id, other.id]) {
				const res = await call(r, token, sessionId);
				const mayWrite = HOOK_ROUTES.has(key(r)) && sessionId === own.id;
				if (
					mayWrite
						? res.status >= 300
						: res.status < 400 || JSON.stringify(res.body).includes(marker)
				) {
					allowed.push(
						`${key(r)} for ${sessionId === own.id ? 'its own' : 'another'} session → ${res.status}`,
					);
				}
			}
		}
		expect(allowed).toEqual([]);
		// Another session's events: refused and named, and nothing was written for it.
		const cross = await api(
			svc,
			'POST',
			'/api/v1/hooks',
			{ session_id: other.id, hook_event_name: 'Stop' },
			token,
		);
		expect(cross).toMatchObject({
			status: 403,
			body: { message: `this hook token belongs to session ${own.id}, not ${other.id}` },
		});
		expect((await api(svc, 'GET', `/api/v1/sessions/${other.id}/events`)).body.items).toEqual([]);
	});

	it('lets the dashboard token read and nothing else', async () => {
		const token = { Authorization: `Bearer ${DASHBOARD_TOKEN}` };
		const wrong: string[] = [];
		for (const r of routes) {
			if (PUBLIC.has(key(r))) continue;
			const res = await call(r, token);
			// Reading subscriptions (they hold delivery URLs) needs the API key too.
			const mayRead = r.method === 'GET' && !key(r).startsWith('GET /api/v1/subscriptions');
			if (mayRead ? res.status === 401 || res.status === 403 : res.status !== 403)
				wrong.push(`${key(r)} → ${res.status}`);
		}
		expect(wrong).toEqual([]);
	});

	it('compares every presented credential in constant time, whatever its length or how much of it matches', async () => {
		const cryptoModule = jest.requireActual<typeof import('node:crypto')>('node:crypto');
		const spy = jest.spyOn(cryptoModule, 'timingSafeEqual');
		try {
			const presented = [
				'x',
				TEST_API_KEY.slice(0, -1) + 'X', // all but the last character right
				'Y' + TEST_API_KEY.slice(1), // all but the first
				TEST_API_KEY + TEST_API_KEY, // longer
				DASHBOARD_TOKEN.slice(0, 10),
				`ht2.${own.id}.1.${Math.floor(Date.now() / 1000) + 3600}.${'A'.repeat(43)}`, // a hook token with a forged signature
				TEST_API_KEY,
			];
			for (const p of presented) {
				spy.mockClear();
				await api(svc, 'GET', '/api/v1/sessions', undefined, { Authorization: `Bearer ${p}` });
				// Every comparison went through timingSafeEqual, on two 32-byte digests: the time does not depend on
				// where the first difference is, nor on the length of what was sent.
				expect(spy.mock.calls.length).toBeGreaterThan(0);
				for (const [a, b] of spy.mock.calls)
					expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
			}
		} finally {
			spy.mockRestore();
		}
	});
});
