import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startTestService, type TestService } from '../support/test-service';
import { launchChromium, type Chromium } from '../support/chromium';
import { signIn, watchedPage } from './dashboard-page';
import { createSession, postToolCalls, putRun } from './seed';

// The overview's "at a glance" charts (uPlot, served by the service) in Chromium, with seeded data. The bars are
// counted on the canvas itself: a row of pixels just above the x axis crosses each bar drawn in a series' colour.

const KIND: 'pglite' | 'postgres' = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
const DASHBOARD_TOKEN = `dash-${crypto.randomBytes(12).toString('hex')}`;
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/dashboard');
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

jest.setTimeout(120_000);

describe(`overview at a glance in Chromium (${KIND})`, () => {
	let svc: TestService;
	let browser: Chromium;
	let page: Page;
	const problems: string[] = [];
	const requests: string[] = [];
	const now = Date.now();
	const ago = (ms: number) => new Date(now - ms).toISOString();
	// What is seeded, kept to work out what must be drawn.
	const runs = [
		{ at: ago(0), cost: 0.5 },
		{ at: ago(2 * HOUR), cost: 0.25 },
		{ at: ago(5 * HOUR), cost: 1 },
		{ at: ago(4 * DAY), cost: 2 },
	];
	const calls = [
		{ at: ago(1 * HOUR), status: 'succeeded' },
		{ at: ago(1 * HOUR), status: 'succeeded' },
		{ at: ago(1 * HOUR), status: 'failed' },
		{ at: ago(2 * HOUR), status: 'denied' },
		{ at: ago(3 * DAY), status: 'failed' },
		{ at: ago(10 * DAY), status: 'succeeded' },
	];

	/** Distinct buckets (hours or UTC days) within the window that the given times fall in. */
	function bucketsHit(times: string[], unit: 'hour' | 'day') {
		const size = unit === 'hour' ? HOUR : DAY;
		const first =
			unit === 'hour'
				? Math.floor(now / HOUR) * HOUR - 23 * HOUR
				: Math.floor(now / DAY) * DAY - 29 * DAY;
		return new Set(
			times.map((t) => Math.floor(Date.parse(t) / size) * size).filter((b) => b >= first),
		).size;
	}

	/**
	 * Per series, in legend order, the bars in its colour (its legend marker's) crossed by a pixel row 2 px above
	 * the chart's x axis.
	 */
	const barsDrawn = (chart: string) =>
		page.evaluate((name) => {
			const win = globalThis as any;
			const fig = win.document.querySelector(`figure[data-chart="${name}"]`);
			const canvas = fig.querySelector('canvas');
			const over = fig.querySelector('.u-over').getBoundingClientRect();
			const box = canvas.getBoundingClientRect();
			const scale = canvas.width / box.width;
			const y = Math.round((over.bottom - box.top - 2) * scale);
			const row = canvas.getContext('2d').getImageData(0, y, canvas.width, 1).data;
			const markers: any[] = [...fig.querySelectorAll('.u-legend .u-series .u-marker')];
			return markers.map((marker) => {
				// "rgb(76, 110, 245)"
				const [r, g, b] = win.getComputedStyle(marker).backgroundColor.match(/\d+/g).map(Number);
				let runs = 0;
				let inside = false;
				for (let x = 0; x < canvas.width; x++) {
					const hit =
						Math.abs(row[x * 4] - r) < 8 &&
						Math.abs(row[x * 4 + 1] - g) < 8 &&
						Math.abs(row[x * 4 + 2] - b) < 8 &&
						row[x * 4 + 3] > 200;
					if (hit && !inside) runs++;
					inside = hit;
				}
				return runs;
			});
		}, chart);
	/** Each chart's bars per series: one in each bucket (hour or day) the seeded data falls in. */
	async function expectBars(unit: 'hour' | 'day') {
		const finished = (status?: string) =>
			calls.filter((c) => !status || c.status === status).map((c) => c.at);
		expect(await barsDrawn('activity')).toEqual([bucketsHit(finished(), unit), 1]);
		expect(await barsDrawn('cost')).toEqual([
			bucketsHit(
				runs.map((r) => r.at),
				unit,
			),
		]);
		expect(await barsDrawn('failures')).toEqual([
			bucketsHit(finished('failed'), unit),
			bucketsHit(finished('denied'), unit),
		]);
	}
	const legend = (chart: string) =>
		page.locator(`figure[data-chart="${chart}"] .u-legend .u-series .u-label`).allTextContents();
	/** Each series' colour as its legend marker shows it (the colour barsDrawn counts bars in). */
	const markerColors = (chart: string) =>
		page
			.locator(`figure[data-chart="${chart}"] .u-legend .u-series .u-marker`)
			.evaluateAll((markers) =>
				markers.map((m) => (globalThis as any).getComputedStyle(m).backgroundColor as string),
			);

	beforeAll(async () => {
		fs.mkdirSync(ARTIFACTS, { recursive: true });
		svc = await startTestService(KIND, { DASHBOARD_TOKEN });
		const repos = [
			'acme/widgets',
			'acme/widgets',
			'acme/widgets',
			'acme/gadgets',
			'acme/gadgets',
			'acme/docs',
		];
		const sessions = [];
		for (const [i, repository] of repos.entries())
			sessions.push(
				await createSession(svc, {
					prompt: `Work on ${repository} #${i}`,
					workspaceType: 'github',
					repository,
				}),
			);
		await createSession(svc, {
			prompt: 'Waiting for a reply in Slack',
			workspaceType: 'local',
			status: 'waiting',
		});
		await createSession(svc, {
			prompt: 'Wants to run rm -rf build',
			workspaceType: 'local',
			status: 'waiting_approval',
		});
		for (const [i, r] of runs.entries())
			await putRun(svc, sessions[i].id, {
				kind: 'start',
				status: 'completed',
				costUsd: r.cost,
				startedAt: r.at,
			});
		await postToolCalls(
			svc,
			sessions[0].id,
			calls.map((c, i) => ({
				toolUseId: `toolu_glance_${i}`,
				toolName: 'Bash',
				status: c.status,
				startedAt: c.at,
				finishedAt: c.at,
				input: {},
			})),
		);
		browser = await launchChromium();
		page = await watchedPage(browser, problems, { timeoutMs: 15_000 });
		page.on('request', (r) => requests.push(r.url()));
		await page.goto(svc.url + '/');
		await signIn(page, DASHBOARD_TOKEN);
		await page.locator('table.sessions').waitFor();
	});

	afterAll(async () => {
		await browser?.close();
		await svc?.stop();
	});

	it('draws activity, cost, failures and denials per hour for the last day', async () => {
		await page.goto(`${svc.url}/#/overview`);
		for (const chart of ['activity', 'cost', 'failures'])
			await page.locator(`figure[data-chart="${chart}"][data-drawn="true"] canvas`).waitFor();
		await page.screenshot({ path: path.join(ARTIFACTS, `${KIND}-glance-day.png`), fullPage: true });

		expect(await page.locator('.glance').getAttribute('data-range')).toBe('day');
		for (const chart of ['activity', 'cost', 'failures'])
			expect(await page.locator(`figure[data-chart="${chart}"]`).getAttribute('data-buckets')).toBe(
				'24',
			);
		await expectBars('hour');

		// Axis labels: every third hour of the 24, in UTC, ending with the current hour's bucket in view.
		const first = Math.floor(now / HOUR) * HOUR - 23 * HOUR;
		const hours = Array.from(
			{ length: 8 },
			(_, i) => `${new Date(first + i * 3 * HOUR).toISOString().slice(11, 13)}:00`,
		);
		expect(await page.locator('figure[data-chart="activity"]').getAttribute('data-ticks')).toBe(
			hours.join('|'),
		);
		expect(await legend('activity')).toEqual(['Tool calls', 'Sessions started']);
		expect(await legend('failures')).toEqual(['Failed', 'Denied']);
		// The palette: tool calls #4c6ef5, sessions #12b886, cost #7048e8, failures #fa5252, denials #fd7e14.
		expect(await markerColors('activity')).toEqual(['rgb(76, 110, 245)', 'rgb(18, 184, 134)']);
		expect(await markerColors('cost')).toEqual(['rgb(112, 72, 232)']);
		expect(await markerColors('failures')).toEqual(['rgb(250, 82, 82)', 'rgb(253, 126, 20)']);
		await expect(page.locator('figure[data-chart="cost"] figcaption').textContent()).resolves.toBe(
			'Cost per hour, last 24 hours: $1.75',
		);

		await expect(page.locator('.glance .waiting').getAttribute('data-count')).resolves.toBe('2');
		await expect(page.locator('.glance .waiting li a').allTextContents()).resolves.toEqual([
			'Wants to run rm -rf build',
			'Waiting for a reply in Slack',
		]);
		await expect(
			page.locator('.glance .repositories tbody tr td:first-child').allTextContents(),
		).resolves.toEqual(['acme/widgets', 'acme/gadgets', 'acme/docs']);
		await expect(
			page.locator('.glance .repositories tbody tr').first().locator('td').allTextContents(),
		).resolves.toEqual(['acme/widgets', '3', '0', '$1.75']);
	});

	it('switches to per day for 30 days', async () => {
		await page.click('.glance button[data-range="month"]');
		await page
			.locator('.glance[data-range="month"] figure[data-chart="activity"][data-drawn="true"]')
			.waitFor();
		await page.screenshot({
			path: path.join(ARTIFACTS, `${KIND}-glance-month.png`),
			fullPage: true,
		});
		for (const chart of ['activity', 'cost', 'failures'])
			expect(await page.locator(`figure[data-chart="${chart}"]`).getAttribute('data-buckets')).toBe(
				'30',
			);
		await expectBars('day');
		const first = Math.floor(now / DAY) * DAY - 29 * DAY;
		const days = Array.from({ length: 8 }, (_, i) =>
			new Date(first + i * 4 * DAY).toISOString().slice(5, 10),
		);
		expect(await page.locator('figure[data-chart="activity"]').getAttribute('data-ticks')).toBe(
			days.join('|'),
		);
		expect(await legend('cost')).toEqual(['Cost']);
	});

	it('loads the chart library from the service itself, with no request leaving it', async () => {
		const origin = new URL(svc.url).origin;
		expect(requests.some((u) => u.endsWith('/vendor/uPlot.iife.min.js'))).toBe(true);
		expect(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:'))).toEqual([]);
		expect(problems).toEqual([]);
	});
});
