import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestService, type TestService } from '../../../../test/support/test-service';
import { startFakeAnthropic, type FakeAnthropic } from '../../../../test/fakes/anthropic-api';
import { claudeBinary, isolatedClaudeEnv } from '../../../../test/fakes/claude-cli';
import { lastConversation } from '../../../../test/support/claude-fixture';
import { fetchClient } from '../fetch-client';
import { parseRunOptions } from '../run-options';
import { resumeSession, startSession } from '../session-run';

// A session started against one service (embedded PGlite) is exported, imported into another (PostgreSQL when
// TEST_DATABASE_URL is set) and resumed there by a worker with a fresh HOME: the real claude CLI, the fake API.
const target = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`a session moved from PGlite to ${target} is resumed there`, () => {
	let from: TestService;
	let to: TestService;
	let fake: FakeAnthropic;
	let root: string;

	beforeAll(async () => {
		[from, to, fake] = await Promise.all([
			startTestService('pglite'),
			startTestService(target),
			startFakeAnthropic(),
		]);
		root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-transfer-')));
	}, 60_000);
	afterAll(async () => {
		await Promise.all([from?.stop(), to?.stop(), fake?.close()]);
		if (root) fs.rmSync(root, { recursive: true, force: true });
	});

	it('exports, imports and resumes with the earlier turns', async () => {
		const deps = {
			allowedRoots: [path.join(root, 'shared')],
			workspacesDir: path.join(root, 'ws'),
			cacheDir: path.join(root, 'cache'),
		};
		const folder = path.join(root, 'shared', 'app');
		fs.mkdirSync(folder, { recursive: true });
		const options = (home: string) =>
			parseRunOptions({
				claudePath: claudeBinary(),
				env: isolatedClaudeEnv(path.join(root, home), fake.url),
				timeoutSeconds: 60,
			});
		const threadKey = `email:<moved-${Date.now()}@example.com>`;
		const first = await startSession(fetchClient(from.url, from.apiKey), {
			prompt: 'remember the word kumquat [[bash:echo k > k.txt]]',
			workspace: { type: 'local', workspacePath: folder },
			threadKey,
			options: options('old-home'),
			deps,
		});
		expect(first.status).toBe('completed');

		const doc = await (
			await fetch(`${from.url}/api/v1/sessions/${first.sessionId}/export`, {
				headers: { Authorization: `Bearer ${from.apiKey}` },
			})
		).json();
		const imported = await fetch(`${to.url}/api/v1/sessions/import`, {
			method: 'POST',
			headers: { Authorization: `Bearer ${to.apiKey}`, 'content-type': 'application/json' },
			body: JSON.stringify(doc),
		});
		expect(imported.status).toBe(201);

		const client = fetchClient(to.url, to.apiKey);
		const resumed = await resumeSession(client, {
			threadKey,
			prompt: 'which word?',
			options: options('new-home'),
			deps,
		});
		expect(resumed).toMatchObject({
			sessionId: first.sessionId,
			status: 'completed',
			result: 'fake: which word?',
		});
		expect(lastConversation(fake, first.sessionId)).toContain('remember the word kumquat');
		const detail = await client.request<any>('GET', `/api/v1/sessions/${first.sessionId}`);
		expect(detail).toMatchObject({ status: 'completed', runCount: 2 });
	});
});
