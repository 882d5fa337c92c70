import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { loadConfig, type Config } from '../../service/src/config';
import { createScratchDatabase } from '../support/scratch-database';
import { startService, type RunningService } from '../../service/src/service';
import { api, TEST_API_KEY } from '../support/test-service';
import { launchChromium, type Chromium } from '../support/chromium';
import { signIn, watchedPage } from './dashboard-page';
import { createSession, fixture, postHook } from './seed';

// Changes pushed to the dashboard over the live stream, measured in a real Chromium. On PostgreSQL
// (TEST_DATABASE_URL) the browser talks to one replica and the hooks go to another, on the same database.

const KIND: 'pglite' | 'postgres' = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
const DASHBOARD_TOKEN = `dash-${crypto.randomBytes(12).toString('hex')}`;
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/dashboard');
const WITHIN_MS = 1000;

jest.setTimeout(180_000);

/** A service that can be stopped and started again on the same port and database, as a deploy would. */
interface Replica {
	url: string;
	restart(): Promise<void>;
	close(): Promise<void>;
}

async function replica(config: Config): Promise<Replica> {
	let svc: RunningService = await startService(config);
	const port = Number(new URL(svc.url).port);
	return {
		url: svc.url,
		async restart() {
			await svc.close();
			svc = await startService({ ...config, port });
		},
		close: () => svc.close(),
	};
}

