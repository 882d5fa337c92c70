import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatReport, runLoad } from '../../../bench/load-sessions';
import { fetchClient } from '../../../nodes/shared/session/fetch-client';
import { createScratchDatabase } from '../../../test/support/scratch-database';
import { TEST_API_KEY } from '../../../test/support/test-service';
import { startServiceProcess, type ServiceProcess } from '../../../test/support/service-process';
import { claudeFixture, type ClaudeFixture } from '../../../test/support/claude-fixture';

// The CI variant of `npm run bench:load` (50 sessions for 2 minutes, with n8n): 10 concurrent claude sessions
// for 20 s against the service as its own process. Nothing may be lost; the figures go to stderr.
const SESSIONS = Number(process.env.LOAD_SESSIONS ?? 10);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 20);
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`load: ${SESSIONS} concurrent sessions for ${SECONDS} s (${kind})`, () => {
	let svc: ServiceProcess;
	let fx: ClaudeFixture;
	let dataDir: string;
	let scratch: { url: string; drop(): Promise<void> } | undefined;

	beforeAll(async () => {
		dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-load-'));
		if (kind === 'postgres') scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!);
		fx = await claudeFixture('orch-load');
		svc = await startServiceProcess({
			DATA_DIR: dataDir,
			API_KEY: TEST_API_KEY,
			...(scratch ? { DATABASE_URL: scratch.url } : {}),
		});
	}, 180_000);
	afterAll(async () => {
		await svc?.stop();
		await fx?.close();
		await scratch?.drop();
		if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it('records every event and tool call of every run', async () => {
		const report = await runLoad(
			{
				client: fetchClient(svc.url, TEST_API_KEY),
				url: svc.url,
				apiKey: TEST_API_KEY,
				serviceRssKb: () => svc.rssKb(),
			},
			{
				sessions: SESSIONS,
				seconds: SECONDS,
				options: fx.options(),
				deps: fx.deps,
				folderFor: (w) => fx.folder(`worker-${w}`),
			},
		);
		process.stderr.write(`[reliability] load (${kind}):\n${formatReport(report)}\n`);
		expect(report.runs).toBeGreaterThanOrEqual(SESSIONS);
		expect({
			runsFailed: report.runsFailed,
			lostEvents: report.lostEvents,
			extraEvents: report.extraEvents,
			lostToolCalls: report.lostToolCalls,
		}).toEqual({
			runsFailed: 0,
			lostEvents: 0,
			extraEvents: 0,
			lostToolCalls: 0,
		});
		expect(report.toolCalls).toBe(report.runs * 3);
	}, 180_000);
});
