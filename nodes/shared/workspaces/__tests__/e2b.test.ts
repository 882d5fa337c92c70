import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
	LaunchSpec,
	PreparedWorkspace,
	ProcessLauncher,
	RunningProcess,
} from '../../runner/types';
import { readSandboxFile, sandboxClaudeConfigDir, writeSandboxFile } from '../e2b-files';
import { E2bLauncher } from '../e2b-launcher';
import { WorkspaceError } from '../errors';
import { hookUrlForSandbox } from '../hook-url';
import {
	prepareWorkspace,
	reopenWorkspace,
	type WorkspaceDeps,
	type WorkspaceRequest,
} from '../index';
import { FakeE2bCloud, type FakeSandbox } from './fake-e2b';
import { git, makeRemote } from '../../../../test/support/git';
import { pwnedMarker, tempDir } from '../../../../test/support/temp';
import { startGitHttpServer, type GitHttpServer } from './git-http-server';
import { hostileArguments } from './hostile-strings';

const API_KEY = 'e2b_test_key';

// Small node programs run inside the (fake) sandbox as the "claude" being launched.
const PROGRAMS = {
	'argv.js': `for (const arg of process.argv.slice(2)) process.stdout.write(JSON.stringify(arg) + '\\n');
process.stdout.write(JSON.stringify({ cwd: process.cwd(), foo: process.env.FOO, home: process.env.HOME }) + '\\n');`,
	'chunks.js': `const parts = ['{"type":"sys', 'tem"}\\n{"type":"assistant","n":1}\\n{"type":', '"result","ok":true}'];
(async () => { for (const part of parts) { process.stdout.write(part); await new Promise((r) => setTimeout(r, 60)); } })();`,
	'trap.js': `process.on('SIGINT', () => { console.log('got SIGINT'); process.exit(0); });
console.log('ready'); setInterval(() => {}, 1000);`,
	'idle.js': `console.log('ready'); setInterval(() => {}, 1000);`,
	'fail.js': `process.stderr.write('boom\\n'); process.exit(3);`,
	'sleep.js': `setTimeout(() => console.log('done'), Number(process.argv[2]));`,
	'touch.js': `require('fs').writeFileSync(process.argv[2], 'x');`,
};

interface Collected {
	lines: string[];
	stderr: string;
	exit: Promise<{ code: number | null; signal: string | null }>;
	proc: RunningProcess;
}

function collect(proc: RunningProcess): Collected {
	const collected: Collected = { lines: [], stderr: '', exit: proc.exited, proc };
	proc.onLine((line) => collected.lines.push(line));
	proc.onStderr((chunk) => (collected.stderr += chunk));
	return collected;
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
	const start = Date.now();
	while (!condition()) {
		if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
		await sleep(20);
	}
}

