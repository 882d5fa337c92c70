import crypto from 'node:crypto';
import { isPublicAddress } from '../src/deliveries/delivery-target';
import { api, DATABASE_KINDS, serviceForSuite } from '../../test/support/test-service';

const hookUrl = (host = '127.0.0.1:9') =>
	`http://${host}/webhook/${crypto.randomUUID()}/claude-hook`;

describe.each(DATABASE_KINDS)('subscriptions API (%s)', (kind) => {
	const t = serviceForSuite(kind, {
		DELIVERY_ALLOWED_HOSTS: '127.0.0.1, n8n.internal.example',
	});

	it('creates, lists, reads, replaces and deletes a subscription; the secret is returned only by POST', async () => {
		const url = hookUrl();
		const sessionId = crypto.randomUUID();
		// Kept as given; the events lose their repeat.
		const filters = {
			toolFilter: 'Edit|Write',
			sessionId,
			workspaceType: 'worktree',
			threadKey: 'slack:C123:1712345678.000100',
			workflowId: 'wf1',
			nodeName: 'Claude Hook Trigger',
		};
		const created = await api(t.svc, 'POST', '/api/v1/subscriptions', {
			url,
			events: ['PostToolUse', 'PostToolUseFailure', 'PostToolUse'],
			...filters,
		});
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({
			url,
			events: ['PostToolUse', 'PostToolUseFailure'],
			...filters,
		});
		expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{40,}$/);
		const id = created.body.id;

		const one = await api(t.svc, 'GET', `/api/v1/subscriptions/${id}`);
		expect(one.status).toBe(200);
		expect(one.body).toMatchObject({ id, url, deliveries: { pending: 0, dead: 0 } });
		expect(one.body).not.toHaveProperty('secret');

		const byUrl = await api(t.svc, 'GET', `/api/v1/subscriptions?url=${encodeURIComponent(url)}`);
		expect(byUrl.body.items.map((s: any) => s.id)).toEqual([id]);
		expect(byUrl.body.items[0]).not.toHaveProperty('secret');
		const all = await api(t.svc, 'GET', '/api/v1/subscriptions');
		expect(all.body.items.map((s: any) => s.id)).toContain(id);

		// The same URL again (a trigger re-registering after losing its state): same id, new filters and secret.
		const again = await api(t.svc, 'POST', '/api/v1/subscriptions', {
			url,
			events: ['*'],
			secret: 'my-own-secret-0123456789',
		});
		expect(again.status).toBe(200);
		expect(again.body).toMatchObject({
			id,
			url,
			events: [],
			toolFilter: null,
			sessionId: null,
			workspaceType: null,
			secret: 'my-own-secret-0123456789',
		});
		expect(
			(await api(t.svc, 'GET', `/api/v1/subscriptions?url=${encodeURIComponent(url)}`)).body.items,
		).toHaveLength(1);

		expect((await api(t.svc, 'DELETE', `/api/v1/subscriptions/${id}`)).status).toBe(204);
		const gone = await api(t.svc, 'GET', `/api/v1/subscriptions/${id}`);
		expect(gone.status).toBe(404);
		expect(gone.body.message).toContain(id);
		expect((await api(t.svc, 'DELETE', `/api/v1/subscriptions/${id}`)).status).toBe(404);
	});

	it('deletes by URL', async () => {
		const url = hookUrl();
		expect((await api(t.svc, 'POST', '/api/v1/subscriptions', { url })).status).toBe(201);
		expect(
			(await api(t.svc, 'DELETE', `/api/v1/subscriptions?url=${encodeURIComponent(url)}`)).status,
		).toBe(204);
		expect(
			(await api(t.svc, 'GET', `/api/v1/subscriptions?url=${encodeURIComponent(url)}`)).body.items,
		).toEqual([]);
		expect(
			(await api(t.svc, 'DELETE', `/api/v1/subscriptions?url=${encodeURIComponent(url)}`)).status,
		).toBe(404);
		const noUrl = await api(t.svc, 'DELETE', '/api/v1/subscriptions');
		expect(noUrl.status).toBe(400);
		expect(noUrl.body.message).toContain('url');
	});

	it('answers invalid registrations with 400s that say what is wrong', async () => {
		const cases: Array<[unknown, string]> = [
			[{}, 'url'],
			[{ url: 'not a url' }, 'url must be an absolute URL'],
			[{ url: hookUrl(), events: ['Post Tool Use'] }, 'events.0'],
			[{ url: hookUrl(), events: 'Stop' }, 'events'],
			[
				{ url: hookUrl(), toolFilter: 'Bash(' },
				'toolFilter: "Bash(" has "(", which is not part of a tool name',
			],
			[{ url: hookUrl(), toolFilter: '(a|a)+' }, 'toolFilter: "(a|a)+" has "("'],
			[{ url: hookUrl(), sessionId: 'abc' }, 'sessionId'],
			[{ url: hookUrl(), workspaceType: 'cloud' }, 'workspaceType'],
			[{ url: hookUrl(), threadKey: 'no-colon' }, 'threadKey'],
			[{ url: hookUrl(), secret: 'short' }, 'secret must be at least 16 characters'],
			[{ url: hookUrl(), colour: 'blue' }, 'colour'],
		];
		for (const [body, message] of cases) {
			const res = await api(t.svc, 'POST', '/api/v1/subscriptions', body);
			expect({ body, status: res.status }).toEqual({ body, status: 400 });
			expect(res.body.message).toContain(message);
		}
		const badId = await api(t.svc, 'GET', '/api/v1/subscriptions/123');
		expect(badId.status).toBe(400);
		expect(badId.body.message).toContain('subscription id');
	});

	it('needs the API key', async () => {
		const url = hookUrl();
		expect((await api(t.svc, 'POST', '/api/v1/subscriptions', { url }, {})).status).toBe(401);
		expect(
			(
				await api(t.svc, 'GET', '/api/v1/subscriptions', undefined, {
					Authorization: 'Bearer wrong-key-0123456789',
				})
			).status,
		).toBe(401);
		expect((await api(t.svc, 'GET', '/api/subscriptions')).status).toBe(200); // the /api alias
	});

	it('refuses targets outside DELIVERY_ALLOWED_HOSTS and non-http schemes', async () => {
		for (const [url, message] of [
			['http://10.0.0.5/webhook/x/claude-hook', 'not in DELIVERY_ALLOWED_HOSTS'],
			['http://localhost:5678/webhook/x/claude-hook', 'not in DELIVERY_ALLOWED_HOSTS'],
			['https://n8n.example.com/webhook/x/claude-hook', 'not in DELIVERY_ALLOWED_HOSTS'],
			['ftp://127.0.0.1/x', 'only http and https'],
			['file:///etc/passwd', 'only http and https'],
			['http://user:pass@127.0.0.1/x', 'user name or password'],
		]) {
			const res = await api(t.svc, 'POST', '/api/v1/subscriptions', { url });
			expect({ url, status: res.status }).toEqual({ url, status: 400 });
			expect(res.body.message).toContain(message);
		}
		// An allowlisted name is trusted without resolving it (it may only exist inside the operator's network).
		expect(
			(
				await api(t.svc, 'POST', '/api/v1/subscriptions', {
					url: `https://n8n.internal.example/webhook/${crypto.randomUUID()}/claude-hook`,
				})
			).status,
		).toBe(201);
	});
});

