import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

// Debian's Chromium (`apt-get install -y chromium`), never a downloaded browser build.
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

export interface Chromium {
	context: BrowserContext;
	close(): Promise<void>;
}

/** Throws, saying how to install it, when there is no Chromium: a benchmark asks before it spends minutes seeding. */
export function assertChromium(): void {
	if (!fs.existsSync(CHROMIUM))
		throw new Error(`no Chromium at ${CHROMIUM}: install it with "apt-get install -y chromium"`);
}

/** A headless Chromium with a fresh profile: no cookies, storage or cache from an earlier run. */
export async function launchChromium(): Promise<Chromium> {
	assertChromium();
	const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-chromium-'));
	const context = await chromium.launchPersistentContext(userDataDir, {
		executablePath: CHROMIUM,
		headless: true,
		args: CHROMIUM_ARGS,
		viewport: { width: 1400, height: 900 },
	});
	return {
		context,
		async close() {
			await context.close();
			fs.rmSync(userDataDir, { recursive: true, force: true });
		},
	};
}