describe('e2b workspaces (fake E2B cloud at the SDK seam, real processes)', () => {
	const tmp = tempDir('ws-e2b');
	const cloud = new FakeE2bCloud(path.join(tmp.dir, 'sandboxes'), API_KEY);
	const localLauncher: ProcessLauncher = {
		launch: () => Promise.reject(new Error('local launcher must not be used for e2b')),
	};
	const deps: WorkspaceDeps = {
		allowedRoots: [tmp.dir],
		workspacesDir: path.join(tmp.dir, 'workspaces'),
		cacheDir: path.join(tmp.dir, 'cache'),
		localLauncher,
		e2bSdk: cloud,
		publicUrl: 'https://orchestrator.example.com',
	};
	const request = (extra: Partial<WorkspaceRequest> = {}): WorkspaceRequest => ({
		type: 'e2b',
		sessionId: randomUUID(),
		e2b: { apiKey: API_KEY, template: 'claude-code', idleTimeoutMs: 60_000 },
		...extra,
	});
	const sandboxOf = (workspace: PreparedWorkspace): FakeSandbox =>
		cloud.sandboxes.get(workspace.sandboxId ?? '') as FakeSandbox;
	const spec = (
		workspace: PreparedWorkspace,
		program: keyof typeof PROGRAMS,
		args: string[] = [],
		env: Record<string, string> = {},
	): LaunchSpec => {
		const file = path.join(workspace.path, program);
		writeFileSync(file, PROGRAMS[program]);
		return { command: process.execPath, args: [file, ...args], cwd: workspace.path, env };
	};

	afterAll(async () => {
		for (const sandbox of cloud.sandboxes.values()) await sandbox.kill();
		tmp.remove();
	});

	it('creates a sandbox with the key, template, idle timeout and session metadata, and a working folder in it', async () => {
		const req = request();
		const workspace = await prepareWorkspace(req, deps);
		const sandbox = sandboxOf(workspace);
		expect(cloud.createCalls.at(-1)).toEqual({
			apiKey: API_KEY,
			template: 'claude-code',
			timeoutMs: 60_000,
			metadata: { sessionId: req.sessionId, createdBy: 'n8n-nodes-claude-orchestrator' },
		});
		expect(workspace).toMatchObject({
			type: 'e2b',
			sandboxId: sandbox.sandboxId,
			path: path.join(sandbox.home, 'workspace'),
		});
		expect(workspace.launcher).toBeInstanceOf(E2bLauncher);
		expect(existsSync(workspace.path)).toBe(true);
	});

	it('quotes every argument: hostile strings arrive unchanged and run nothing', async () => {
		const marker = pwnedMarker();
		const hostile = hostileArguments(marker);
		const workspace = await prepareWorkspace(request(), deps);
		const run = collect(
			await workspace.launcher.launch(
				spec(workspace, 'argv.js', hostile, {
					FOO: 'bar $(id)',
					PATH: '/host/only',
					HOME: '/host/home',
				}),
			),
		);
		expect(await run.exit).toEqual({ code: 0, signal: null });
		const values = run.lines.map((line) => JSON.parse(line));
		expect(values.slice(0, -1)).toEqual(hostile);
		// Host-only variables stay on the host: the sandbox's HOME wins.
		expect(values.at(-1)).toEqual({
			cwd: workspace.path,
			foo: 'bar $(id)',
			home: sandboxOf(workspace).home,
		});
		expect(existsSync(marker)).toBe(false);

		const recorded = sandboxOf(workspace).commandsRun.at(-1);
		expect(recorded?.cmd.startsWith(`exec '${process.execPath}' `)).toBe(true);
		expect(recorded?.opts).toMatchObject({
			background: true,
			cwd: workspace.path,
			timeoutMs: 0,
			envs: { FOO: 'bar $(id)' },
		});
		expect(recorded?.opts.envs).not.toHaveProperty('PATH');
	});

	it('splits stdout chunks into lines, keeping lines that arrived before a listener was attached', async () => {
		const workspace = await prepareWorkspace(request(), deps);
		const proc = await workspace.launcher.launch(spec(workspace, 'chunks.js'));
		await sleep(150);
		const run = collect(proc);
		expect(await run.exit).toEqual({ code: 0, signal: null });
		expect(run.lines).toEqual([
			'{"type":"system"}',
			'{"type":"assistant","n":1}',
			'{"type":"result","ok":true}',
		]);
	});

	it('SIGINT is sent inside the sandbox with kill -s INT <pid>; a program that handles it exits 0', async () => {
		const workspace = await prepareWorkspace(request(), deps);
		const run = collect(await workspace.launcher.launch(spec(workspace, 'trap.js')));
		await until(() => run.lines.includes('ready'));
		run.proc.signal('SIGINT');
		expect(await run.exit).toEqual({ code: 0, signal: null });
		expect(run.lines).toEqual(['ready', 'got SIGINT']);
		const { pid } = sandboxOf(workspace).commandsRun.find((c) => c.cmd.includes('trap.js')) ?? {};
		expect(sandboxOf(workspace).commandsRun.map((c) => c.cmd)).toContain(`kill -s INT -- ${pid}`);
	});

	it('reports a signal death as the signal (SIGINT, SIGTERM), and SIGKILL goes through handle.kill()', async () => {
		const workspace = await prepareWorkspace(request(), deps);
		for (const signal of ['SIGINT', 'SIGTERM'] as const) {
			const run = collect(await workspace.launcher.launch(spec(workspace, 'idle.js')));
			await until(() => run.lines.includes('ready'));
			run.proc.signal(signal);
			expect(await run.exit).toEqual({ code: null, signal });
		}
		const run = collect(await workspace.launcher.launch(spec(workspace, 'idle.js')));
		await until(() => run.lines.includes('ready'));
		run.proc.signal('SIGKILL');
		expect(await run.exit).toEqual({ code: null, signal: 'SIGKILL' });
		const sandbox = sandboxOf(workspace);
		expect(sandbox.killedPids).toEqual([sandbox.commandsRun.at(-1)?.pid]);
		expect(sandbox.commandsRun.filter((c) => c.cmd.startsWith('kill -s KILL'))).toEqual([]);
	});

	it('passes exit codes and stderr through', async () => {
		const workspace = await prepareWorkspace(request(), deps);
		const run = collect(await workspace.launcher.launch(spec(workspace, 'fail.js')));
		expect(await run.exit).toEqual({ code: 3, signal: null });
		expect(run.stderr).toBe('boom\n');
	});

	it('Resume reconnects to the same sandbox by id and finds the files of the earlier run', async () => {
		const workspace = await prepareWorkspace(request(), deps);
		const first = collect(
			await workspace.launcher.launch(spec(workspace, 'touch.js', ['made-by-turn-1'])),
		);
		expect(await first.exit).toEqual({ code: 0, signal: null });

		const reopened = await reopenWorkspace(
			{
				type: 'e2b',
				path: workspace.path,
				sandboxId: workspace.sandboxId,
				e2b: { apiKey: API_KEY, idleTimeoutMs: 60_000 },
			},
			deps,
		);
		expect(cloud.connectCalls.at(-1)).toEqual({
			sandboxId: workspace.sandboxId,
			opts: { apiKey: API_KEY, timeoutMs: 60_000 },
		});
		expect(reopened).toMatchObject({
			type: 'e2b',
			path: workspace.path,
			sandboxId: workspace.sandboxId,
		});
		expect(existsSync(path.join(reopened.path, 'made-by-turn-1'))).toBe(true);
		const second = collect(await reopened.launcher.launch(spec(reopened, 'argv.js', ['turn 2'])));
		expect(await second.exit).toEqual({ code: 0, signal: null });
		expect(second.lines[0]).toBe('"turn 2"');
	});

	it('keeps the sandbox alive while a run lasts longer than the idle timeout, then lets it expire after idling', async () => {
		// Idle timeout and run length with room to spare: the steps between creating the sandbox and starting the
		// run take well over half a second on a busy machine, and the sandbox must not expire in between.
		const idleTimeoutMs = 3000;
		const workspace = await prepareWorkspace(
			request({ e2b: { apiKey: API_KEY, idleTimeoutMs } }),
			deps,
		);
		const sandbox = sandboxOf(workspace);
		expect(cloud.createCalls.at(-1)?.timeoutMs).toBe(idleTimeoutMs);

		const run = collect(await workspace.launcher.launch(spec(workspace, 'sleep.js', ['7500'])));
		expect(await run.exit).toEqual({ code: 0, signal: null });
		expect(run.lines).toEqual(['done']);
		// Heartbeats every third of the idle time during the run, then one last reset when it ended.
		expect(sandbox.timeoutCalls.length).toBeGreaterThanOrEqual(4);
		expect(new Set(sandbox.timeoutCalls)).toEqual(new Set([idleTimeoutMs]));
		expect(sandbox.alive).toBe(true);

		// Then nothing resets it, and it expires (waited for, not slept on: timers run late on a busy machine).
		while (sandbox.alive) await sleep(50);
		const error = await reopenWorkspace(
			{
				type: 'e2b',
				path: workspace.path,
				sandboxId: workspace.sandboxId,
				e2b: { apiKey: API_KEY },
			},
			deps,
		).catch((e) => e);
		expect(error).toBeInstanceOf(WorkspaceError);
		expect(error.code).toBe('sandbox_gone');
		expect(error.message).toMatch(/no longer exists: it expired after being idle/);
	});

	it('(control) without the launcher heartbeats, a sandbox dies under a long command at its timeout', async () => {
		const workspace = await prepareWorkspace(
			request({ e2b: { apiKey: API_KEY, idleTimeoutMs: 400 } }),
			deps,
		);
		const handle = await sandboxOf(workspace).commands.run('sleep 2', {
			background: true,
			timeoutMs: 0,
		});
		await expect(handle.wait()).rejects.toMatchObject({ name: 'SandboxNotFoundError' });
		expect(sandboxOf(workspace).alive).toBe(false);
	});

	it("reads and writes files in the sandbox, and finds claude's config folder as claude there would", async () => {
		const workspace = await prepareWorkspace(request(), deps);
		const sandbox = sandboxOf(workspace);
		// Host-only variables do not reach the sandbox: its own HOME decides, unless CLAUDE_CONFIG_DIR is set.
		expect(await sandboxClaudeConfigDir(sandbox, { HOME: '/host/home' })).toBe(
			path.join(sandbox.home, '.claude'),
		);
		expect(await sandboxClaudeConfigDir(sandbox, { CLAUDE_CONFIG_DIR: '/opt/claude config' })).toBe(
			'/opt/claude config',
		);

		const file = path.join(sandbox.home, '.claude', 'projects', '-x', 'conversation.jsonl');
		expect(await readSandboxFile(sandbox, file)).toBeUndefined();
		const data = Buffer.concat([Buffer.alloc(3, 0xff), Buffer.from('{"type":"user"}\n')]).subarray(
			3,
		);
		await writeSandboxFile(sandbox, file, data);
		expect(readFileSync(file, 'utf8')).toBe('{"type":"user"}\n');
		expect((await readSandboxFile(sandbox, file))?.equals(data)).toBe(true);

		await sandbox.kill();
		await expect(readSandboxFile(sandbox, file)).rejects.toMatchObject({
			name: 'SandboxNotFoundError',
		});
	});

	it('refuses hostile repositories and branches before any sandbox is created', async () => {
		const marker = pwnedMarker();
		const before = cloud.createCalls.length;
		for (const extra of [
			{ repository: `owner/repo;touch ${marker}` },
			{ repository: '../../etc' },
			{ repository: 'acme/widgets', branch: `--upload-pack=touch ${marker}` },
			{ repository: 'acme/widgets', branch: `$(touch ${marker})` },
			{ sessionId: `$(touch ${marker})` },
		]) {
			await expect(prepareWorkspace(request(extra), deps)).rejects.toBeInstanceOf(WorkspaceError);
		}
		expect(cloud.createCalls.length).toBe(before);
		expect(existsSync(marker)).toBe(false);
	});

	it('says when E2B refuses the API key', async () => {
		const error = await prepareWorkspace(request({ e2b: { apiKey: 'e2b_wrong' } }), deps).catch(
			(e) => e,
		);
		expect(error).toBeInstanceOf(WorkspaceError);
		expect(error.code).toBe('auth_failed');
		expect(error.message).toMatch(/E2B refused the API key/);
	});

	describe('cloning inside the sandbox', () => {
		const token = 'ghp_sandboxTOKEN42';
		const encoded = Buffer.from(`x-access-token:${token}`).toString('base64');
		let server: GitHttpServer;

		beforeAll(async () => {
			makeRemote(path.join(tmp.dir, 'remotes'), 'acme', 'widgets', 3);
			server = await startGitHttpServer(path.join(tmp.dir, 'remotes'), token);
		});
		afterAll(() => server.close());

		it('clones with the token in git environment variables only, and creates a branch missing on the remote', async () => {
			const workspace = await prepareWorkspace(
				request({ repository: 'acme/widgets', branch: 'claude/sandbox-work', githubToken: token }),
				{ ...deps, remoteBaseUrl: server.baseUrl },
			);
			expect(workspace).toMatchObject({
				repository: 'acme/widgets',
				branch: 'claude/sandbox-work',
			});
			expect(git(workspace.path, 'rev-parse', '--is-shallow-repository')).toBe('true');
			expect(git(workspace.path, 'remote', 'get-url', 'origin')).toBe(
				`${server.baseUrl}/acme/widgets.git`,
			);
			const config = readFileSync(path.join(workspace.path, '.git', 'config'), 'utf8');
			expect(config).not.toContain(token);
			expect(config).not.toContain(encoded);

			const commands = sandboxOf(workspace).commandsRun;
			for (const command of commands) {
				expect(command.cmd).not.toContain(token);
				expect(command.cmd).not.toContain(encoded);
			}
			const cloneCommand = commands.find((c) => c.cmd.startsWith(`'git' 'clone'`));
			expect(cloneCommand?.opts.envs).toMatchObject({
				GIT_TERMINAL_PROMPT: '0',
				GIT_CONFIG_COUNT: '1',
				GIT_CONFIG_VALUE_0: `Authorization: Basic ${encoded}`,
			});
			expect(
				server.authorizations.filter(Boolean).every((header) => header === `Basic ${encoded}`),
			).toBe(true);
		});

		it('checks out a branch that exists on the remote', async () => {
			const workspace = await prepareWorkspace(
				request({ repository: 'acme/widgets', branch: 'feature/existing', githubToken: token }),
				{ ...deps, remoteBaseUrl: server.baseUrl },
			);
			expect(workspace.branch).toBe('feature/existing');
		});

		it('kills the sandbox and explains when the clone fails', async () => {
			const before = new Set(cloud.sandboxes.keys());
			const error = await prepareWorkspace(
				request({ repository: 'acme/widgets', githubToken: 'ghp_wrong' }),
				{
					...deps,
					remoteBaseUrl: server.baseUrl,
				},
			).catch((e) => e);
			expect(error).toBeInstanceOf(WorkspaceError);
			expect(error.code).toBe('auth_failed');
			expect(error.message).toMatch(/Could not clone acme\/widgets inside the sandbox/);
			const created = [...cloud.sandboxes.values()].filter((s) => !before.has(s.sandboxId));
			expect(created.map((s) => s.alive)).toEqual([false]);
		});
	});
});

