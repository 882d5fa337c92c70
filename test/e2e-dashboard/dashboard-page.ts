import type { Page } from 'playwright-core';
import type { Chromium } from '../support/chromium';

/**
 * A new tab whose uncaught errors (and console errors, unless `consoleErrors` is false) are pushed to `problems`:
 * the suites expect that list to stay empty.
 */
export async function watchedPage(
	browser: Chromium,
	problems: string[],
	opts: { timeoutMs: number; consoleErrors?: boolean },
): Promise<Page> {
	const page = await browser.context.newPage();
	page.setDefaultTimeout(opts.timeoutMs);
	page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
	if (opts.consoleErrors !== false)
		page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
	return page;
}

/** Submits the sign-in form the dashboard shows first with `token`. */
export async function signIn(page: Page, token: string): Promise<void> {
	await page.fill('#token', token);
	await page.click('form.sign-in button[type=submit]');
}
