import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hookContext, TriggerReceiver } from '../support/trigger-receiver';
import { ClaudeHookTrigger } from '../../nodes/ClaudeHookTrigger/ClaudeHookTrigger.node';
import { startSession, type SessionOutput } from '../../nodes/shared/session/session-run';
import { freePort } from '../../scripts/n8n/free-port';
import { createPostgresDatabase } from '../../service/src/db/postgres';
import { createScratchDatabase } from '../support/scratch-database';
import { TEST_API_KEY } from '../support/test-service';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import { claudeFixture, toolCalls, type ClaudeFixture } from '../support/claude-fixture';
import { sleep, waitUntil } from '../support/wait';
import { fetchClient } from '../../nodes/shared/session/fetch-client';
import { haproxyBinary, startHaproxy, type Haproxy } from './haproxy';
import { bashHookEvent, postHook } from '../support/hook-client';

// Two service replicas on one PostgreSQL behind the real HAProxy from deploy/haproxy.cfg, on loopback. Real claude
// sessions and hook clients (one POST per event, no retry, as Claude Code sends them) go through the balancer; a
// Hook Trigger (the node's own registration and webhook code) subscribes through it. One replica is killed with
// SIGKILL mid-run and started again. Every hook acknowledged must be stored, every delivery must reach the trigger
// exactly once, and the balancer must answer no hook with a 5xx: its retries cover the dead replica.

const HAPROXY = haproxyBinary();
if (!HAPROXY) {
	process.stderr.write(
		'[deploy] haproxy is not installed (apt-get install -y haproxy); the load balancer test is skipped. CI installs it.\n',
	);
}
const REAL_SESSIONS = 3;
const POSTERS = 6;
const HOOK_PATHS = new Set([
	'/api/v1/hooks',
	'/api/hooks/tool-complete',
	'/api/hooks/notification',
]);

interface Posted {
	sessionId: string;
	toolUseId: string;
	event: 'PreToolUse' | 'PostToolUse';
	status: number;
	at: number;
}

