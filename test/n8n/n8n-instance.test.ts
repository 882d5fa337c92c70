import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { echoWorkflow, FIXTURE_PACKAGE, fixtureCredential } from './fixtures/workflows';
import {
	COLD_INSTALL_TIMEOUT_MS,
	ensureN8nCache,
	nodeOutput,
	startN8n,
	type N8nInstance,
} from '../../scripts/n8n/n8n-instance';
import { groupExists } from '../../scripts/n8n/process-group';

// Real n8n 2.41.1 on Node 24 from the cache, loading a tiny community package; boots take ~5-15 s each.
const FIXTURE_DIR = path.join(__dirname, 'fixtures', FIXTURE_PACKAGE);
const BOOT_TIMEOUT_MS = 180_000;

async function postJson(
	url: string,
	body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
	const res = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(30_000),
	});
	return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

// The pids n8n writes nowhere: find the server's group through /proc instead, to prove stop() left nothing.
function serverGroupOf(userFolder: string): number | undefined {
	for (const pid of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
		try {
			const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
			if (!environ.split('\0').includes(`N8N_USER_FOLDER=${userFolder}`)) continue;
			const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
			return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
		} catch {
			// The process ended while we looked.
		}
	}
	return undefined;
}

describe('n8n harness (real n8n, fixture community package)', () => {
	const wf = echoWorkflow('harnessEchoWf001', 'harness-echo');
	let n8n: N8nInstance;
	let keptFolder: string | undefined;

	beforeAll(async () => {
		// Installs Node 24 + n8n into the cache when missing (cold ~4-5 min); a no-op (~0.1 s) when warm.
		await ensureN8nCache();
	}, COLD_INSTALL_TIMEOUT_MS);

	beforeAll(async () => {
		n8n = await startN8n({
			packageDir: FIXTURE_DIR,
			credentials: [fixtureCredential],
			workflows: [wf],
			keepUserFolder: true,
		});
		keptFolder = n8n.userFolder;
	}, BOOT_TIMEOUT_MS);

	afterAll(async () => {
		await n8n?.stop();
		if (keptFolder) fs.rmSync(keptFolder, { recursive: true, force: true });
	}, 180_000);

	it('runs Webhook → community node → Set, and reads the execution back', async () => {
		expect(
			fs.existsSync(
				path.join(n8n.userFolder, '.n8n', 'nodes', 'node_modules', FIXTURE_PACKAGE, 'package.json'),
			),
		).toBe(true);
		await n8n.waitForWebhook('harness-echo', { method: 'POST' });

		const res = await postJson(`${n8n.url}/webhook/harness-echo`, { name: 'smoke' });
		expect(res.status).toBe(200);
		expect(res.json.greeting).toBe('hello seen:{"name":"smoke"}');

		const [execution] = await n8n.waitForExecutions(wf.id, 1);
		expect(execution.status).toBe('success');
		expect(execution.mode).toBe('webhook');
		const [echo] = nodeOutput(execution, 'Harness Echo');
		// The CLI-imported credential was encrypted on import and decrypted by the server with the same key.
		expect(echo.credentialToken).toBe(fixtureCredential.data.token);
		expect(nodeOutput(execution, 'Set')[0].greeting).toBe('hello seen:{"name":"smoke"}');
	});

	it('imports and activates a workflow while n8n is running', async () => {
		const live = echoWorkflow('harnessEchoWf002', 'harness-echo-live');
		await n8n.importWorkflow(live);
		await n8n.waitForWebhook('harness-echo-live', { method: 'POST' });
		const res = await postJson(`${n8n.url}/webhook/harness-echo-live`, { n: 2 });
		expect(res.json.greeting).toBe('hello seen:{"n":2}');
		const executions = await n8n.waitForExecutions(live.id, 1);
		expect(executions.map((e) => e.status)).toEqual(['success']);
	});

	it('keeps workflows, credentials and executions across restart(), and leaves no process behind', async () => {
		const before = serverGroupOf(n8n.userFolder);
		expect(before).toBeDefined();
		await n8n.restart();
		expect(groupExists(before as number)).toBe(false);

		await n8n.waitForWebhook('harness-echo', { method: 'POST' });
		const res = await postJson(`${n8n.url}/webhook/harness-echo`, { name: 'after restart' });
		expect(res.json.greeting).toBe('hello seen:{"name":"after restart"}');
		const executions = await n8n.waitForExecutions(wf.id, 2);
		expect(executions).toHaveLength(2);
		expect(nodeOutput(executions[1], 'Harness Echo')[0].credentialToken).toBe(
			fixtureCredential.data.token,
		);

		const after = serverGroupOf(n8n.userFolder) as number;
		await n8n.stop();
		expect(groupExists(after)).toBe(false);
		expect(serverGroupOf(n8n.userFolder)).toBeUndefined();
	}, 120_000);

	it(
		'reuses a stopped folder and installs the package from an npm pack tarball',
		async () => {
			const packDir = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-harness-pack-'));
			try {
				const pack = spawnSync('npm', ['pack', '--pack-destination', packDir, FIXTURE_DIR], {
					encoding: 'utf8',
					timeout: 60_000,
				});
				expect(pack.status).toBe(0);
				const tarball = path.join(packDir, pack.stdout.trim().split('\n').pop() as string);

				const reused = await startN8n({ userFolder: keptFolder, packageTarball: tarball });
				try {
					expect(reused.packagePath).toBe(
						path.join(keptFolder as string, '.n8n', 'nodes', 'node_modules', FIXTURE_PACKAGE),
					);
					expect(fs.lstatSync(reused.packagePath as string).isSymbolicLink()).toBe(false);
					await reused.waitForWebhook('harness-echo-live', { method: 'POST' });
					const res = await postJson(`${reused.url}/webhook/harness-echo-live`, { n: 3 });
					expect(res.json.greeting).toBe('hello seen:{"n":3}');
					// Executions from the first instance are in the same SQLite file.
					expect(await reused.waitForExecutions('harnessEchoWf002', 2)).toHaveLength(2);
				} finally {
					await reused.stop();
				}
				expect(fs.existsSync(keptFolder as string)).toBe(true);
			} finally {
				fs.rmSync(packDir, { recursive: true, force: true });
			}
		},
		BOOT_TIMEOUT_MS,
	);
});