describe(`live stream in Chromium (${KIND}${KIND === 'postgres' ? ', two replicas' : ''})`, () => {
	let browserSide: Replica;
	let hookSide: Replica;
	let scratch: { url: string; drop(): Promise<void> } | undefined;
	let dataDir: string;
	let browser: Chromium;
	let page: Page;
	const problems: string[] = [];

	const shot = (name: string) =>
		page.screenshot({ path: path.join(ARTIFACTS, `${KIND}-live-${name}.png`), fullPage: true });
	const calls = () => page.locator('[data-list="timeline"] li.call');
	const callIds = () =>
		page.evaluate(() =>
			[...(globalThis as any).document.querySelectorAll('[data-list="timeline"] li.call')].map(
				(li: any) => li.dataset.id,
			),
		);
	const pre = (sessionId: string, n: number) => ({
		...fixture('PreToolUse (Read)', sessionId),
		tool_name: 'Grep',
		tool_use_id: `toolu_push_${n}`,
		tool_input: { pattern: `needle-${n}` },
	});
	/** A session in a local folder, made through the service the hooks go to. */
	const localSession = (prompt: string, workspacePath: string) =>
		createSession(hookSide, { prompt, workspaceType: 'local', workspacePath });
	/** How long after `since` the check held. */
	async function after(since: number, check: () => Promise<unknown>) {
		await check();
		return Date.now() - since;
	}

	beforeAll(async () => {
		fs.mkdirSync(ARTIFACTS, { recursive: true });
		dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-live-'));
		scratch =
			KIND === 'postgres' ? await createScratchDatabase(process.env.TEST_DATABASE_URL!) : undefined;
		const config = (name: string) =>
			loadConfig({
				PORT: '0',
				DATA_DIR: path.join(dataDir, name),
				API_KEY: TEST_API_KEY,
				DASHBOARD_TOKEN,
				...(scratch ? { DATABASE_URL: scratch.url } : {}),
			});
		browserSide = await replica(config('one'));
		// The embedded database belongs to one process: there, hooks go to the same service.
		hookSide = scratch ? await replica(config('two')) : browserSide;
		browser = await launchChromium();
		page = await watchedPage(browser, problems, { timeoutMs: 15_000, consoleErrors: false });
		await page.goto(browserSide.url + '/');
		await signIn(page, DASHBOARD_TOKEN);
		await page.locator('table.sessions').waitFor();
	});

	afterAll(async () => {
		await browser?.close();
		if (hookSide !== browserSide) await hookSide?.close();
		await browserSide?.close();
		await scratch?.drop();
		if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it('shows each of 5 new tool calls within 1 s of its hook being answered', async () => {
		const session = await localSession('Find the needles', '/srv/work/widgets');
		await page.goto(`${browserSide.url}/#/sessions/${session.id}`);
		await page.locator('[data-list="timeline"]').waitFor();
		await page.locator('#live[data-transport="stream"]').waitFor();

		const took: number[] = [];
		for (let n = 1; n <= 5; n++) {
			await postHook(hookSide, session.hookToken, pre(session.id, n));
			const since = Date.now();
			took.push(
				await after(since, () =>
					page
						.locator(`[data-list="timeline"] li.call`)
						.filter({ hasText: `needle-${n}` })
						.waitFor(),
				),
			);
		}
		await shot('01-five-calls');
		process.stdout.write(
			`tool call on screen after its hook was answered (ms): ${took.join(', ')}; worst ${Math.max(...took)}\n`,
		);
		expect(Math.max(...took)).toBeLessThan(WITHIN_MS);
		expect(await calls().count()).toBe(5);
	});

	it('shows a new session in an open list within 1 s', async () => {
		await page.goto(`${browserSide.url}/#/sessions`);
		await page.locator('table.sessions tbody tr').first().waitFor();
		await page.locator('#live[data-transport="stream"]').waitFor();
		const created = await localSession('A session made while the list is open', '/srv/work/new');
		const since = Date.now();
		const took = await after(since, () =>
			page.locator(`table.sessions tbody tr[data-id="${created.id}"]`).waitFor(),
		);
		await shot('02-new-session');
		process.stdout.write(`new session in the open list after (ms): ${took}\n`);
		expect(took).toBeLessThan(WITHIN_MS);
	});

	it('falls back to polling while no stream can be opened, and goes back to the stream when it can', async () => {
		const session = await localSession('Behind a proxy that refuses streams', '/srv/work/proxy');
		await page.route('**/api/v1/stream**', (route) =>
			route.fulfill({ status: 502, body: 'Bad Gateway' }),
		);
		await page.goto(`${browserSide.url}/#/sessions/${session.id}`);
		await page.locator('#live[data-transport="poll"]').waitFor();
		await postHook(hookSide, session.hookToken, pre(session.id, 50));
		await calls().filter({ hasText: 'needle-50' }).waitFor({ timeout: 5000 });
		await page.unroute('**/api/v1/stream**');
		await page.locator('#live[data-transport="stream"]').waitFor({ timeout: 30_000 });
		await postHook(hookSide, session.hookToken, pre(session.id, 51));
		const since = Date.now();
		expect(
			await after(since, () => calls().filter({ hasText: 'needle-51' }).waitFor()),
		).toBeLessThan(WITHIN_MS);
	});

	it('finds a session by a word that only one tool output holds, and shows where', async () => {
		const session = await localSession('Run the flaky suite', '/srv/work/flaky');
		const call = pre(session.id, 70);
		await postHook(hookSide, session.hookToken, call);
		await postHook(hookSide, session.hookToken, {
			...call,
			hook_event_name: 'PostToolUse',
			tool_response: {
				stdout: 'ok 1\nok 2\nnot ok 3 - parses the xylophonic manifest\n# failed 1 of 3',
			},
			duration_ms: 12,
		});
		await page.goto(`${browserSide.url}/#/sessions`);
		await page.locator('table.sessions tbody tr').first().waitFor();
		await page.fill('input[type=search]', 'xylophonic');
		await page.waitForFunction((id) => {
			const rows = [...(globalThis as any).document.querySelectorAll('table.sessions tbody tr')];
			return rows.length === 1 && rows[0].dataset.id === id;
		}, session.id);
		const snippet = page.locator(`table.sessions tbody tr[data-id="${session.id}"] .snippet`);
		await expect(snippet.getAttribute('data-source')).resolves.toBe('tool_call');
		await expect(snippet.locator('mark').allTextContents()).resolves.toEqual(['xylophonic']);
		await expect(snippet.textContent()).resolves.toMatch(
			/^in Grep call: .*parses the xylophonic manifest/,
		);
		expect(page.url()).toContain('q=xylophonic');
		await shot('04-search-snippet');
	});

	it('catches up after the service restarts, with nothing missing or doubled', async () => {
		const session = await localSession('Survive a restart', '/srv/work/restart');
		await page.goto(`${browserSide.url}/#/sessions/${session.id}`);
		await page.locator('#live[data-transport="stream"]').waitFor();
		await postHook(hookSide, session.hookToken, pre(session.id, 100));
		await calls().filter({ hasText: 'needle-100' }).waitFor();

		// The page's stream ends with the restart; what happens before it reconnects must still reach it.
		await browserSide.restart();
		for (let n = 101; n <= 104; n++)
			await postHook(hookSide, session.hookToken, pre(session.id, n));
		await page.locator('#live[data-transport="stream"]').waitFor();
		await postHook(hookSide, session.hookToken, {
			...pre(session.id, 101),
			hook_event_name: 'PostToolUse',
			tool_response: { matches: 1 },
			duration_ms: 7,
		});
		await calls().filter({ hasText: 'needle-104' }).waitFor();
		await page.locator('[data-list="timeline"] li.call[data-status="succeeded"]').waitFor();

		const logs = await api(hookSide, 'GET', `/api/v1/sessions/${session.id}/logs?limit=50`);
		expect(logs.body.items).toHaveLength(5);
		const shown = await callIds();
		expect([...shown].sort()).toEqual(logs.body.items.map((l: any) => String(l.id)).sort());
		expect(new Set(shown).size).toBe(shown.length);
		await shot('03-after-restart');
		expect(problems).toEqual([]);
	});
});