describe.each(DATABASE_KINDS)('subscription targets without an allowlist (%s)', (kind) => {
	const t = serviceForSuite(kind, { DELIVERY_ALLOWED_HOSTS: '' });

	it('refuses private, loopback, link-local and metadata addresses, also behind a name', async () => {
		for (const host of [
			'127.0.0.1:5678',
			'10.1.2.3',
			'172.20.0.1',
			'192.168.1.10',
			'169.254.169.254',
			'100.64.0.1',
			'0.0.0.0',
			'[::1]',
			'[fe80::1]',
			'[fd00::1]',
			'[::ffff:127.0.0.1]',
			'[::ffff:a9fe:a9fe]',
			'[64:ff9b::a00:1]',
			'[2002:a00:1::]',
			'localhost:5678', // a name: resolved, and every address it has is checked
		]) {
			const res = await api(t.svc, 'POST', '/api/v1/subscriptions', { url: hookUrl(host) });
			expect({ host, status: res.status }).toEqual({ host, status: 400 });
			expect(res.body.message).toMatch(/private, loopback or link-local/);
		}
	});

	it('accepts a public address', async () => {
		const res = await api(t.svc, 'POST', '/api/v1/subscriptions', {
			url: hookUrl('93.184.215.14'),
		});
		expect(res.status).toBe(201);
	});
});

describe('public address check', () => {
	it.each([
		['8.8.8.8', true],
		['93.184.215.14', true],
		['2606:4700:4700::1111', true],
		['::ffff:8.8.8.8', true],
		['127.0.0.1', false],
		['127.255.0.1', false],
		['10.0.0.1', false],
		['172.31.255.255', false],
		['172.32.0.1', true],
		['192.168.0.1', false],
		['169.254.169.254', false],
		['100.100.100.200', false],
		['224.0.0.1', false],
		['255.255.255.255', false],
		['::1', false],
		['::', false],
		['fe80::abcd', false],
		['fc00::1', false],
		['::ffff:10.0.0.1', false],
		['::ffff:7f00:1', false],
		['64:ff9b::7f00:1', false],
		['2002:c0a8:0101::1', false],
		['not-an-ip', false],
	])('%s → %s', (address, expected) => {
		expect(isPublicAddress(address)).toBe(expected);
	});
});
