import crypto from 'node:crypto';
import fc from 'fast-check';
import {
	api,
	DATABASE_KINDS,
	startTestService,
	TEST_API_KEY,
	type TestService,
} from '../../../test/support/test-service';
import {
	encodeBody,
	FIELD_NAMES,
	hostileKey,
	hostileString,
	hostileValue,
	INVALID_UTF8_SEQUENCES,
	malformedBody,
	objectOf,
} from './hostile-values';
import { listRoutes, type RouteInfo } from './routes';

// Thousands of generated requests against every route the app has (found in its router, so new routes are
// covered without editing this file): wrong types, deep nesting, huge strings, invalid UTF-8, prototype-polluting
// keys, malformed JSON, wrong content types, hostile path and query parameters, and valid payloads with a few
// fields swapped for any of those. Whatever comes in: never a 5xx, never a crash, a message with every 4xx, and
// nothing stored for a request that was refused. Set FUZZ_SCALE=10 for a long local run.
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const RUNS_ANY_ROUTE = Math.round(1200 * SCALE);
const RUNS_PER_KNOWN_ROUTE = Math.round(160 * SCALE);

type Ctx = { sessionId: string; threadKey: string };

const iso = () => new Date().toISOString();
/** A valid payload per route; the fuzz swaps, drops and adds fields on top of it. */
const BASES: Record<string, (ctx: Ctx) => fc.Arbitrary<Record<string, unknown>>> = {
	'POST /api/v1/hooks': (ctx) =>
		fc.record({
			session_id: fc.oneof(fc.constant(ctx.sessionId), fc.uuid()),
			hook_event_name: fc.constantFrom(
				'PreToolUse',
				'PostToolUse',
				'PostToolUseFailure',
				'PermissionDenied',
				'Stop',
				'SessionEnd',
				'UserPromptSubmit',
				'Notification',
				'StopFailure',
			),
			tool_name: fc.constant('Bash'),
			tool_use_id: fc.uuid().map((u) => `toolu_${u}`),
			prompt_id: fc.uuid(),
			tool_input: fc.constant({ command: 'ls' }),
			tool_response: fc.constant({ stdout: 'a\n' }),
			duration_ms: fc.nat(5000),
			cwd: fc.constant('/srv/app'),
			permission_mode: fc.constant('default'),
		}),
	'POST /api/v1/hooks/tool-complete': (ctx) =>
		fc.record({
			session: fc.constant(ctx.sessionId),
			tool: fc.constant('Bash'),
			input: fc.constant({ command: 'ls' }),
			result: fc.constant('ok'),
			duration: fc.nat(100),
		}),
	'POST /api/v1/hooks/notification': (ctx) =>
		fc.record({
			session_id: fc.constant(ctx.sessionId),
			message: fc.constant('waiting'),
			title: fc.constant('t'),
			type: fc.constant('idle_prompt'),
		}),
	'POST /api/v1/sessions': () =>
		fc.record({
			id: fc.uuid(),
			prompt: fc.constant('fix the tests'),
			status: fc.constant('running'),
			workspaceType: fc.constant('local'),
			workspacePath: fc.constant('/srv/app'),
			workspaceBranch: fc.constant('main'),
			sandboxId: fc.constant('sbx1'),
			repository: fc.constant('acme/app'),
			model: fc.constant('sonnet'),
			cliVersion: fc.constant('2.1.331'),
			threadKey: fc.uuid().map((u) => `slack:C1:${u}`),
			metadata: fc.constant({ a: 1 }),
		}),
	'PATCH /api/v1/sessions/:id': () =>
		fc.record({
			status: fc.constant('running'),
			result: fc.constant('done'),
			isError: fc.constant(false),
			errorMessage: fc.constant('x'),
			metadata: fc.constant({ b: 2 }),
			hooksMissing: fc.constant(false),
		}),
	'POST /api/v1/sessions/:id/lease': () =>
		fc.record({ owner: fc.uuid(), ttlSeconds: fc.constant(5) }),
	'PUT /api/v1/sessions/:id/runs/:runId': () =>
		fc.record({
			kind: fc.constant('start'),
			status: fc.constant('completed'),
			prompt: fc.constant('p'),
			result: fc.constant('r'),
			isError: fc.constant(false),
			subtype: fc.constant('success'),
			costUsd: fc.constant(0.01),
			usage: fc.constant({ input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 0 }),
			modelUsage: fc.constant({ sonnet: { costUSD: 0.01 } }),
			numTurns: fc.constant(2),
			durationMs: fc.constant(1000),
			permissionDenials: fc.constant([
				{ tool_name: 'Bash', tool_use_id: 'toolu_1', tool_input: { command: 'rm' } },
			]),
			cliVersion: fc.constant('2.1.331'),
			exitCode: fc.constant(0),
			startedAt: fc.constant(iso()),
			endedAt: fc.constant(iso()),
		}),
	'POST /api/v1/sessions/:id/messages': () =>
		fc
			.record({
				direction: fc.constant('user'),
				content: fc.constant('hello'),
				source: fc.constant('slack'),
				externalId: fc.uuid(),
				createdAt: fc.constant(iso()),
			})
			.map((m) => objectOf([['messages', [m]]])),
	'POST /api/v1/sessions/:id/tool-calls': () =>
		fc
			.record({
				toolUseId: fc.uuid(),
				toolName: fc.constant('Bash'),
				input: fc.constant({ command: 'ls' }),
				response: fc.constant({ stdout: '' }),
				error: fc.constant('e'),
				status: fc.constant('succeeded'),
				durationMs: fc.constant(3),
				startedAt: fc.constant(iso()),
				finishedAt: fc.constant(iso()),
			})
			.map((c) => objectOf([['toolCalls', [c]]])),
	'PUT /api/v1/threads/:key': (ctx) =>
		fc.record({ sessionId: fc.constant(ctx.sessionId), metadata: fc.constant({ channel: 'C1' }) }),
	'POST /api/v1/subscriptions': (ctx) =>
		fc.record({
			url: fc.uuid().map((u) => `http://127.0.0.1:9/webhook/${u}`),
			events: fc.constant(['Stop']),
			toolFilter: fc.constant('Bash|Edit'),
			sessionId: fc.constant(ctx.sessionId),
			threadKey: fc.constant(ctx.threadKey),
			workspaceType: fc.constant('local'),
			secret: fc.constant('s'.repeat(20)),
			workflowId: fc.constant('wf1'),
			nodeName: fc.constant('Claude Hook Trigger'),
		}),
};

