import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Page, Request } from 'playwright-core';
import { startTestService, type TestService } from '../support/test-service';
import { launchChromium, type Chromium } from '../support/chromium';
import { signIn } from './dashboard-page';
import { BIG_OUTPUT, fixture, postHook, putRun, seedSessions, type Seeded } from './seed';

// The dashboard in a real headless Chromium against the real service (PGlite, or PostgreSQL when
// TEST_DATABASE_URL is set), with sessions seeded through the public API. Screenshots: test-artifacts/dashboard/.

const KIND: 'pglite' | 'postgres' = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
const DASHBOARD_TOKEN = `dash-${crypto.randomBytes(12).toString('hex')}`;
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/dashboard');
// Every poll of the session view and of the session list asks for approvals once: counting those requests counts polls.
const POLL_REQUEST = /\/api\/v1\/approvals\?/;
// Functions given to page.evaluate run in the browser. The project compiles without the DOM lib (it is a Node
// package), so they reach the page through an untyped globalThis.

jest.setTimeout(120_000);

describe(`dashboard in Chromium (${KIND})`, () => {
	let svc: TestService;
	let browser: Chromium;
	let page: Page;
	let seeded: Seeded;
	const requests: Request[] = [];
	/** Requests that got their answer (or failed): the others are still in flight. */
	const settled = new Set<Request>();
	const problems: string[] = [];

	const shot = (name: string) =>
		page.screenshot({ path: path.join(ARTIFACTS, `${KIND}-${name}.png`), fullPage: true });
	const rows = () => page.locator('table.sessions tbody tr');
	const rowOf = (id: string) => page.locator(`table.sessions tbody tr[data-id="${id}"]`);
	const timelineRow = (selector: string) =>
		page.locator(`[data-list="timeline"] li.call${selector}`);
	async function expectRowIds(ids: string[]) {
		await page.waitForFunction(
			(want) =>
				[...(globalThis as any).document.querySelectorAll('table.sessions tbody tr')]
					.map((r) => r.dataset.id)
					.join() === want.join(),
			ids,
		);
	}
	/**
	 * Waits for `check` to hold after something changed at `since`, and asserts it was shown by the poll then under
	 * way or the next one (counted, not timed: a busy machine stretches the time between polls, not their number).
	 * At most two polls started since: the next one, and the one after it that may have begun while the page drew.
	 * Returns how long that took, for the log.
	 */
	async function byNextPoll(since: number, check: () => Promise<unknown>) {
		await check();
		expect(polls.filter((at) => at >= since).length).toBeLessThanOrEqual(2);
		return Date.now() - since;
	}
	/** When each poll request left the page. */
	const polls: number[] = [];

	beforeAll(async () => {
		fs.mkdirSync(ARTIFACTS, { recursive: true });
		svc = await startTestService(KIND, { DASHBOARD_TOKEN });
		seeded = await seedSessions(svc);
		browser = await launchChromium();
		page = await browser.context.newPage();
		page.on('request', (req) => {
			if (POLL_REQUEST.test(req.url())) polls.push(Date.now());
		});
		page.setDefaultTimeout(10_000);
		page.on('request', (r) => requests.push(r));
		page.on('requestfinished', (r) => settled.add(r));
		page.on('requestfailed', (r) => settled.add(r));
		page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
		page.on('console', (m) => {
			// The 401 of the deliberately wrong token is logged by the browser itself; anything else is a fault.
			if (m.type() === 'error' && !/status of 401/.test(m.text()))
				problems.push(`console: ${m.text()}`);
		});
	});

	afterAll(async () => {
		await browser?.close();
		await svc?.stop();
	});

	it('signs in with the read-only dashboard token and lists sessions, newest first, 50 per page', async () => {
		await page.goto(svc.url + '/');
		await page.locator('form.sign-in').waitFor();
		await signIn(page, 'not-the-token-at-all');
		await page.locator('form.sign-in .error', { hasText: 'did not accept' }).waitFor();
		await shot('01-sign-in-refused');

		await signIn(page, DASHBOARD_TOKEN);
		await rows().nth(49).waitFor();
		expect(await rows().count()).toBe(50);
		expect(await rows().nth(0).getAttribute('data-id')).toBe(seeded.alpha.id);

		const alpha = rowOf(seeded.alpha.id);
		await expect(alpha.locator('.badge').textContent()).resolves.toBe('running');
		expect(await alpha.locator('.badge .pulse').count()).toBe(1);
		const cells = await alpha.locator('td').allTextContents();
		expect(cells.join(' | ')).toMatch(/github.*acme\/widgets.*fix\/login-redirect.*Slack.*\| ok$/);
		const beta = await rowOf(seeded.beta.id).locator('td').allTextContents();
		expect(beta.join(' | ')).toMatch(
			/completed.*Write the release notes.*local.*Email.*1m 23s \| 6 \| \$0\.4213/,
		);
		await expect(page.locator('#live').getAttribute('data-state')).resolves.not.toBe('error');
		await shot('02-sessions-list');

		await page.click('text=Older →');
		await page.waitForFunction(
			() => (globalThis as any).document.querySelectorAll('table.sessions tbody tr').length === 9,
		);
		await page.click('text=← Newer');
		await rows().nth(49).waitFor();
	});

	it('filters by status and workspace type, and searches prompt, repository and thread', async () => {
		const status = page.locator('select[aria-label="Filter by status"]');
		const workspace = page.locator('select[aria-label="Filter by workspace type"]');
		const search = page.locator('input[type=search]');

		await status.selectOption({ label: 'Running' });
		await expectRowIds([seeded.alpha.id]);
		await shot('03-filter-running');
		await status.selectOption({ label: 'Failed' });
		await expectRowIds([seeded.gamma.id]);
		await status.selectOption({ label: 'Waiting' });
		await expectRowIds([seeded.delta.id]);
		expect(page.url()).toContain('status=waiting');
		await status.selectOption({ label: 'All statuses' });

		await workspace.selectOption({ label: 'E2B sandbox' });
		await expectRowIds([seeded.delta.id]);
		await workspace.selectOption({ label: 'Git worktree' });
		await expectRowIds([seeded.gamma.id]);
		await workspace.selectOption({ label: 'All workspaces' });

		for (const [query, id] of [
			['billing module', seeded.gamma.id], // prompt
			['acme/widgets', seeded.alpha.id], // repository
			['release-42@example.com', seeded.beta.id], // email thread
			['slack:C0123ABCD', seeded.alpha.id], // Slack thread
		] as const) {
			await search.fill(query);
			await expectRowIds([id]);
		}
		await search.fill('no session is called this');
		await page.locator('.empty', { hasText: 'No sessions match' }).waitFor();
		await shot('04-search-empty');
		await search.fill('');
		await rows().nth(49).waitFor();
	});

	it('shows a session: tool-call timeline with failures highlighted, conversation, raw hook events, cost, denials, workspace', async () => {
		await page.goto(`${svc.url}/#/sessions/${seeded.gamma.id}`);
		await page.locator('.slot-denials', { hasText: 'Permission denials (1)' }).waitFor();
		expect(await page.locator('.denials .tool').textContent()).toBe('Bash');
		expect(await page.locator('.outcome').textContent()).toContain('Reached the budget of $1.00');
		expect(await page.locator('.workspace').textContent()).toMatch(
			/worktree.*acme\/billing.*refactor\/invoices/,
		);
		await shot('05-session-failed');

		await page.goto(`${svc.url}/#/sessions/${seeded.beta.id}`);
		await page.locator('.tokens tbody tr').nth(1).waitFor();
		const tokens = await page.locator('.tokens tbody tr').allTextContents();
		expect(tokens[0]).toMatch(/claude-sonnet-4-5.*12,000.*3,400.*90,000.*4,000.*\$0\.4213/);
		expect(await page.locator('.workspace').textContent()).toContain(
			'email:<release-42@example.com>',
		);

		await page.goto(`${svc.url}/#/sessions/${seeded.alpha.id}`);
		await timelineRow('').nth(5).waitFor();
		const tools = await page
			.locator('[data-list="timeline"] li.call')
			.evaluateAll((els) =>
				els.map((e) => `${(e as any).dataset.tool}:${(e as any).dataset.status}`),
			);
		expect(tools).toEqual(
			expect.arrayContaining([
				'Bash:succeeded',
				'Write:succeeded',
				'Bash:failed',
				'Bash:denied',
				'Read:succeeded',
			]),
		);
		// Failures and denials are highlighted, and say why when opened.
		const failed = timelineRow('.s-failed');
		expect(
			await failed.evaluate((el) => (globalThis as any).getComputedStyle(el).borderLeftStyle),
		).toBe('solid');
		await failed.locator('summary').click();
		await expect(failed.locator('pre.error').textContent()).resolves.toContain('Exit code 3');
		const bash = timelineRow('[data-status="succeeded"][data-tool="Bash"]').filter({
			hasText: 'echo hello > out.txt',
		});
		await bash.locator('summary').click();
		await expect(bash.locator('.row-body').textContent()).resolves.toContain(
			'echo hello > out.txt',
		);
		await expect(page.locator('.cards').textContent()).resolves.toMatch(
			/Tool calls\d+2 failed or denied/,
		);
		await shot('06-session-timeline');

		await page.click('button[data-tab="conversation"]');
		await page.locator('[data-list="conversation"] li.message').nth(1).waitFor();
		// Markup in a message is text too.
		expect(
			await page
				.locator('[data-list="conversation"] li.message')
				.nth(1)
				.locator('pre')
				.textContent(),
		).toContain('<b>first</b>');
		await shot('07-session-conversation');

		await page.click('button[data-tab="events"]');
		await page.locator('[data-list="events"] li.event').nth(7).waitFor();
		const names = await page.locator('[data-list="events"] li.event .event-name').allTextContents();
		expect(names).toEqual([
			'UserPromptSubmit',
			'PreToolUse',
			'PostToolUse',
			'PreToolUse',
			'PostToolUse',
			'PostToolUseFailure',
			'PermissionDenied',
			'MessageDisplay',
		]);
		expect(await page.locator('[data-list="events"] li.event.trouble').count()).toBe(2);
		const first = page.locator('[data-list="events"] li.event').first();
		await first.locator('summary').click();
		expect(JSON.parse((await first.locator('pre').textContent())!)).toMatchObject({
			hook_event_name: 'UserPromptSubmit',
			session_id: seeded.alpha.id,
		});
		await shot('08-session-events');

		// The whole session as one file, fetched with the token in a header like every other read.
		const [download] = await Promise.all([
			page.waitForEvent('download'),
			page.click('button.download'),
		]);
		expect(download.suggestedFilename()).toBe(`session-${seeded.alpha.id}.json`);
		const saved = JSON.parse(fs.readFileSync((await download.path())!, 'utf8'));
		expect(saved).toMatchObject({
			format: 'claude-orchestrator-session',
			session: { id: seeded.alpha.id },
		});
		expect(saved.hookEvents).toHaveLength(8);
	});

	it('renders tool output as text, never as HTML, and a large output without freezing', async () => {
		await page.click('button[data-tab="timeline"]');
		const xss = timelineRow('[data-tool="Bash"]').filter({ hasText: 'cat page.html' });
		await xss.locator('summary').click();
		const output = xss.locator('pre.output');
		await expect(output.textContent()).resolves.toBe(
			'<script>window.__pwned = 1</script>\n<img src=x onerror="window.__pwned = 2">\n<b>not bold</b>',
		);
		expect(await page.evaluate(() => (globalThis as any).__pwned)).toBeUndefined();
		expect(await page.locator('main script, main img, main b').count()).toBe(0);
		await shot('09-xss-output-as-text');

		const big = timelineRow('[data-tool="Read"]').filter({ hasText: 'big.log' });
		await big.locator('summary').click();
		expect((await big.locator('pre.output').textContent())!.length).toBe(2000);
		const started = Date.now();
		await big.locator('button.show-all').click();
		await page.waitForFunction((n) => {
			const pres: any[] = [
				...(globalThis as any).document.querySelectorAll('[data-list="timeline"] pre.output'),
			];
			return pres.some((p) => p.textContent.length === n);
		}, BIG_OUTPUT.length);
		// The page still answers after rendering the whole output (how fast is the machine's business, not the test's).
		expect(await page.evaluate(() => 1 + 1)).toBe(2);
		process.stdout.write(`large output shown in full after ${Date.now() - started} ms\n`);
		await shot('10-large-output');
	});

	it('shows a hook event posted during the test at the next poll, without a reload', async () => {
		await page.goto(`${svc.url}/#/sessions/${seeded.alpha.id}`);
		await timelineRow('').nth(5).waitFor();
		const navigations: string[] = [];
		page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()));
		const marker = await page.evaluate(
			() => ((globalThis as any).__sameDocument = String(Math.random())),
		);

		const pre = {
			...fixture('PreToolUse (Read)', seeded.alpha.id),
			tool_name: 'Grep',
			tool_use_id: 'toolu_live_grep',
			tool_input: { pattern: 'redirectLoop' },
		};
		let since = Date.now();
		await postHook(svc, seeded.alpha.hookToken, pre);
		const appeared = await byNextPoll(since, () =>
			timelineRow('[data-tool="Grep"][data-status="running"]').waitFor(),
		);
		await expect(timelineRow('[data-tool="Grep"] .dur').textContent()).resolves.toBe('running…');
		await shot('11-live-running-call');

		since = Date.now();
		await postHook(svc, seeded.alpha.hookToken, {
			...pre,
			hook_event_name: 'PostToolUse',
			tool_response: { matches: 3 },
			duration_ms: 41,
		});
		const finished = await byNextPoll(since, () =>
			timelineRow('[data-tool="Grep"][data-status="succeeded"]').waitFor(),
		);
		await expect(timelineRow('[data-tool="Grep"] .dur').textContent()).resolves.toBe('41 ms');

		await page.click('button[data-tab="events"]');
		since = Date.now();
		await postHook(svc, seeded.alpha.hookToken, { ...fixture('Stop', seeded.alpha.id) });
		const event = await byNextPoll(since, () =>
			page.locator('[data-list="events"] li.event[data-event="Stop"]').waitFor(),
		);
		await shot('12-live-event');

		// The session list follows status changes too.
		await page.goto(`${svc.url}/#/sessions`);
		await rowOf(seeded.delta.id).waitFor();
		since = Date.now();
		await putRun(svc, seeded.delta.id, { kind: 'resume', status: 'running' });
		const listed = await byNextPoll(since, () =>
			rowOf(seeded.delta.id).locator('.badge[data-status="running"] .pulse').waitFor(),
		);
		await shot('13-live-list');

		expect(navigations.filter((u) => !u.includes('#'))).toEqual([]);
		expect(await page.evaluate(() => (globalThis as any).__sameDocument)).toBe(marker);
		process.stdout.write(
			`live updates seen after: tool call ${appeared} ms, its result ${finished} ms, raw event ${event} ms, list status ${listed} ms\n`,
		);
	});

	it('reads nothing while the tab is hidden and catches up when it is shown again', async () => {
		await rowOf(seeded.delta.id).waitFor();
		const apiCalls = () => requests.filter((r) => r.url().includes('/api/')).length;
		await page.evaluate(() => {
			Object.defineProperty((globalThis as any).document, 'visibilityState', {
				configurable: true,
				get: () => 'hidden',
			});
			(globalThis as any).document.dispatchEvent(new Event('visibilitychange'));
		});
		// A read already in flight may still land: wait for its answers, however long a busy machine takes. The live
		// stream stays open (an open request that reads nothing while hidden), so it is not waited for.
		const inFlight = () =>
			requests.filter(
				(r) => r.url().includes('/api/') && !r.url().includes('/api/v1/stream') && !settled.has(r),
			).length;
		while (inFlight() > 0) await page.waitForTimeout(50);
		const before = apiCalls();
		await page.waitForTimeout(5000);
		expect(apiCalls()).toBe(before);
		await expect(page.locator('#live').getAttribute('data-state')).resolves.toBe('paused');

		await page.evaluate(() => {
			delete (globalThis as any).document.visibilityState;
			(globalThis as any).document.dispatchEvent(new Event('visibilitychange'));
		});
		await page.waitForFunction(
			() => (globalThis as any).document.getElementById('live').dataset.state === 'live',
		);
		expect(apiCalls()).toBeGreaterThan(before);
	});

	it('shows the overview: sessions per status, cost per day and tool-failure rate, with charts', async () => {
		await page.goto(`${svc.url}/#/overview`);
		await page.locator('.overview .cards .card').first().waitFor();
		const byStatus = Object.fromEntries(
			await page
				.locator('.overview .cards .card')
				.evaluateAll((cards) =>
					cards.map((c) => [
						(c as any).dataset.status,
						c.querySelector('.card-value')!.textContent,
					]),
				),
		);
		// delta was resumed in the live test, so two are running.
		expect(byStatus).toEqual({ running: '2', completed: '56', failed: '1' });
		expect(await page.locator('.cost svg rect.bar').count()).toBe(30);
		expect(await page.locator('.failures svg rect.bar').count()).toBe(30);
		// Today's bar carries all the cost seeded today: 55 × $0.01 + $1.0031 + $0.4213.
		const today = new Date().toISOString().slice(0, 10);
		expect(
			Number(await page.locator(`.cost rect.bar[data-day="${today}"]`).getAttribute('data-value')),
		).toBeCloseTo(1.9744, 4);
		// Finished tool calls: Bash, Write, Grep, and the two stream calls succeeded; one failed; one denied.
		await expect(page.locator('.failures').textContent()).resolves.toContain(
			'1 failed and 1 denied of 7 finished tool calls',
		);
		await expect(page.locator('.failures .big').textContent()).resolves.toBe('14.3%');
		await shot('14-overview');
	});

	it('keeps every row of a long list when rows arrive inside pages already read (Feed, in the browser)', async () => {
		// A string, so that TypeScript leaves the browser's own import() alone.
		await page.evaluate("import('/lib/feed.js').then((m) => { window.__Feed = m.Feed; })");
		const result = await page.evaluate(async () => {
			const Feed = (globalThis as any).__Feed;
			// A fake list ordered by `t`, paged like the service: the cursor is the position after the last row.
			const rows = Array.from({ length: 25 }, (_, i) => ({
				id: i + 1,
				t: i * 10,
				status: i === 3 ? 'running' : 'succeeded',
			}));
			const sorted = () => [...rows].sort((a, b) => a.t - b.t || a.id - b.id);
			const load = async ({ limit, cursor }: { limit: number; cursor?: string }) => {
				const all = sorted();
				const after = cursor ? JSON.parse(cursor) : undefined;
				const start = after
					? all.findIndex((r) => r.t > after.t || (r.t === after.t && r.id > after.id))
					: 0;
				const items = start < 0 ? [] : all.slice(start, start + limit).map((r) => ({ ...r }));
				const last = items[items.length - 1];
				return {
					items,
					nextCursor:
						items.length === limit && last ? JSON.stringify({ t: last.t, id: last.id }) : null,
				};
			};
			const feed = new Feed(load, 10);
			while (!feed.done) await feed.more();
			rows.push({ id: 26, t: 35, status: 'running' }); // lands inside the first page
			rows.push({ id: 27, t: 1000, status: 'running' }); // at the end
			rows[3].status = 'succeeded';
			const { changed, added } = await feed.refresh((r: any) => r.status === 'running');
			return {
				order: [...feed.items()].map((r: any) => r.id),
				added: added.map((r: any) => r.id).sort(),
				updated: changed.find((r: any) => r.id === 4)?.status,
			};
		});
		expect(result.added).toEqual([26, 27]);
		expect(result.updated).toBe('succeeded');
		expect(result.order).toEqual([
			1,
			2,
			3,
			4,
			26,
			...Array.from({ length: 21 }, (_, i) => i + 5),
			27,
		]);
	});

	it('only ever reads: every API request is a GET with the token in a header, never in a URL', async () => {
		// Health is public (no credential): the page reads it once for the demo notice.
		const calls = requests.filter((r) => new URL(r.url()).pathname.startsWith('/api/'));
		expect(calls.length).toBeGreaterThan(20);
		for (const r of calls) {
			expect(r.method()).toBe('GET');
			expect(r.url()).not.toContain(DASHBOARD_TOKEN);
			expect({ url: r.url(), authorization: r.headers().authorization }).toEqual({
				url: r.url(),
				authorization: expect.stringMatching(/^Bearer /),
			});
		}
		expect(requests.every((r) => !r.url().includes(DASHBOARD_TOKEN))).toBe(true);
		expect(problems).toEqual([]);
	});
});
