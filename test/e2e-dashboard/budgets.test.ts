import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { api, startTestService, type TestService } from '../support/test-service';
import { launchChromium, type Chromium } from '../support/chromium';
import { signIn, watchedPage } from './dashboard-page';

// The budgets page in a real headless Chromium against the real service: budgets against their limits, cost
// per day by repository and by model, the most expensive sessions. Screenshot: test-artifacts/dashboard/.

const KIND: 'pglite' | 'postgres' = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
const DASHBOARD_TOKEN = `dash-${crypto.randomBytes(12).toString('hex')}`;
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/dashboard');

jest.setTimeout(120_000);

describe(`dashboard budgets page in Chromium (${KIND})`, () => {
	let svc: TestService;
	let browser: Chromium;
	let page: Page;
	const problems: string[] = [];
	const methods = new Set<string>();
	let expensive: string;

	beforeAll(async () => {
		fs.mkdirSync(ARTIFACTS, { recursive: true });
		svc = await startTestService(KIND, { DASHBOARD_TOKEN });
		const session = async (body: Record<string, unknown>) =>
			(await api(svc, 'POST', '/api/v1/sessions', body)).body.id as string;
		const run = (id: string, costUsd: number, modelUsage?: Record<string, unknown>) =>
			api(svc, 'PUT', `/api/v1/sessions/${id}/runs/${crypto.randomUUID()}`, {
				kind: 'start',
				status: 'completed',
				costUsd,
				...(modelUsage ? { modelUsage } : {}),
			});
		const thread = 'slack:C0DASH:1712345678.000100';
		expensive = await session({ repository: 'acme/web', threadKey: thread, model: 'opus' });
		const cheap = await session({ repository: 'acme/api' });
		await run(expensive, 1.5, { 'claude-opus-5-5': { costUSD: 1.5 } });
		await run(cheap, 0.25, { 'claude-haiku-4-5': { costUSD: 0.25 } });
		await api(svc, 'PUT', '/api/v1/budgets', {
			scope: 'thread',
			scopeValue: thread,
			period: 'day',
			limitUsd: 1,
			name: 'support thread',
		});
		await api(svc, 'PUT', '/api/v1/budgets', {
			scope: 'repository',
			scopeValue: 'acme/api',
			period: 'month',
			limitUsd: 0.3,
		});
		await api(svc, 'PUT', '/api/v1/budgets', { scope: 'session', limitUsd: 5 });
		// A run the thread's budget refused: "runs held back".
		await api(svc, 'POST', '/api/v1/budgets/reservations', {
			sessionId: expensive,
			runId: crypto.randomUUID(),
		});

		browser = await launchChromium();
		page = await watchedPage(browser, problems, { timeoutMs: 10_000 });
		page.on('request', (r) => methods.add(r.method()));
	});

	afterAll(async () => {
		await browser?.close();
		await svc?.stop();
	});

	it('shows each budget against its limit, where the money went, and the most expensive sessions', async () => {
		await page.goto(svc.url + '/#/budgets');
		await signIn(page, DASHBOARD_TOKEN);
		await page.locator('table.budgets-table tbody tr').nth(2).waitFor();
		expect(await page.title()).toBe('Budgets · Claude Orchestrator');
		expect(await page.locator('a[data-nav="budgets"].current').count()).toBe(1);

		const row = (text: string) => page.locator('table.budgets-table tbody tr', { hasText: text });
		const thread = row('support thread');
		expect(await thread.locator('td.budget-spent').getAttribute('data-state')).toBe('over');
		expect(await thread.innerText()).toMatch(/per UTC day\s+\$1\.50 of \$1\.00/);
		expect(await thread.locator('td').last().innerText()).toBe('1');
		const repo = row('repository acme/api');
		expect(await repo.locator('td.budget-spent').getAttribute('data-state')).toBe('warn');
		expect(await repo.innerText()).toMatch(/per UTC month\s+\$0\.2500 of \$0\.3000/);
		expect(await row('each session').innerText()).toMatch(/lifetime\s+per session/);

		const byRepo = page.locator('.cost-by-repository .cost-series');
		expect(await byRepo.count()).toBe(2);
		expect(await byRepo.nth(0).locator('h4').textContent()).toBe('acme/web: $1.50');
		expect(await byRepo.nth(0).locator('svg rect.bar').count()).toBe(30);
		const today = new Date().toISOString().slice(0, 10);
		expect(
			await byRepo.nth(0).locator(`rect.bar[data-day="${today}"]`).getAttribute('data-value'),
		).toBe('1.5');
		expect(await page.locator('.cost-by-model .cost-series h4').allTextContents()).toEqual([
			'claude-opus-5-5: $1.50',
			'claude-haiku-4-5: $0.2500',
		]);

		const top = page.locator('table.top-sessions tbody tr');
		expect(await top.count()).toBe(2);
		expect(await top.nth(0).getAttribute('data-session')).toBe(expensive);
		await page.screenshot({ path: path.join(ARTIFACTS, `${KIND}-budgets.png`), fullPage: true });
		await top.nth(0).locator('a').click();
		await page.waitForURL(`**/#/sessions/${expensive}`);

		expect([...methods]).toEqual(['GET']);
		expect(problems).toEqual([]);
	});
});
