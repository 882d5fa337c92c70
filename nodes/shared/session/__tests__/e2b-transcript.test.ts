import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startTestService, type TestService } from '../../../../test/support/test-service';
import { startFakeAnthropic, type FakeAnthropic } from '../../../../test/fakes/anthropic-api';
import { claudeBinary } from '../../../../test/fakes/claude-cli';
import { fetchClient } from '../fetch-client';
import { FakeE2bCloud, type FakeSandbox } from '../../workspaces/__tests__/fake-e2b';
import { git, makeRemote } from '../../../../test/support/git';
import { tempDir } from '../../../../test/support/temp';
import { startGitHttpServer, type GitHttpServer } from '../../workspaces/__tests__/git-http-server';
import type { OrchestratorClient } from '../client';
import { parseRunOptions } from '../run-options';
import { resumeSession, startSession } from '../session-run';
import { MissingConversationError, projectSlug } from '../transcript';

// E2B sessions: the fake E2B cloud at the SDK seam (sandboxes are folders and processes on this machine),
// the real claude CLI running "inside" them against the loopback fake API, the real service keeping transcripts.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
const API_KEY = 'e2b_test_key';
const TOKEN = 'ghp_e2bTranscriptToken7';

const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');

describe(`E2B sessions keep their conversation in the service (${kind})`, () => {
	const tmp = tempDir('e2b-transcript');
	const cloud = new FakeE2bCloud(path.join(tmp.dir, 'sandboxes'), API_KEY);
	let svc: TestService;
	let fake: FakeAnthropic;
	let server: GitHttpServer;
	let client: OrchestratorClient;
	let deps: {
		allowedRoots: string[];
		workspacesDir: string;
		cacheDir: string;
		e2bSdk: FakeE2bCloud;
		remoteBaseUrl: string;
	};
	let options: ReturnType<typeof parseRunOptions>;
	const sandbox = (id: string | undefined) => cloud.sandboxes.get(id ?? '') as FakeSandbox;
	// Where claude in the sandbox keeps the conversation: the sandbox's HOME, the slug of the folder it ran in.
	const transcriptIn = (box: FakeSandbox, cwd: string, sessionId: string) =>
		path.join(box.home, '.claude', 'projects', projectSlug(cwd), `${sessionId}.jsonl`);

	beforeAll(async () => {
		[svc, fake] = await Promise.all([startTestService(kind), startFakeAnthropic()]);
		makeRemote(path.join(tmp.dir, 'remotes'), 'acme', 'widgets', 2);
		server = await startGitHttpServer(path.join(tmp.dir, 'remotes'), TOKEN);
		// The service is on loopback, which the fake sandboxes (on this machine) reach: it is their PUBLIC_URL too.
		client = fetchClient(svc.url, svc.apiKey, svc.url);
		deps = {
			allowedRoots: [tmp.dir],
			workspacesDir: path.join(tmp.dir, 'workspaces'),
			cacheDir: path.join(tmp.dir, 'cache'),
			e2bSdk: cloud,
			remoteBaseUrl: server.baseUrl,
		};
		const claudeTmp = path.join(tmp.dir, 'claude-tmp');
		fs.mkdirSync(claudeTmp, { recursive: true });
		// No HOME or CLAUDE_CONFIG_DIR: inside a sandbox claude uses the sandbox's own home.
		const env = {
			E2B_API_KEY: API_KEY,
			ANTHROPIC_BASE_URL: fake.url,
			ANTHROPIC_API_KEY: 'sk-test',
			CLAUDE_CODE_TMPDIR: claudeTmp,
			CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
			CLAUDE_CODE_MAX_RETRIES: '1',
			DISABLE_AUTOUPDATER: '1',
		};
		options = parseRunOptions({
			claudePath: claudeBinary(),
			env,
			timeoutSeconds: 60,
			e2bTemplate: 'claude-code',
			e2bIdleTimeoutMinutes: 10,
		});
	}, 60_000);
	afterAll(async () => {
		for (const box of cloud.sandboxes.values()) await box.kill();
		await Promise.all([svc?.stop(), fake?.close(), server?.close()]);
		tmp.remove();
	});

	it('uploads the transcript from the sandbox after a run, and a Resume whose sandbox expired continues in a new one', async () => {
		const first = await startSession(client, {
			prompt: 'first question [[bash:echo 1 > one.txt]]',
			workspace: {
				type: 'e2b',
				repository: 'acme/widgets',
				branch: 'feature/existing',
				githubToken: TOKEN,
			},
			options,
			deps,
		});
		expect(first).toMatchObject({ status: 'completed', isError: false });
		const oldBox = sandbox(first.workspace.sandboxId);
		const oldFile = transcriptIn(oldBox, first.workspace.path, first.sessionId);
		const turnOne = fs.readFileSync(oldFile);
		const stored = await client.request<any>(
			'GET',
			`/api/v1/sessions/${first.sessionId}/transcript/meta`,
		);
		expect(stored).toMatchObject({
			version: 1,
			sourceSizeBytes: turnOne.length,
			sourceSha256: sha256(turnOne),
		});
		expect(fs.readFileSync(path.join(first.workspace.path, 'one.txt'), 'utf8')).toBe('1\n');

		// The sandbox expires between turns (stopped here rather than waited for).
		await oldBox.kill();
		const created = cloud.createCalls.length;
		const second = await resumeSession(client, {
			sessionId: first.sessionId,
			prompt: 'second question',
			githubToken: TOKEN,
			options,
			deps,
		});
		expect(second).toMatchObject({
			sessionId: first.sessionId,
			status: 'completed',
			isError: false,
			result: 'fake: second question',
		});
		expect(cloud.createCalls.length).toBe(created + 1);
		expect(cloud.createCalls.at(-1)).toMatchObject({
			apiKey: API_KEY,
			template: 'claude-code',
			timeoutMs: 600_000,
			metadata: { sessionId: first.sessionId },
		});
		const newBox = sandbox(second.workspace.sandboxId);
		expect(newBox.sandboxId).not.toBe(oldBox.sandboxId);
		expect(second.workspace.path).toBe(path.join(newBox.home, 'workspace'));

		// The repository again, on the session's branch; what turn one left uncommitted is gone, and the output says so.
		expect(git(second.workspace.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(
			'feature/existing',
		);
		expect(git(second.workspace.path, 'remote', 'get-url', 'origin')).toBe(
			`${server.baseUrl}/acme/widgets.git`,
		);
		expect(fs.existsSync(path.join(second.workspace.path, 'one.txt'))).toBe(false);
		expect(second.notices).toEqual([
			expect.stringContaining(
				`The E2B sandbox ${oldBox.sandboxId} of this session had expired, so a new sandbox ${newBox.sandboxId} was started`,
			),
		]);
		expect(second.notices?.[0]).toMatch(
			/acme\/widgets was cloned again with branch feature\/existing.*Uncommitted or unpushed work from the earlier sandbox could not be recovered/,
		);

		// The stored conversation was written where claude in the new sandbox looks for it, and claude continued it.
		const newFile = transcriptIn(newBox, second.workspace.path, first.sessionId);
		expect(newFile).not.toBe(oldFile);
		expect(newBox.filesWritten).toEqual([newFile]);
		const turnTwo = fs.readFileSync(newFile);
		expect(turnTwo.subarray(0, turnOne.length).equals(turnOne)).toBe(true);
		expect(turnTwo.length).toBeGreaterThan(turnOne.length);
		const requests = fake.requestsFor(first.sessionId);
		const lastRequest = JSON.stringify(requests[requests.length - 1].body.messages);
		for (const earlier of ['first question', 'echo 1 > one.txt', 'second question'])
			expect(lastRequest).toContain(earlier);

		// The session now points at the new sandbox, and the service has turn two's transcript.
		const session = await client.request<any>('GET', `/api/v1/sessions/${first.sessionId}`);
		expect(session.workspace).toMatchObject({
			type: 'e2b',
			sandboxId: newBox.sandboxId,
			path: second.workspace.path,
			branch: 'feature/existing',
		});
		expect(
			await client.request<any>('GET', `/api/v1/sessions/${first.sessionId}/transcript/meta`),
		).toMatchObject({
			version: 2,
			sourceSha256: sha256(turnTwo),
		});

		// A third turn reconnects to the new sandbox, which holds the current conversation: nothing is written into it.
		const third = await resumeSession(client, {
			sessionId: first.sessionId,
			prompt: 'third question',
			githubToken: TOKEN,
			options,
			deps,
		});
		expect(third).toMatchObject({
			status: 'completed',
			result: 'fake: third question',
			workspace: { sandboxId: newBox.sandboxId },
		});
		expect(third.notices).toBeUndefined();
		expect(newBox.filesWritten).toEqual([newFile]);
		expect(cloud.createCalls.length).toBe(created + 1);
	}, 120_000);

	it('a Resume whose sandbox expired fails before any sandbox or claude starts when the service has no transcript', async () => {
		const sessionId = crypto.randomUUID();
		await client.request('POST', '/api/v1/sessions', {
			id: sessionId,
			prompt: 'never ran here',
			status: 'completed',
			workspaceType: 'e2b',
			workspacePath: '/home/user/workspace',
			sandboxId: 'fakegone0000',
			repository: 'acme/widgets',
		});
		const created = cloud.createCalls.length;
		const error = await resumeSession(client, {
			sessionId,
			prompt: 'go on',
			githubToken: TOKEN,
			options,
			deps,
		}).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(MissingConversationError);
		expect((error as Error).message).toBe(
			`Session ${sessionId} cannot be resumed: its E2B sandbox fakegone0000 has expired, taking the conversation with it, ` +
				'and the service holds no copy of the conversation. Claude Code would start a new conversation instead, so the run was not started. Start a new session.',
		);
		expect(cloud.createCalls.length).toBe(created);
		expect(fake.requestsFor(sessionId)).toEqual([]);
		const session = await client.request<any>('GET', `/api/v1/sessions/${sessionId}`);
		expect(session.workspace.sandboxId).toBe('fakegone0000');
	}, 60_000);
});