/**
 * Mostly one field swapped for a hostile value (so a value the validation lets through reaches the database),
 * otherwise up to three swapped, up to two dropped and up to two hostile keys added.
 */
function mutate(base: Record<string, unknown>): fc.Arbitrary<unknown> {
	const keys = Object.keys(base);
	// Batches (messages, toolCalls) are mutated inside their items too.
	const inner =
		keys.length === 1 && Array.isArray(base[keys[0]])
			? (base[keys[0]] as Array<Record<string, unknown>>)[0]
			: undefined;
	if (inner)
		return fc
			.array(mutate(inner), { minLength: 1, maxLength: 3 })
			.map((items) => objectOf([[keys[0], items]]));
	const build = (
		replace: Array<[string, unknown]>,
		drop: string[],
		extra: Array<[string, unknown]>,
	) => {
		const swapped = new Map(replace);
		const pairs: Array<[string, unknown]> = keys
			.filter((k) => !drop.includes(k))
			.map((k) => [k, swapped.has(k) ? swapped.get(k) : base[k]]);
		return objectOf([...pairs, ...extra]);
	};
	return fc.oneof(
		{
			weight: 3,
			arbitrary: fc
				.tuple(fc.constantFrom(...keys), hostileValue)
				.map((one) => build([one], [], [])),
		},
		{
			weight: 2,
			arbitrary: fc
				.record({
					replace: fc.array(fc.tuple(fc.constantFrom(...keys), hostileValue), { maxLength: 3 }),
					drop: fc.subarray(keys, { maxLength: 2 }),
					extra: fc.array(fc.tuple(hostileKey, hostileValue), { maxLength: 2 }),
				})
				.map(({ replace, drop, extra }) => build(replace, drop, extra)),
		},
	);
}

