// runClaude end to end: the real claude 2.1.331 against the loopback fake API, in temp git repos.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeAnthropic, type FakeAnthropic } from '../../../../test/fakes/anthropic-api';
import { claudeBinary, isolatedClaudeEnv } from '../../../../test/fakes/claude-cli';
import { buildClaudeArgs, type ClaudeArgsOptions } from '../args';
import { ClaudeNotFoundError } from '../errors';
import { buildHookSettings } from '../hook-settings';
import { LocalLauncher, type LocalProcess } from '../local-launcher';
import { runClaude, type RunClaudeOptions, type RunSink, type ToolCallUpsert } from '../run-claude';
import type { StreamInit, StreamMessage } from '../stream-parser';
import type { LaunchSpec, ProcessLauncher, RunningProcess } from '../types';
import { sleep } from '../../../../test/support/wait';

/** An in-memory sink that keeps the latest state of each tool call, as the service would. */
class MemorySink implements RunSink {
	inits: StreamInit[] = [];
	messages: StreamMessage[] = [];
	toolCalls = new Map<string, ToolCallUpsert>();
	failures = 0;
	private readonly calls: Record<'init' | 'messages' | 'toolCalls', number> = {
		init: 0,
		messages: 0,
		toolCalls: 0,
	};
	/** failFirst: each kind of write throws on its first n calls, whenever they come (a sink that is down). */
	constructor(private readonly failFirst = 0) {}
	private gate(kind: 'init' | 'messages' | 'toolCalls') {
		if (++this.calls[kind] <= this.failFirst) {
			this.failures++;
			throw new Error('sink down');
		}
	}
	async onInit(init: StreamInit) {
		this.gate('init');
		this.inits.push(init);
	}
	async onMessages(messages: StreamMessage[]) {
		this.gate('messages');
		this.messages.push(...messages);
	}
	async onToolCalls(calls: ToolCallUpsert[]) {
		this.gate('toolCalls');
		for (const call of calls) this.toolCalls.set(call.toolUseId, call);
	}
}

/** The local launcher, remembering pids so the test can check that nothing is left running. */
class PidRecordingLauncher implements ProcessLauncher {
	readonly pids: number[] = [];
	private readonly inner = new LocalLauncher();
	async launch(spec: LaunchSpec): Promise<RunningProcess> {
		const proc = (await this.inner.launch(spec)) as LocalProcess;
		if (proc.pid !== undefined) this.pids.push(proc.pid);
		return proc;
	}
}

/** Live (non-zombie) processes whose process group is pgid; this VM's init reaps orphans lazily. */
function liveGroupMembers(pgid: number): number[] {
	const members: number[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
		} catch {
			// The process ended while we looked.
		}
	}
	return members;
}

/** A SIGKILLed process needs a moment to disappear from /proc: poll briefly before calling it a leftover. */
async function leftovers(pgid: number): Promise<number[]> {
	let members = liveGroupMembers(pgid);
	for (let i = 0; i < 50 && members.length > 0; i++) {
		await sleep(20);
		members = liveGroupMembers(pgid);
	}
	return members;
}