(HAPROXY ? describe : describe.skip)(
	'two replicas behind HAProxy, one killed with SIGKILL mid-run',
	() => {
		let dir: string;
		let pg: PrivatePostgres | undefined;
		let scratch: { url: string; drop(): Promise<void> };
		let replicas: ServiceProcess[] = [];
		let lb: Haproxy;
		let fx: ClaudeFixture;
		const receiver = new TriggerReceiver();

		/** Both backends in service ("UP", or "UP 1/3" while a slow check is being counted); says why not otherwise. */
		const bothUp = async (timeoutMs: number) => {
			const up = await waitUntil(
				async () =>
					(await lb.stats()).filter(
						(s) => s.pxname === 'replicas' && s.svname !== 'BACKEND' && s.status.startsWith('UP'),
					).length === 2,
				timeoutMs,
				100,
			);
			if (!up) {
				const rows = (await lb.stats())
					.filter((s) => s.pxname === 'replicas')
					.map((s) => `${s.svname} ${s.status}`);
				throw new Error(
					`the balancer did not see both replicas up within ${timeoutMs} ms: ${rows.join(', ')}\n${lb.log().slice(-3000)}`,
				);
			}
		};

		beforeAll(async () => {
			dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-lb-'));
			// The machine's server when the suites are given one; a private cluster otherwise.
			let admin = process.env.TEST_DATABASE_URL;
			if (!admin) {
				pg = await startPrivatePostgres();
				admin = pg.url;
			}
			scratch = await createScratchDatabase(admin, 'orch_lb');
			const lbPort = await freePort();
			const lbUrl = `http://127.0.0.1:${lbPort}`;
			const env = {
				DATABASE_URL: scratch.url,
				API_KEY: TEST_API_KEY,
				PUBLIC_URL: lbUrl,
				DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
				DELIVERY_POLL_INTERVAL_MS: '200',
				// A delivery cut by the kill is due again after its lease: this timeout + 30 s.
				DELIVERY_TIMEOUT_MS: '2000',
				DATA_DIR: path.join(dir, 'data'),
			};
			// One after the other: the first applies the migrations.
			replicas = [await startServiceProcess(env), await startServiceProcess(env)];
			lb = await startHaproxy(HAPROXY!, dir, {
				LB_BIND: `127.0.0.1:${lbPort}`,
				LB_STATS_BIND: `127.0.0.1:${await freePort()}`,
				REPLICA_1: `127.0.0.1:${replicas[0].port}`,
				REPLICA_2: `127.0.0.1:${replicas[1].port}`,
			});
			await bothUp(60_000);
			await receiver.start();
			fx = await claudeFixture('orch-lb');
		}, 180_000);

		afterAll(async () => {
			await lb?.stop();
			await Promise.all(replicas.map((r) => r.stop()));
			await receiver.stop();
			await fx?.close();
			await scratch?.drop();
			await pg?.destroy();
			if (dir) fs.rmSync(dir, { recursive: true, force: true });
		}, 120_000);

		it('stores every acknowledged hook, delivers every event exactly once, answers no hook 5xx', async () => {
			const client = fetchClient(lb.url, TEST_API_KEY);
			// The Hook Trigger registers itself through the balancer, as n8n's activation would.
			const methods = new ClaudeHookTrigger().webhookMethods.default;
			const ctx = hookContext({
				webhookUrl: receiver.url,
				parameters: { preset: 'custom', events: ['*'] },
				staticData: receiver.staticData,
				credentials: { baseUrl: lb.url, apiKey: TEST_API_KEY },
			});
			expect(await methods.create.call(ctx)).toBe(true);

			const runs: Array<Promise<SessionOutput>> = Array.from({ length: REAL_SESSIONS }, (_, i) =>
				startSession(client, {
					prompt: `lb-run ${i} [[bash:echo a${i} > 1.txt]] [[delay:1200]] [[bash:echo b${i} > 2.txt]] [[delay:1200]] [[write:3.txt::three]] [[delay:1200]] [[read:3.txt]] [[bash:cat 1.txt 2.txt]]`,
					workspace: { type: 'local', workspacePath: fx.folder(`lb-${i}`) },
					options: fx.options(),
					deps: fx.deps,
				}),
			);

			const posted: Posted[] = [];
			let stop = false;
			const poster = async () => {
				const session = await client.request<{ id: string; hookToken: string }>(
					'POST',
					'/api/v1/sessions',
					{ prompt: 'simulated through the balancer', workspaceType: 'local' },
				);
				while (!stop) {
					const toolUseId = `toolu_${crypto.randomBytes(10).toString('hex')}`;
					for (const event of ['PreToolUse', 'PostToolUse'] as const) {
						const status = await postHook(
							lb.url,
							session.hookToken,
							bashHookEvent(session.id, event, toolUseId),
						);
						posted.push({ sessionId: session.id, toolUseId, event, status, at: Date.now() });
					}
					await sleep(20);
				}
			};
			const posters = Array.from({ length: POSTERS }, poster);

			// Kill once the real runs have tool calls recorded and both replicas have served hooks.
			expect(
				await waitUntil(
					async () => {
						if (posted.length < 150) return false;
						const mine = (
							await client.request<{ items: Array<{ id: string }> }>(
								'GET',
								'/api/v1/sessions',
								undefined,
								{ q: 'lb-run', limit: 50 },
							)
						).items;
						if (mine.length < REAL_SESSIONS) return false;
						const counts = await Promise.all(
							mine.map(async (s) => (await toolCalls(client, s.id)).length),
						);
						return counts.every((n) => n >= 1);
					},
					120_000,
					200,
				),
			).toBe(true);
			const victim = replicas[0];
			await victim.kill9();
			const killedAt = Date.now();
			const markedDown = await waitUntil(
				async () => (await lb.server('replica1'))?.status.startsWith('DOWN'),
				20_000,
				50,
			);
			const downAfterMs = Date.now() - killedAt;
			expect(markedDown).toBe(true);
			await sleep(1000);
			await victim.start();
			const restartedAt = Date.now();
			await bothUp(60_000);
			const upAfterMs = Date.now() - restartedAt;
			await sleep(3000);
			stop = true;
			await Promise.all(posters);
			const outs = await Promise.all(runs);

			// The runs finished; every tool call is recorded (the stream fills in any hook the kill cut).
			let filledFromStream = 0;
			for (const out of outs) {
				expect(out.status).toBe('completed');
				const calls = await toolCalls(client, out.sessionId);
				expect(calls.map((c) => [c.tool, c.status])).toEqual([
					['Bash', 'succeeded'],
					['Bash', 'succeeded'],
					['Write', 'succeeded'],
					['Read', 'succeeded'],
					['Bash', 'succeeded'],
				]);
				filledFromStream += calls.filter((c) => !c.sources.includes('hooks')).length;
			}

			const db = createPostgresDatabase(scratch.url, 2);
			try {
				// Every hook the balancer answered 200 is stored; none was refused; none was answered 5xx.
				const stored = await db.query<{ key: string }>(
					"SELECT session_id || '/' || tool_use_id || '/' || event_name AS key FROM hook_events WHERE tool_use_id IS NOT NULL",
				);
				const have = new Set(stored.rows.map((r) => r.key));
				const key = (p: Posted) => `${p.sessionId}/${p.toolUseId}/${p.event}`;
				expect(posted.filter((p) => p.status === 200 && !have.has(key(p)))).toEqual([]);
				expect(posted.filter((p) => p.status !== 200 && p.status !== 202)).toEqual([]);
				const queuedLost = posted.filter((p) => p.status === 202 && !have.has(key(p))).length;

				// What the balancer answered, from its own log (claude's hooks included): no hook got a 5xx.
				const hooks5xx = lb.requests.filter(
					(r) => HOOK_PATHS.has(r.path.split('?')[0]) && r.status >= 500,
				);
				expect(hooks5xx).toEqual([]);
				const other5xx = lb.requests.filter(
					(r) => !HOOK_PATHS.has(r.path.split('?')[0]) && r.status >= 500,
				);
				// Writes other than hooks are not retried once sent; a 5xx there can only come from the kill itself.
				expect(
					other5xx.filter((r) => r.at < killedAt || r.at > killedAt + downAfterMs + 5000),
				).toEqual([]);
				const retried = lb.requests.filter((r) => r.retries > 0);

				// Every event was queued for the trigger and delivered, and the trigger started its workflow once per delivery.
				const delivered = await waitUntil(
					async () => {
						const { rows } = await db.query<{ n: number }>(
							"SELECT count(*)::int AS n FROM deliveries WHERE status <> 'delivered'",
						);
						return rows[0].n === 0;
					},
					120_000,
					250,
				);
				const deliveries = await db.query<{ id: string; status: string }>(
					'SELECT id::text, status FROM deliveries',
				);
				const events = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM hook_events');
				expect(delivered).toBe(true);
				expect(deliveries.rows.length).toBe(events.rows[0].n);
				const emittedIds = receiver.emitted.map((e) => String(e.deliveryId));
				expect(new Set(emittedIds).size).toBe(emittedIds.length);
				expect([...emittedIds].sort()).toEqual(deliveries.rows.map((d) => d.id).sort());
				const redelivered = receiver.requests.length - emittedIds.length;

				const s = await lb.stats();
				const backend = s.find((r) => r.pxname === 'replicas' && r.svname === 'BACKEND');
				process.stderr.write(
					`[reliability] load balancer: ${REAL_SESSIONS} claude runs + ${POSTERS} hook clients through HAProxy to 2 replicas; ` +
						`replica1 SIGKILLed, marked DOWN after ${downAfterMs} ms, restarted after ~1 s and UP again ${upAfterMs} ms later; ` +
						`${posted.length} hook POSTs (${posted.filter((p) => p.status === 200).length} answered 200, ${posted.filter((p) => p.status === 202).length} 202, ` +
						`acknowledged and lost 0, 202 then lost ${queuedLost}); balancer: ${lb.requests.length} requests, hooks answered 5xx 0, ` +
						`other 5xx ${other5xx.length} (${other5xx.map((r) => `${r.method} ${r.path.replace(/[0-9a-f-]{36}/g, ':id')} ${r.status}`).join(', ') || 'none'}), ` +
						`${retried.length} requests retried (${retried.filter((r) => r.redispatched).length} on the other replica; backend wretr ${backend?.wretr}, wredis ${backend?.wredis}); ` +
						`run tool calls whose hooks were lost and the stream filled in: ${filledFromStream}; ` +
						`${deliveries.rows.length} deliveries, each emitted by the trigger exactly once (${redelivered} redelivered after the kill and dropped as duplicates)\n`,
				);
			} finally {
				await db.close();
			}
		}, 400_000);
	},
);