/** Percent-encodes the UTF-8 bytes of any string (lone surrogates included), or passes a raw malformed escape. */
const pathPart = fc.oneof(
	{
		weight: 5,
		arbitrary: hostileString
			.filter((s) => s.length < 3000)
			.map((s) => [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
	},
	{ weight: 1, arbitrary: fc.constantFrom('%FF', '%', '%E0%A4%A', '..', '%2e%2e%2f%2e%2e', '%00') },
);

const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
/**
 * A timestamp in the shape PostgreSQL prints (what keyset cursors carry) with any value in each field: mostly
 * dates that do not exist (February 30th, month 13, hour 99, offset +99), which the shape alone let through to a
 * failing cast (a 500).
 */
const cursorTimeText = fc
	.tuple(
		fc.integer({ min: 0, max: 9999 }),
		two(99),
		two(99),
		two(99),
		two(99),
		two(99),
		fc.option(fc.integer({ min: 0, max: 999_999 }), { nil: undefined }),
		fc.constantFrom('+', '-'),
		two(99),
		fc.option(two(99), { nil: undefined }),
	)
	.map(
		([y, mo, d, h, mi, sec, frac, sign, oh, om]) =>
			`${String(y).padStart(4, '0')}-${mo}-${d} ${h}:${mi}:${sec}${frac === undefined ? '' : `.${frac}`}${sign}${oh}${om === undefined ? '' : `:${om}`}`,
	);
const encodeCursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** Keyset cursors of every shape the service hands out, with such a time. */
const timeCursor = fc
	.tuple(cursorTimeText, fc.oneof(fc.uuid(), fc.nat(1000)))
	.map(([t, id]) => encodeCursor({ t, id }));

interface Request {
	method: string;
	path: string;
	body: unknown;
	contentType: string | undefined;
	invalidSeq: number[];
}

function requestFor(route: RouteInfo, ctx: Ctx, known: boolean): fc.Arbitrary<Request> {
	const params = fc.record({
		id: fc.oneof(
			{ weight: 4, arbitrary: fc.constant(ctx.sessionId) },
			{ weight: 2, arbitrary: fc.uuid() },
			{ weight: 2, arbitrary: pathPart },
		),
		runId: fc.oneof(fc.uuid(), pathPart),
		key: fc.oneof(
			fc.constant(encodeURIComponent(ctx.threadKey)),
			fc.uuid().map((u) => `email:${u}`),
			pathPart,
		),
	});
	const query = fc.array(
		fc.tuple(
			fc.constantFrom(
				'limit',
				'cursor',
				'q',
				'status',
				'owner',
				'url',
				'subscriptionId',
				'sessionId',
				'workspaceType',
				'days',
				'workflowId',
				...FIELD_NAMES.slice(0, 10),
			),
			fc.oneof(
				fc.constantFrom(
					'1',
					'0',
					'-1',
					'500',
					'1e9',
					'abc',
					'running,completed',
					'http://127.0.0.1:9/x',
					ctx.sessionId,
				),
				pathPart,
				timeCursor,
			),
		),
		{ maxLength: 3 },
	);
	const base = BASES[`${route.method} ${route.path.replace(/^\/api(?!\/v1)/, '/api/v1')}`] as
		(typeof BASES)[string] | undefined;
	const body: fc.Arbitrary<unknown> =
		route.method === 'GET'
			? fc.constant(undefined)
			: fc.oneof(
					...(base && known ? [{ weight: 6, arbitrary: base(ctx).chain(mutate) }] : []),
					{ weight: 2, arbitrary: hostileValue },
					{
						weight: 1,
						arbitrary: fc.array(fc.tuple(hostileKey, hostileValue), { maxLength: 6 }).map(objectOf),
					},
					{ weight: 1, arbitrary: malformedBody },
					{ weight: 1, arbitrary: fc.constant(undefined) },
				);
	return fc
		.record({
			params,
			query,
			body,
			contentType: fc.constantFrom(
				'application/json',
				'application/json',
				'application/json',
				'application/json; charset=utf-8',
				'text/plain',
				'application/x-www-form-urlencoded',
				'application/json; charset=latin1',
				undefined,
			),
			invalidSeq: fc.constantFrom(...INVALID_UTF8_SEQUENCES),
		})
		.map(({ params, query, body: b, contentType, invalidSeq }) => {
			const p = route.path.replace(
				/:(id|runId|key)\b/g,
				(_, name: 'id' | 'runId' | 'key') => params[name],
			);
			const qs = query.map(([k, v]) => `${k}=${v}`).join('&');
			return {
				method: route.method,
				path: qs ? `${p}?${qs}` : p,
				body: b,
				contentType,
				invalidSeq,
			};
		});
}

describe.each(DATABASE_KINDS)('hostile input on every route (%s)', (kind) => {
	let svc: TestService;
	let ctx: Ctx;
	let routes: RouteInfo[];
	let countSql: string;
	const statuses = new Map<number, number>();
	const polluted = () => Object.keys(Object.prototype).concat(Object.keys(Array.prototype));
	const prototypeKeysBefore = polluted();

	beforeAll(async () => {
		// Hooks answer once committed (no 202 written later behind the check's back); loopback subscriptions allowed.
		// No sweeps: an expired lease or approval settled in the background would write rows between a refused
		// request and the count after it.
		svc = await startTestService(kind, {
			HOOK_ACK_TIMEOUT_MS: '30000',
			DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
			DELIVERY_POLL_INTERVAL_MS: '60000',
			LEASE_SWEEP_MS: '0',
			APPROVAL_SWEEP_MS: '0',
		});
		const created = await api(svc, 'POST', '/api/v1/sessions', {
			prompt: 'fuzz target',
			workspaceType: 'local',
			workspacePath: '/srv/app',
		});
		ctx = { sessionId: created.body.id, threadKey: `slack:C1:${crypto.randomUUID()}` };
		await api(svc, 'PUT', `/api/v1/threads/${ctx.threadKey}`, { sessionId: ctx.sessionId });
		// The live stream answers a GET that never ends (it has its own suite, service/test/stream.test.ts).
		routes = listRoutes(svc.app).filter((r) => !r.path.endsWith('/stream'));
		const { rows } = await svc.db.query<{ table_name: string }>(
			`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
				AND table_name <> 'schema_migrations' ORDER BY table_name`,
		);
		countSql = `SELECT ${rows.map((r) => `(SELECT count(*) FROM "${r.table_name}")`).join(' + ')} AS n`;
	}, 180_000);
	afterAll(async () => {
		await svc?.stop();
		process.stderr.write(
			`[reliability] fuzz (${kind}): answers by status ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}\n`,
		);
	});

	const rows = async () => Number((await svc.db.query<{ n: number }>(countSql)).rows[0].n);

	async function send(req: Request): Promise<{ status: number; body: any }> {
		const headers: Record<string, string> = { Authorization: `Bearer ${TEST_API_KEY}` };
		if (req.contentType) headers['content-type'] = req.contentType;
		const res = await fetch(svc.url + req.path, {
			method: req.method,
			headers,
			body: req.body === undefined ? undefined : encodeBody(req.body, req.invalidSeq),
			signal: AbortSignal.timeout(30_000),
		});
		const text = await res.text();
		let body: any;
		try {
			body = JSON.parse(text);
		} catch {
			body = text;
		}
		statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
		return { status: res.status, body };
	}

	/** The property every request must have. */
	async function check(req: Request) {
		const before = await rows();
		const res = await send(req);
		const shown = () =>
			`${req.method} ${req.path.slice(0, 300)} (${req.contentType}) → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
		if (res.status >= 500) throw new Error(`5xx: ${shown()}`);
		if (res.status >= 400) {
			if (typeof res.body?.message !== 'string' || !res.body.message)
				throw new Error(`a refusal without a message: ${shown()}`);
			const after = await rows();
			if (after !== before)
				throw new Error(`refused but stored ${after - before} row(s): ${shown()}`);
		}
	}

	it('any route, any request: no 5xx, a message with every refusal, nothing stored when refused', async () => {
		const writes = routes.filter((r) => r.method !== 'GET');
		expect(writes.length).toBeGreaterThanOrEqual(15);
		await fc.assert(
			fc.asyncProperty(
				fc.constantFrom(...routes).chain((r) => requestFor(r, ctx, false)),
				check,
			),
			{ numRuns: RUNS_ANY_ROUTE },
		);
	}, 600_000);

	it('valid payloads of each known write route with fields swapped for hostile values', async () => {
		const known = routes.filter((r) => BASES[`${r.method} ${r.path}`]);
		expect(known).toHaveLength(Object.keys(BASES).length);
		for (const route of known) {
			await fc.assert(fc.asyncProperty(requestFor(route, ctx, true), check), {
				numRuns: RUNS_PER_KNOWN_ROUTE,
			});
		}
	}, 600_000);

	it('cursors whose time is any date, real or not, on every keyset route: 200 or 400 with a message, never 5xx', async () => {
		const keyset = [
			{ path: '/api/v1/sessions', id: () => fc.uuid() },
			{ path: `/api/v1/sessions/${ctx.sessionId}/logs`, id: () => fc.nat(1_000_000) },
			{ path: '/api/v1/approvals', id: () => fc.uuid() },
			{ path: '/api/sessions', id: () => fc.uuid() },
		];
		const seen = new Map<number, number>();
		for (const route of keyset) {
			await fc.assert(
				fc.asyncProperty(cursorTimeText, route.id() as fc.Arbitrary<unknown>, async (t, id) => {
					const res = await send({
						method: 'GET',
						path: `${route.path}?cursor=${encodeCursor({ t, id })}`,
						body: undefined,
						contentType: undefined,
						invalidSeq: [0xff],
					});
					seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
					if (res.status !== 200 && res.status !== 400)
						throw new Error(
							`${route.path} cursor time ${t} → ${res.status} ${JSON.stringify(res.body)}`,
						);
					if (res.status === 400 && !/invalid cursor/.test(res.body?.message ?? ''))
						throw new Error(`${t}: a refusal without the message: ${JSON.stringify(res.body)}`);
				}),
				{ numRuns: Math.round(150 * SCALE) },
			);
		}
		// Most generated dates do not exist; some do, and those page.
		expect(seen.get(400)).toBeGreaterThan(0);
	}, 600_000);

	// What the fuzz found (each was a 500 before its fix), kept as fixed cases so they cannot come back unseen.
	const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
	const run = { kind: 'start', status: 'completed' };
	it.each([
		['a hook without a JSON body', 'POST', '/api/v1/hooks', 'x', 'text/plain', 400],
		[
			'a legacy hook with a 2^53 duration',
			'POST',
			'/api/v1/hooks/tool-complete',
			{ session: 'S', tool: 'Bash', duration: 2 ** 53 + 2 },
			'application/json',
			400,
		],
		[
			'a hook whose tool_name has a lone surrogate',
			'POST',
			'/api/v1/hooks',
			{
				session_id: 'S',
				hook_event_name: 'PreToolUse',
				tool_name: 'x\udfffy',
				tool_use_id: 't\u00001',
			},
			'application/json',
			200,
		],
		[
			'a legacy hook nested 50 000 levels',
			'POST',
			'/api/v1/hooks/tool-complete',
			`{"a":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_001)}`,
			'application/json',
			400,
		],
		[
			'a run lasting 1e20 ms',
			'PUT',
			'/api/v1/sessions/S/runs/R',
			{ ...run, durationMs: 1e20 },
			'application/json',
			400,
		],
		[
			'a run of 2^31 turns',
			'PUT',
			'/api/v1/sessions/S/runs/R',
			{ ...run, numTurns: 2 ** 31 },
			'application/json',
			400,
		],
		[
			'a run with text token counts',
			'PUT',
			'/api/v1/sessions/S/runs/R',
			{ ...run, usage: { input_tokens: 'abc' } },
			'application/json',
			400,
		],
		[
			'a run with exit code 2^31',
			'PUT',
			'/api/v1/sessions/S/runs/R',
			{ ...run, exitCode: 2 ** 31 },
			'application/json',
			400,
		],
		[
			'a run started in year 0000',
			'PUT',
			'/api/v1/sessions/S/runs/R',
			{ ...run, startedAt: '0000-01-01T00:00:00Z' },
			'application/json',
			400,
		],
		[
			'a tool call with offset +99:99',
			'POST',
			'/api/v1/sessions/S/tool-calls',
			{
				toolCalls: [{ toolUseId: 't', status: 'running', startedAt: '2020-01-01T00:00:00+99:99' }],
			},
			'application/json',
			400,
		],
		[
			'a message from year 0000',
			'POST',
			'/api/v1/sessions/S/messages',
			{ direction: 'user', content: 'c', createdAt: '0000-01-01T00:00:00Z' },
			'application/json',
			400,
		],
		[
			'a tool call id with NUL',
			'POST',
			'/api/v1/sessions/S/tool-calls',
			{ toolCalls: [{ toolUseId: 'a\u0000b', toolName: 'B\ud800', status: 'running' }] },
			'application/json',
			200,
		],
		[
			'a message external id with NUL',
			'POST',
			'/api/v1/sessions/S/messages',
			{ direction: 'user', content: 'c', externalId: 'e\u0000' },
			'application/json',
			201,
		],
		[
			'thread metadata with NUL and a lone surrogate',
			'PUT',
			'/api/v1/threads/slack:C9:1.2',
			{ sessionId: 'S', metadata: { 'k\u0000': 'v\ud800' } },
			'application/json',
			200,
		],
		[
			'a lease owner with NUL',
			'POST',
			'/api/v1/sessions/NEW/lease',
			{ owner: 'o\u0000', ttlSeconds: 5 },
			'application/json',
			200,
		],
		[
			'a subscription whose workflowId has NUL',
			'POST',
			'/api/v1/subscriptions',
			{ url: 'http://127.0.0.1:9/w/nul', workflowId: 'w\u0000', nodeName: 'n\udc00' },
			'application/json',
			201,
		],
		['a search for NUL', 'GET', '/api/v1/sessions?q=%00', undefined, undefined, 200],
		[
			'a session cursor whose time is not a time',
			'GET',
			`/api/v1/sessions?cursor=${cursor({ t: 'not a time', id: crypto.randomUUID() })}`,
			undefined,
			undefined,
			400,
		],
		[
			'a tool call cursor whose time is not a time',
			'GET',
			`/api/v1/sessions/S/logs?cursor=${cursor({ t: 'not a time', id: 1 })}`,
			undefined,
			undefined,
			400,
		],
		[
			'an event cursor past bigint',
			'GET',
			`/api/v1/sessions/S/events?cursor=${cursor({ after: 1e20 })}`,
			undefined,
			undefined,
			400,
		],
		[
			'a delivery cursor past bigint',
			'GET',
			`/api/v1/deliveries?cursor=${cursor({ e: 1e20, id: crypto.randomUUID() })}`,
			undefined,
			undefined,
			400,
		],
		[
			'an approvals cursor whose time is not a time',
			'GET',
			`/api/v1/approvals?cursor=${cursor({ t: 'not a time', id: crypto.randomUUID() })}`,
			undefined,
			undefined,
			400,
		],
		[
			'a session cursor dated February 30th',
			'GET',
			`/api/v1/sessions?cursor=${cursor({ t: '2024-02-30 10:00:00+00', id: crypto.randomUUID() })}`,
			undefined,
			undefined,
			400,
		],
		[
			'a session cursor dated month 13, hour 99, offset +99',
			'GET',
			`/api/v1/sessions?cursor=${cursor({ t: '2024-13-45 99:99:99+99', id: crypto.randomUUID() })}`,
			undefined,
			undefined,
			400,
		],
		[
			'a tool call cursor dated February 30th',
			'GET',
			`/api/v1/sessions/S/logs?cursor=${cursor({ t: '2024-02-30 10:00:00+00', id: 1 })}`,
			undefined,
			undefined,
			400,
		],
		[
			'a tool call cursor dated month 13',
			'GET',
			`/api/v1/sessions/S/logs?cursor=${cursor({ t: '2024-13-45 99:99:99+99', id: 1 })}`,
			undefined,
			undefined,
			400,
		],
		[
			'an approvals cursor dated February 30th',
			'GET',
			`/api/v1/approvals?cursor=${cursor({ t: '2024-02-30 10:00:00+00', id: crypto.randomUUID() })}`,
			undefined,
			undefined,
			400,
		],
		[
			'an approvals cursor dated month 13',
			'GET',
			`/api/v1/approvals?cursor=${cursor({ t: '2024-13-45 99:99:99+99', id: crypto.randomUUID() })}`,
			undefined,
			undefined,
			400,
		],
		[
			'a session cursor on a leap day',
			'GET',
			`/api/v1/sessions?cursor=${cursor({ t: '2024-02-29 10:00:00+00', id: crypto.randomUUID() })}`,
			undefined,
			undefined,
			200,
		],
		[
			'a session cursor as the service writes it',
			'GET',
			`/api/v1/sessions?cursor=${cursor({ t: '2026-01-31 12:00:00.123456+00', id: crypto.randomUUID() })}`,
			undefined,
			undefined,
			200,
		],
	])('%s', async (_name, method, path, body, contentType, status) => {
		// S: the fuzz target session; NEW: a session of its own (the fuzz may hold S's lease); R: a new run.
		const fresh = path.includes('/NEW/')
			? (await api(svc, 'POST', '/api/v1/sessions', {})).body.id
			: undefined;
		const fill = (v: string) =>
			v
				.replaceAll('/S/', `/${ctx.sessionId}/`)
				.replaceAll('/NEW/', `/${fresh}/`)
				.replace(/\/R$/, `/${crypto.randomUUID()}`);
		const withSession =
			typeof body === 'object'
				? JSON.parse(JSON.stringify(body).replaceAll('"S"', JSON.stringify(ctx.sessionId)))
				: body;
		const raw = typeof withSession === 'string' ? `\u0001raw:${withSession}` : withSession;
		const before = await rows();
		const res = await send({
			method,
			path: fill(path),
			body: raw,
			contentType,
			invalidSeq: [0xff],
		});
		expect({
			status: res.status,
			message: res.status >= 400 ? typeof res.body.message : 'n/a',
		}).toEqual({ status, message: status >= 400 ? 'string' : 'n/a' });
		if (status >= 400) expect(await rows()).toBe(before);
	});

	it('is still healthy afterwards, and no prototype was polluted', async () => {
		expect((await api(svc, 'GET', '/api/v1/health', undefined, {})).status).toBe(200);
		expect(polluted()).toEqual(prototypeKeysBefore);
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
		// The fuzz target session still reads back (nothing the fuzz sent broke its row or its lists).
		for (const sub of [
			'',
			'/events?limit=500',
			'/logs?limit=500',
			'/messages?limit=500',
			'/runs',
		]) {
			expect((await api(svc, 'GET', `/api/v1/sessions/${ctx.sessionId}${sub}`)).status).toBe(200);
		}
	});
});
