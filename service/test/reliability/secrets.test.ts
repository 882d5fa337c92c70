import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Database } from '../../src/db';
import { createPgliteDatabase } from '../../src/db/pglite';
import { createPostgresDatabase } from '../../src/db/postgres';
import { createScratchDatabase } from '../../../test/support/scratch-database';
import { api, TEST_API_KEY } from '../../../test/support/test-service';
import { startServiceProcess, type ServiceProcess } from '../../../test/support/service-process';
import { sleep } from '../../../test/support/wait';

// Real-looking Anthropic, GitHub, AWS and Slack credentials (random, so the search below cannot match anything
// else) in every field a client writes. Afterwards none may be anywhere: not in any table, not in what the API
// returns, not in what is delivered to a Hook Trigger, and not in the service's log at debug level, on stdout
// or stderr.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

const pick = (alphabet: string, n: number) =>
	Array.from(crypto.randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0234567';

/** Each credential with the part that must never be seen again (searched for on its own, so a half-mask fails). */
function credentials() {
	const anthropic = `sk-ant-api03-${pick(`${ALNUM}-_`, 93)}AA`;
	const ghp = `ghp_${pick(ALNUM, 36)}`;
	const githubPat = `github_pat_11${pick(UPPER, 20)}_${pick(ALNUM, 59)}`;
	const ghs = `ghs_${pick(ALNUM, 36)}`;
	const awsKeyId = `AKIA${pick(UPPER, 16)}`;
	const awsSecret = pick(`${ALNUM}/+`, 40);
	const awsSession = `ASIA${pick(UPPER, 16)}`;
	const xoxb = `xoxb-${pick('0123456789', 12)}-${pick('0123456789', 13)}-${pick(ALNUM, 24)}`;
	const xoxp = `xoxp-${pick('0123456789', 12)}-${pick('0123456789', 12)}-${pick('0123456789', 13)}-${pick('abcdef0123456789', 32)}`;
	const xapp = `xapp-1-A${pick(UPPER, 10)}-${pick('0123456789', 13)}-${pick('abcdef0123456789', 64)}`;
	return {
		all: { anthropic, ghp, githubPat, ghs, awsKeyId, awsSecret, awsSession, xoxb, xoxp, xapp },
		// How they appear in real output: env dumps, config files, headers, URLs, JSON.
		texts: [
			`ANTHROPIC_API_KEY=${anthropic}`,
			`export GITHUB_TOKEN=${ghp}`,
			`git clone https://x-access-token:${ghs}@github.com/acme/app.git`,
			`Authorization: Bearer ${githubPat}`,
			`[default]\naws_access_key_id = ${awsKeyId}\naws_secret_access_key = ${awsSecret}\n`,
			`{"AccessKeyId":"${awsSession}","SecretAccessKey":"${awsSecret}"}`,
			`curl -H 'Authorization: Bearer ${xoxb}' https://slack.com/api/chat.postMessage`,
			`SLACK_USER_TOKEN=${xoxp} SLACK_APP_TOKEN=${xapp}`,
		],
	};
}

describe(`secrets never stored, delivered or logged (${kind})`, () => {
	let svc: ServiceProcess;
	let dataDir: string;
	let scratch: { url: string; drop(): Promise<void> } | undefined;
	let receiver: http.Server;
	const delivered: string[] = [];

	beforeAll(async () => {
		dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-secrets-'));
		if (kind === 'postgres') scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!);
		// The Hook Trigger stand-in keeps every body; every second delivery fails with the body echoed back, so
		// what the service logs about failed deliveries contains whatever it sent.
		let n = 0;
		receiver = http.createServer((req, res) => {
			let body = '';
			req.setEncoding('utf8').on('data', (c: string) => (body += c));
			req.on('end', () => {
				delivered.push(body);
				if (n++ % 2 === 0) res.writeHead(500).end(body);
				else res.end('{}');
			});
		});
		await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
		svc = await startServiceProcess({
			DATA_DIR: dataDir,
			API_KEY: TEST_API_KEY,
			...(scratch ? { DATABASE_URL: scratch.url } : {}),
			LOG_LEVEL: 'debug',
			DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
			DELIVERY_BASE_DELAY_MS: '50',
			DELIVERY_MAX_DELAY_MS: '100',
			DELIVERY_MAX_ATTEMPTS: '2',
			DELIVERY_POLL_INTERVAL_MS: '50',
		});
	}, 180_000);
	afterAll(async () => {
		await svc?.stop();
		await new Promise((r) => receiver?.close(r));
		await scratch?.drop();
		if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
	});

	// Scrubbing runs on the event loop over anyone's input: a pattern that backtracks stalls every request. The
	// lazy BEGIN…END private key pattern took 5.6 s on 540 KB of BEGIN lines (about 40 s at this size).
	it.each([
		['BEGIN lines without an END', '-----BEGIN PRIVATE KEY-----\n'.repeat(50_000)],
		['names that say token, without values', 'token: '.repeat(200_000)],
		['one long dotted identifier', 'a.'.repeat(700_000)],
		['URLs without an @', '://user:'.repeat(150_000)],
	])('scrubs %s (1.4 MB) in linear time', async (_name, payload) => {
		// CPU time of this process (the service runs in it), not wall time: a busy machine stretches the one, not
		// the other. Backtracking costs tens of seconds of CPU here; a linear scrub, a fraction of one.
		const cpu = process.cpuUsage();
		const res = await api(svc, 'POST', '/api/v1/hooks', {
			session_id: crypto.randomUUID(),
			hook_event_name: 'PostToolUse',
			tool_use_id: 't',
			tool_response: payload,
		});
		expect(res.status).toBe(200);
		const used = process.cpuUsage(cpu);
		expect((used.user + used.system) / 1000).toBeLessThan(3000);
	});

	it('masks a private key whose END was cut off', async () => {
		const sessionId = crypto.randomUUID();
		const key = `-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW${pick(ALNUM, 200)}`;
		await api(svc, 'POST', '/api/v1/hooks', {
			session_id: sessionId,
			hook_event_name: 'PostToolUse',
			tool_use_id: 't',
			tool_response: `$ cat id_ed25519 | head -c 300\n${key}`,
		});
		const events = await api(svc, 'GET', `/api/v1/sessions/${sessionId}/events`);
		expect(events.body.items[0].payload.tool_response).toBe(
			'$ cat id_ed25519 | head -c 300\n[REDACTED:private-key]',
		);
	});

	it('masks them in every field of every write route', async () => {
		const { all, texts } = credentials();
		const text = texts.join('\n');
		const ok = async (
			method: string,
			route: string,
			body?: unknown,
			headers?: Record<string, string>,
		) => {
			const res = await api(svc, method, route, body, headers);
			expect({
				route,
				status: res.status < 300 ? 'ok' : res.status,
				body: res.status < 300 ? null : res.body,
			}).toEqual({ route, status: 'ok', body: null });
			return res.body;
		};
		const { port } = receiver.address() as AddressInfo;
		await ok('POST', '/api/v1/subscriptions', {
			url: `http://127.0.0.1:${port}/hook`,
			events: ['*'],
		});

		// Identifiers a later run reads back (workspace path, branch, repository, ids) are stored exactly as given and
		// not scrubbed; they are not places credentials are written, so they are left out here.
		const session = await ok('POST', '/api/v1/sessions', {
			prompt: `deploy with ${text}`,
			workspaceType: 'local',
			workspacePath: '/srv/app',
			repository: 'acme/app',
			metadata: {
				note: text,
				ANTHROPIC_API_KEY: all.anthropic,
				nested: { token: all.xapp, list: [`aws_secret_access_key=${all.awsSecret}`] },
			},
		});
		const id = session.id as string;
		const hookAuth = { Authorization: `Bearer ${session.hookToken}` };
		const base = {
			session_id: id,
			cwd: `/srv/app`,
			transcript_path: `/home/u/.claude/projects/x/${id}.jsonl`,
		};
		// What Claude Code posts when a tool touched credentials: in commands, outputs, prompts and notifications.
		await ok(
			'POST',
			'/api/v1/hooks',
			{ ...base, hook_event_name: 'UserPromptSubmit', prompt: `use ${text}` },
			hookAuth,
		);
		await ok(
			'POST',
			'/api/v1/hooks',
			{
				...base,
				hook_event_name: 'PreToolUse',
				tool_name: 'Bash',
				tool_use_id: 'toolu_s1',
				tool_input: {
					command: `env | grep TOKEN; echo ${all.anthropic}`,
					description: text,
					env: { GITHUB_TOKEN: all.ghp, AWS_SECRET_ACCESS_KEY: all.awsSecret },
				},
			},
			hookAuth,
		);
		await ok(
			'POST',
			'/api/v1/hooks',
			{
				...base,
				hook_event_name: 'PostToolUse',
				tool_name: 'Bash',
				tool_use_id: 'toolu_s1',
				duration_ms: 5,
				tool_input: { command: 'cat ~/.aws/credentials ~/.config/gh/hosts.yml' },
				tool_response: { stdout: text, stderr: `warning: ${all.xoxp}`, interrupted: false },
			},
			hookAuth,
		);
		await ok(
			'POST',
			'/api/v1/hooks',
			{
				...base,
				hook_event_name: 'PostToolUseFailure',
				tool_name: 'Read',
				tool_use_id: 'toolu_s2',
				tool_input: { file_path: '/srv/.env' },
				error: text,
			},
			hookAuth,
		);
		await ok(
			'POST',
			'/api/v1/hooks',
			{
				...base,
				hook_event_name: 'Notification',
				message: `Claude needs your permission to use ${all.githubPat}`,
				title: all.xapp,
			},
			hookAuth,
		);
		await ok(
			'POST',
			'/api/v1/hooks',
			{
				...base,
				hook_event_name: 'Stop',
				last_assistant_message: `Done. The key was ${all.anthropic}`,
			},
			hookAuth,
		);
		await ok('POST', '/api/v1/hooks/tool-complete', {
			session: id,
			tool: 'Bash',
			input: { command: text },
			result: text,
			duration: 3,
		});
		await ok('POST', '/api/v1/hooks/notification', {
			session_id: id,
			message: text,
			title: all.xoxb,
			type: 'idle_prompt',
		});
		// What the node writes from the run's stream.
		await ok('POST', `/api/v1/sessions/${id}/tool-calls`, {
			toolCalls: [
				{
					toolUseId: 'toolu_s1',
					toolName: 'Bash',
					input: { command: text },
					response: { stdout: text },
					status: 'succeeded',
				},
				{
					toolUseId: 'toolu_s3',
					toolName: 'Write',
					input: { file_path: '/srv/.env', content: text },
					error: text,
					status: 'failed',
				},
			],
		});
		await ok('POST', `/api/v1/sessions/${id}/messages`, {
			messages: [
				{ direction: 'user', content: `please use ${text}`, source: 'slack', externalId: 'm1' },
				{
					direction: 'assistant',
					content: `I used ${all.ghp}`,
					source: 'stream',
					externalId: 'm2',
				},
			],
		});
		const runId = crypto.randomUUID();
		await ok('PUT', `/api/v1/sessions/${id}/runs/${runId}`, {
			kind: 'start',
			status: 'failed',
			prompt: `deploy with ${text}`,
			result: `pushed with ${all.ghs}`,
			errorMessage: `claude exited with code 1. stderr: fatal: could not read from https://x:${all.ghp}@github.com ${all.anthropic}`,
			permissionDenials: [
				{
					tool_name: 'Bash',
					tool_use_id: 'toolu_s4',
					tool_input: { command: `curl -H "x-api-key: ${all.anthropic}"` },
				},
			],
			modelUsage: { sonnet: { note: text } },
		});
		await ok('PATCH', `/api/v1/sessions/${id}`, {
			result: `final: ${text}`,
			errorMessage: `failed: ${all.xoxp}`,
			metadata: { later: text },
		});
		const threadKey = `slack:C0123:${Date.now()}.000100`;
		await ok('PUT', `/api/v1/threads/${threadKey}`, {
			sessionId: id,
			metadata: { botToken: all.xoxb, webhook: text },
		});
		// A wrong credential is not echoed back or logged either.
		for (const wrong of [all.anthropic, all.ghp, all.xoxb]) {
			expect(
				(await api(svc, 'GET', '/api/v1/sessions', undefined, { Authorization: `Bearer ${wrong}` }))
					.status,
			).toBe(401);
		}

		// Let the deliverer send (and fail, and log) every event.
		const deadline = Date.now() + 30_000;
		while (Date.now() < deadline) {
			const res = await api(svc, 'GET', '/api/v1/deliveries?status=pending&limit=1');
			if (res.body.items.length === 0) break;
			await sleep(200);
		}
		expect(delivered.length).toBeGreaterThanOrEqual(8);

		// What the API hands out.
		const reads = await Promise.all(
			[
				`/api/v1/sessions/${id}`,
				`/api/v1/sessions/${id}/events?limit=500`,
				`/api/v1/sessions/${id}/logs?limit=500`,
				`/api/v1/sessions/${id}/messages?limit=500`,
				`/api/v1/sessions/${id}/runs`,
				`/api/v1/threads/${threadKey}`,
				'/api/v1/sessions?limit=200',
				'/api/v1/deliveries?limit=500',
			].map(async (r) => JSON.stringify((await api(svc, 'GET', r)).body)),
		);
		await svc.stop();
		const log = svc.output();
		expect(log).toContain('delivery attempt failed'); // the debug log of failed deliveries, echoed bodies included, was written

		// Every table, every column, as text.
		const db: Database = scratch
			? createPostgresDatabase(scratch.url, 1)
			: await createPgliteDatabase(path.join(dataDir, 'pglite'));
		const storedRows: Record<string, string[]> = {};
		try {
			const { rows: tables } = await db.query<{ table_name: string }>(
				"SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
			);
			for (const { table_name } of tables) {
				const { rows } = await db.query<{ r: string }>(
					`SELECT row_to_json(t)::text AS r FROM "${table_name}" t`,
				);
				storedRows[table_name] = rows.map((r) => r.r);
			}
		} finally {
			await db.close();
		}
		expect(Object.values(storedRows).flat().join('\n')).toContain('[REDACTED'); // the search below looks at real rows

		// Where each leak is: `database hook_events.payload.tool_response.stdout: awsSecret`, or the place as a whole for text.
		const leaks = new Set<string>();
		const walk = (v: unknown, at: string) => {
			if (typeof v === 'string')
				for (const [name, secret] of Object.entries(all))
					if (v.includes(secret)) leaks.add(`${at}: ${name}`);
			if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
		};
		for (const [table, rows] of Object.entries(storedRows))
			for (const r of rows) walk(JSON.parse(r), `database ${table}`);
		delivered.forEach((d) => walk(JSON.parse(d), 'delivery'));
		reads.forEach((r) => walk(JSON.parse(r), 'API answer'));
		walk(log, 'service log');
		expect([...leaks]).toEqual([]);
	}, 120_000);
});
