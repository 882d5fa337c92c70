import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { api, startTestService, type TestService } from '../support/test-service';
import { launchChromium, type Chromium } from '../support/chromium';
import { signIn, watchedPage } from './dashboard-page';
import { createSession, postHook, putRun } from './seed';
import { sleep } from '../support/wait';

// Approvals on the dashboard, in Debian's Chromium against the real service: the sessions page shows every call
// that waits for a person (linked to its session), and a session page shows its decision history.

const KIND: 'pglite' | 'postgres' = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
const DASHBOARD_TOKEN = `dash-${crypto.randomBytes(12).toString('hex')}`;
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/dashboard');

jest.setTimeout(120_000);

const preToolUse = (sessionId: string, command: string, toolUseId: string) => ({
	session_id: sessionId,
	hook_event_name: 'PreToolUse',
	cwd: '/srv/work/app',
	tool_name: 'Bash',
	tool_input: { command, description: 'test' },
	tool_use_id: toolUseId,
});

describe(`approvals on the dashboard (${KIND})`, () => {
	let svc: TestService;
	let browser: Chromium;
	let page: Page;
	const problems: string[] = [];
	let waiting: { id: string; approvalId: string };
	let decided: { id: string };

	beforeAll(async () => {
		fs.mkdirSync(ARTIFACTS, { recursive: true });
		svc = await startTestService(KIND, { DASHBOARD_TOKEN });

		// A session stopped on `git push`: one pending call.
		const w = await createSession(svc, {
			prompt: 'Ship the release',
			workspaceType: 'local',
			workspacePath: '/srv/work/app',
			threadKey: 'slack:C0REL:1718000000.000100',
		});
		await api(svc, 'PUT', `/api/v1/sessions/${w.id}/approval-policy`, {
			rules: ['Bash(git push *)'],
			deciders: ['U0ALICE'],
		});
		await postHook(svc, w.hookToken, preToolUse(w.id, 'git push origin main', 'toolu_push'));
		await putRun(svc, w.id, {
			kind: 'start',
			status: 'waiting_approval',
			terminalReason: 'tool_deferred',
			endedAt: new Date().toISOString(),
		});
		const [pending] = (await api(svc, 'GET', `/api/v1/approvals?sessionId=${w.id}`)).body.items;
		waiting = { id: w.id, approvalId: pending.id };

		// A session with a history: approved, denied after a refused attempt, and one that expired.
		const d = await createSession(svc, {
			prompt: 'Clean up and deploy',
			workspaceType: 'local',
			workspacePath: '/srv/work/ops',
		});
		await api(svc, 'PUT', `/api/v1/sessions/${d.id}/approval-policy`, {
			rules: ['Bash'],
			deciders: ['U0ALICE', 'bob@example.com'],
		});
		await postHook(svc, d.hookToken, preToolUse(d.id, 'make deploy', 'toolu_deploy'));
		await postHook(svc, d.hookToken, preToolUse(d.id, 'rm -rf build', 'toolu_rm'));
		const items = (await api(svc, 'GET', `/api/v1/approvals?sessionId=${d.id}`)).body
			.items as Array<{ id: string; toolUseId: string }>;
		const idOf = (toolUseId: string) => items.find((a) => a.toolUseId === toolUseId)!.id;
		await api(svc, 'POST', `/api/v1/approvals/${idOf('toolu_deploy')}/decision`, {
			decision: 'approve',
			decidedBy: 'U0ALICE',
			channel: 'slack',
		});
		await api(svc, 'POST', `/api/v1/approvals/${idOf('toolu_rm')}/decision`, {
			decision: 'approve',
			decidedBy: 'U0EVE',
			channel: 'slack',
		});
		await api(svc, 'POST', `/api/v1/approvals/${idOf('toolu_rm')}/decision`, {
			decision: 'deny',
			decidedBy: 'bob@example.com',
			channel: 'email',
			note: 'not today',
		});
		await api(svc, 'PUT', `/api/v1/sessions/${d.id}/approval-policy`, {
			rules: ['Bash'],
			expiresInSeconds: 1,
		});
		await postHook(svc, d.hookToken, preToolUse(d.id, 'make release', 'toolu_release'));
		await sleep(1100);
		decided = { id: d.id };

		browser = await launchChromium();
		page = await watchedPage(browser, problems, { timeoutMs: 10_000 });
		await page.goto(svc.url + '/');
		await signIn(page, DASHBOARD_TOKEN);
	});

	afterAll(async () => {
		await browser?.close();
		await svc?.stop();
	});

	it('lists the calls waiting for a person above the sessions, each linked to its session', async () => {
		const panel = page.locator('.waiting-panel');
		await panel.waitFor();
		await expect(panel.locator('h3').textContent()).resolves.toBe('Waiting for a person (1)');
		const item = panel.locator(`li[data-approval="${waiting.approvalId}"]`);
		const text = await item.textContent();
		expect(text).toContain('Bash');
		expect(text).toContain('git push origin main');
		expect(text).toContain('deciders: U0ALICE');
		expect(text).toMatch(/expires in \d+ h/);
		await expect(
			page.locator(`table.sessions tr[data-id="${waiting.id}"] .badge`).textContent(),
		).resolves.toBe('waiting approval');
		await page.screenshot({
			path: path.join(ARTIFACTS, `${KIND}-approvals-waiting.png`),
			fullPage: true,
		});

		await item.locator('a').click();
		await page.locator('section.approvals tr[data-status="pending"]').waitFor();
		expect(page.url()).toContain(`#/sessions/${waiting.id}`);
	});

	it("shows a session's decision history: who decided, how, when, and who was refused", async () => {
		await page.goto(`${svc.url}/#/sessions/${decided.id}`);
		const rows = page.locator('section.approvals tbody tr');
		await rows.nth(2).waitFor();
		await expect(page.locator('section.approvals h3').textContent()).resolves.toBe('Approvals (3)');
		const lines = await rows.evaluateAll((trs) =>
			trs.map((tr) => [(tr as any).dataset.status, tr.textContent]),
		);
		expect(lines.map(([status]) => status)).toEqual(['approved', 'denied', 'expired']);
		expect(lines[0][1]).toMatch(/make deploy.*Bash.*approved.*U0ALICE via slack/);
		expect(lines[1][1]).toMatch(
			/rm -rf build.*denied.*bob@example\.com via email, .*: not today.*refused: U0EVE \(slack\)/,
		);
		expect(lines[2][1]).toMatch(/make release.*expired.*nobody decided by .*\(denied on resume\)/);
		await rows.nth(0).locator('summary').click();
		await expect(rows.nth(0).locator('pre.text').textContent()).resolves.toContain(
			'"command": "make deploy"',
		);
		await page.screenshot({
			path: path.join(ARTIFACTS, `${KIND}-approvals-history.png`),
			fullPage: true,
		});
		// Nothing waits in this session, so the sessions page's panel still shows only the other one.
		await page.goto(`${svc.url}/#/sessions`);
		await page.locator('.waiting-panel li').first().waitFor();
		await expect(page.locator('.waiting-panel li').count()).resolves.toBe(1);
		expect(problems).toEqual([]);
	});
});