describe('hook URLs for sandboxes', () => {
	it('swaps the origin (and the service base) for PUBLIC_URL', () => {
		expect(
			hookUrlForSandbox('http://localhost:3001/api/v1/hooks?s=1', {
				publicUrl: 'https://orch.example.com/',
			}),
		).toBe('https://orch.example.com/api/v1/hooks?s=1');
		expect(
			hookUrlForSandbox('http://127.0.0.1:3001/orch/api/v1/hooks', {
				publicUrl: 'https://tunnel.example.com/base',
				serviceBaseUrl: 'http://127.0.0.1:3001/orch',
			}),
		).toBe('https://tunnel.example.com/base/api/v1/hooks');
	});

	it('keeps a reachable URL, and refuses a loopback one without PUBLIC_URL', () => {
		expect(hookUrlForSandbox('https://orch.example.com/api/v1/hooks')).toBe(
			'https://orch.example.com/api/v1/hooks',
		);
		expect(() => hookUrlForSandbox('http://localhost:3001/api/v1/hooks')).toThrow(/Set PUBLIC_URL/);
	});

	it('is offered by the E2B launcher with the publicUrl it was given', () => {
		const launcher = new E2bLauncher({} as never, {
			idleTimeoutMs: 1000,
			publicUrl: 'https://orch.example.com',
		});
		expect(launcher.hookUrl('http://localhost:3001/api/v1/hooks')).toBe(
			'https://orch.example.com/api/v1/hooks',
		);
	});
});