function processExists(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

describe('runClaude with the real claude CLI', () => {
	let fake: FakeAnthropic;
	let base: string;
	let env: Record<string, string>;
	let repoCount = 0;

	beforeAll(async () => {
		fake = await startFakeAnthropic();
		base = mkdtempSync(join(tmpdir(), 'cco-runner-'));
		env = isolatedClaudeEnv(base, fake.url);
	});
	afterAll(async () => {
		await fake.close();
		rmSync(base, { recursive: true, force: true });
	});

	function gitRepo(): string {
		const repo = join(base, `repo-${++repoCount}`);
		mkdirSync(repo);
		execFileSync('git', ['init', '-q'], { cwd: repo });
		return repo;
	}

	function run(
		cwd: string,
		args: Partial<ClaudeArgsOptions>,
		extra: Partial<RunClaudeOptions> = {},
	): { sessionId: string; outcome: ReturnType<typeof runClaude> } {
		const sessionId = args.sessionId ?? randomUUID();
		const outcome = runClaude({
			launcher: new LocalLauncher(),
			command: claudeBinary(),
			args: buildClaudeArgs({ sessionId, ...args }),
			cwd,
			env,
			sink: new MemorySink(),
			timeoutMs: 30_000,
			batch: { maxItems: 5, maxDelayMs: 50 },
			...extra,
		});
		return { sessionId, outcome };
	}

	it('runs Bash, Write and Read, feeding the sink init, messages and three timed tool calls', async () => {
		const repo = gitRepo();
		const sink = new MemorySink();
		const { sessionId, outcome } = run(
			repo,
			{ prompt: '[[bash:echo hi > a.txt]] [[write:b.txt::x]] [[read:b.txt]]' },
			{ sink },
		);
		const result = await outcome;

		expect(result).toMatchObject({
			status: 'completed',
			isError: false,
			exitCode: 0,
			subtype: 'success',
			terminalReason: 'completed',
			numTurns: 4,
			cliVersion: '2.1.331',
			result: 'Done: 3 tool call(s). Last result: 1\tx',
			malformedLines: 0,
			resultCount: 1,
			sessionId,
			permissionDenials: [],
			undelivered: { init: 0, messages: 0, toolCalls: 0 },
		});
		expect(result.errorMessage).toBeUndefined();
		expect(result.costUsd).toBeGreaterThan(0);
		expect(result.usage).toHaveProperty('output_tokens');
		expect(readFileSync(join(repo, 'a.txt'), 'utf8')).toBe('hi\n');
		expect(readFileSync(join(repo, 'b.txt'), 'utf8')).toBe('x');

		expect(sink.inits).toEqual([
			expect.objectContaining({
				sessionId,
				cliVersion: '2.1.331',
				permissionMode: 'acceptEdits',
				cwd: repo,
			}),
		]);
		expect(sink.messages.map((m) => m.content)).toEqual([
			'Calling Bash (step 1/3).',
			'Calling Write (step 2/3).',
			'Calling Read (step 3/3).',
			'Done: 3 tool call(s). Last result: 1\tx',
		]);
		const calls = [...sink.toolCalls.values()];
		expect(calls.map((c) => c.toolName)).toEqual(['Bash', 'Write', 'Read']);
		expect(result.toolUseIds).toEqual(calls.map((c) => c.toolUseId));
		for (const call of calls) {
			expect(call).toMatchObject({
				status: 'succeeded',
				isError: false,
				startedAt: expect.any(String),
				finishedAt: expect.any(String),
			});
			expect(call.durationMs).toBeGreaterThanOrEqual(0);
		}
		expect(calls[0].input).toEqual({
			command: 'echo hi > a.txt',
			description: 'fake: run command',
		});
		expect(calls[2].response).toMatchObject({ content: '1\tx' });

		// Resuming with a prompt goes through the same args: the prompt after "--" reaches the model.
		const resumed = await run(repo, { sessionId, resume: true, prompt: 'second' }).outcome;
		expect(resumed).toMatchObject({ status: 'completed', result: 'fake: second', sessionId });
	});

	it('delivers everything in the end to a sink whose first two writes of each kind throw', async () => {
		const sink = new MemorySink(2);
		const result = await run(gitRepo(), { prompt: '[[bash:echo one]] [[bash:echo two]]' }, { sink })
			.outcome;
		expect(result.status).toBe('completed');
		// Every kind was refused twice and delivered after: init, messages and tool calls each went through a retry.
		expect(sink.failures).toBe(6);
		expect(result.undelivered).toEqual({ init: 0, messages: 0, toolCalls: 0 });
		expect(sink.inits).toHaveLength(1);
		expect(sink.messages.map((m) => m.content)).toEqual([
			'Calling Bash (step 1/2).',
			'Calling Bash (step 2/2).',
			'Done: 2 tool call(s). Last result: two',
		]);
		expect([...sink.toolCalls.values()].map((c) => c.status)).toEqual(['succeeded', 'succeeded']);
	});

	it('stops a run that exceeds its timeout, leaving no process behind', async () => {
		const launcher = new PidRecordingLauncher();
		const started = Date.now();
		// The timeout must land after claude has its SIGINT handler (it starts in well under a second on an idle
		// machine, several on a busy one), and the model's answer must come long after the timeout.
		const result = await run(
			gitRepo(),
			{ prompt: 'slow [[delay:90000]]' },
			{ launcher, timeoutMs: 10_000 },
		).outcome;
		// Stopped by the timeout, not by the model answering.
		expect(Date.now() - started).toBeGreaterThanOrEqual(10_000);
		expect(Date.now() - started).toBeLessThan(90_000);
		expect(result.status).toBe('timed_out');
		expect(result.isError).toBe(true);
		expect(result.errorMessage).toMatch(/did not finish within 10000 ms/);
		// SIGINT was enough: claude exited by itself with 0 (after SIGTERM it exits 143).
		expect(result).toMatchObject({ exitCode: 0, exitSignal: null });
		const [pid] = launcher.pids;
		expect(processExists(pid)).toBe(false);
		expect(await leftovers(pid)).toEqual([]);
	});

	it('cancels a run when its AbortSignal fires', async () => {
		const launcher = new PidRecordingLauncher();
		const controller = new AbortController();
		const { sessionId, outcome } = run(
			gitRepo(),
			{ prompt: 'slow [[delay:90000]]' },
			{ launcher, signal: controller.signal },
		);
		// Abort while the API call is in flight, so the CLI's own interrupt handling is what we see.
		while (fake.requestsFor(sessionId).length === 0) await sleep(20);
		const abortedAt = Date.now();
		controller.abort();
		const result = await outcome;
		// Stopped by the abort, not by the model answering.
		expect(Date.now() - abortedAt).toBeLessThan(90_000);
		expect(result.status).toBe('cancelled');
		// SIGINT alone ended it: exit 0, no signal. The CLI usually prints an aborted_streaming result line too, but
		// under CPU load it sometimes exits 0 with only "[Request interrupted by user]" (seen 1 in 12), so no result is
		// not asserted here and never assumed by runClaude.
		expect(result).toMatchObject({ exitCode: 0, exitSignal: null });
		if (result.resultCount > 0)
			expect(result).toMatchObject({
				terminalReason: 'aborted_streaming',
				subtype: 'error_during_execution',
			});
		expect(processExists(launcher.pids[0])).toBe(false);
		expect(await leftovers(launcher.pids[0])).toEqual([]);
	});

	it('does not start claude for an already aborted signal', async () => {
		const launcher = new PidRecordingLauncher();
		const result = await run(
			gitRepo(),
			{ prompt: 'never' },
			{ launcher, signal: AbortSignal.abort() },
		).outcome;
		expect(result.status).toBe('cancelled');
		expect(launcher.pids).toEqual([]);
	});

	it('says how to install claude when the binary is missing', async () => {
		const attempt = runClaude({
			launcher: new LocalLauncher(),
			command: join(base, 'no-such-dir', 'claude'),
			args: ['-p', 'x'],
			cwd: base,
			env,
			sink: new MemorySink(),
			timeoutMs: 5_000,
		});
		await expect(attempt).rejects.toThrow(ClaudeNotFoundError);
		await expect(attempt).rejects.toThrow('npm install -g @anthropic-ai/claude-code@2.1.331');
	});

	it('explains failures: API error, missing API key, exhausted budget', async () => {
		const repo = gitRepo();
		const apiError = await run(repo, { prompt: 'boom [[error:400]]' }).outcome;
		expect(apiError).toMatchObject({ status: 'failed', exitCode: 1, isError: true });
		expect(apiError.errorMessage).toMatch(/HTTP 400: API Error: 400 fake 400/);

		const noKeyEnv = { ...env };
		delete noKeyEnv.ANTHROPIC_API_KEY;
		const noKey = await run(repo, { prompt: 'hi' }, { env: noKeyEnv }).outcome;
		expect(noKey.status).toBe('failed');
		expect(noKey.errorMessage).toMatch(/Set ANTHROPIC_API_KEY/);

		const budgetSink = new MemorySink();
		const budget = await run(
			repo,
			{ prompt: '[[bash:echo a]] [[bash:echo b]]', maxBudgetUsd: 0.001 },
			{ sink: budgetSink },
		).outcome;
		expect(budget).toMatchObject({
			status: 'failed',
			subtype: 'error_max_budget_usd',
			exitCode: 1,
		});
		expect(budget.errorMessage).toMatch(/reached its budget/);
		// The tool_use the CLI never ran is not left "running".
		expect(budget.toolUseIds.length).toBeGreaterThan(0);
		expect([...budgetSink.toolCalls.values()].map((c) => c.status)).toEqual(
			budget.toolUseIds.map(() => 'failed'),
		);
	});

	it('fires the injected HTTP hooks with the bearer token, even when the workspace disables hooks', async () => {
		const received: Array<{
			event: string;
			auth: string | undefined;
			body: Record<string, unknown>;
		}> = [];
		const server = http.createServer((req, res) => {
			let raw = '';
			req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
			req.on('end', () => {
				const body = JSON.parse(raw) as Record<string, unknown>;
				received.push({
					event: String(body.hook_event_name),
					auth: req.headers.authorization,
					body,
				});
				res.writeHead(200, { 'content-type': 'application/json' });
				res.end('{}');
			});
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const { port } = server.address() as AddressInfo;

		try {
			const repo = gitRepo();
			// A repository that tries to switch our hooks off: ignored because project settings are untrusted.
			mkdirSync(join(repo, '.claude'));
			writeFileSync(
				join(repo, '.claude', 'settings.json'),
				JSON.stringify({ disableAllHooks: true }),
			);
			const settings = buildHookSettings({
				hookUrl: `http://127.0.0.1:${port}/api/v1/hooks`,
				tokenEnvVar: 'CCO_HOOK_TOKEN',
				timeoutSeconds: 5,
			});
			const { sessionId, outcome } = run(
				repo,
				{
					prompt: '[[bash:echo hooked]]',
					settings: settings as unknown as Record<string, unknown>,
				},
				{ env: { ...env, CCO_HOOK_TOKEN: 'tok-123' } },
			);
			const result = await outcome;
			expect(result.status).toBe('completed');

			const events = received.map((r) => r.event);
			expect(events).toEqual(
				expect.arrayContaining(['UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'Stop']),
			);
			expect(events).not.toContain('SessionStart');
			for (const r of received) {
				expect(r.auth).toBe('Bearer tok-123');
				expect(r.body.session_id).toBe(sessionId);
			}
			const pre = received.find((r) => r.event === 'PreToolUse');
			expect(pre?.body).toMatchObject({ tool_name: 'Bash', tool_use_id: result.toolUseIds[0] });
			const post = received.find((r) => r.event === 'PostToolUse');
			expect(post?.body.tool_use_id).toBe(result.toolUseIds[0]);
		} finally {
			await new Promise((resolve) => server.close(resolve));
		}
	});
});
