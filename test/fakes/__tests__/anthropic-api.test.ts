import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeAnthropic, type FakeAnthropic } from '../anthropic-api';
import { claudeBinary, isolatedClaudeEnv } from '../claude-cli';

interface ClaudeRun {
	code: number | null;
	lines: Array<Record<string, unknown>>;
	stderr: string;
}

function runClaude(args: string[], cwd: string, env: Record<string, string>): Promise<ClaudeRun> {
	return new Promise((resolve, reject) => {
		const child = spawn(claudeBinary(), args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
		child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
		child.on('error', reject);
		child.on('close', (code) => {
			const lines = stdout
				.split('\n')
				.filter((line) => line.trim().length > 0)
				.map((line) => JSON.parse(line) as Record<string, unknown>);
			resolve({ code, lines, stderr });
		});
	});
}

const resultOf = (run: ClaudeRun) =>
	run.lines.filter((line) => line.type === 'result').pop() as Record<string, unknown>;

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
	const response = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body: JSON.stringify(body),
	});
	return {
		status: response.status,
		type: response.headers.get('content-type') ?? '',
		text: await response.text(),
	};
}

/** Parses an SSE body into [event, data] pairs. */
function sseEvents(text: string): Array<[string, Record<string, unknown>]> {
	return text
		.split('\n\n')
		.filter((chunk) => chunk.trim().length > 0)
		.map((chunk) => {
			const event = /^event: (.*)$/m.exec(chunk)?.[1] ?? '';
			const data = JSON.parse(/^data: (.*)$/m.exec(chunk)?.[1] ?? '{}') as Record<string, unknown>;
			return [event, data];
		});
}

const reminder = (text: string) => ({
	type: 'text',
	text: `<system-reminder>\n${text}\n</system-reminder>`,
});

describe('fake Anthropic API over HTTP', () => {
	let fake: FakeAnthropic;
	beforeAll(async () => {
		fake = await startFakeAnthropic();
	});
	afterAll(() => fake.close());

	it('answers other paths with a 404 JSON error', async () => {
		const response = await post(`${fake.url}/v1/complete`, {});
		expect(response.status).toBe(404);
		expect(JSON.parse(response.text)).toMatchObject({
			type: 'error',
			error: { type: 'not_found_error' },
		});
	});

	it('echoes a prompt without directives, skipping reminders and system messages, as plain JSON', async () => {
		const body = {
			model: 'claude-test',
			messages: [
				{
					role: 'user',
					content: [
						reminder('git status: clean'),
						{ type: 'text', text: 'hello there' },
						reminder('attribution'),
					],
				},
				{ role: 'system', content: 'Primary working directory: /srv/x' },
			],
		};
		const response = await post(`${fake.url}/v1/messages?beta=true`, body, {
			'x-claude-code-session-id': 's-plain',
		});
		expect(response.status).toBe(200);
		const message = JSON.parse(response.text);
		expect(message).toMatchObject({
			type: 'message',
			role: 'assistant',
			model: 'claude-test',
			stop_reason: 'end_turn',
		});
		expect(message.content).toEqual([{ type: 'text', text: 'fake: hello there' }]);
		expect(message.usage.input_tokens).toBeGreaterThan(0);
		expect(fake.requestsFor('s-plain')).toHaveLength(1);
	});

	it('streams one tool_use per turn in order, then the final text, reading progress from the messages', async () => {
		const prompt = 'go [[bash:echo 1]] [[write:out.txt::hi]] [[read:out.txt]]';
		const system = [{ type: 'text', text: 'Primary working directory: /srv/repo' }];
		const first = sseEvents(
			(
				await post(`${fake.url}/v1/messages`, {
					stream: true,
					system,
					messages: [{ role: 'user', content: prompt }],
				})
			).text,
		);
		expect(first.map(([event]) => event)).toEqual([
			'message_start',
			'content_block_start',
			'content_block_delta',
			'content_block_stop',
			'content_block_start',
			'content_block_delta',
			'content_block_delta',
			'content_block_stop',
			'message_delta',
			'message_stop',
		]);
		const toolStart = first[4][1].content_block as { id: string; name: string };
		expect(toolStart.name).toBe('Bash');
		const json = first
			.filter(
				([, data]) => (data.delta as { type?: string } | undefined)?.type === 'input_json_delta',
			)
			.map(([, data]) => (data.delta as { partial_json: string }).partial_json)
			.join('');
		expect(JSON.parse(json)).toEqual({ command: 'echo 1', description: 'fake: run command' });
		expect(first[8][1]).toMatchObject({ delta: { stop_reason: 'tool_use' } });

		const history = (results: string[]) => {
			const messages: unknown[] = [{ role: 'user', content: prompt }];
			results.forEach((text, i) => {
				messages.push({
					role: 'assistant',
					content: [{ type: 'tool_use', id: `t${i}`, name: 'X', input: {} }],
				});
				messages.push({
					role: 'user',
					content: [{ type: 'tool_result', tool_use_id: `t${i}`, content: text }, reminder('todo')],
				});
			});
			return { system, messages };
		};
		const second = JSON.parse((await post(`${fake.url}/v1/messages`, history(['1']))).text).content;
		expect(second[1]).toMatchObject({
			type: 'tool_use',
			name: 'Write',
			input: { file_path: '/srv/repo/out.txt', content: 'hi' },
		});
		const third = JSON.parse(
			(await post(`${fake.url}/v1/messages`, history(['1', 'ok']))).text,
		).content;
		expect(third[1]).toMatchObject({
			type: 'tool_use',
			name: 'Read',
			input: { file_path: '/srv/repo/out.txt' },
		});
		const done = JSON.parse(
			(await post(`${fake.url}/v1/messages`, history(['1', 'ok', '1\thi']))).text,
		);
		expect(done.stop_reason).toBe('end_turn');
		expect(done.content).toEqual([
			{ type: 'text', text: 'Done: 3 tool call(s). Last result: 1\thi' },
		]);
	});

	it('asks for steps joined by + in one turn, as parallel tool calls', async () => {
		const prompt = '[[bash:echo a]]+[[read:a.txt]] [[bash:echo b]]';
		const ask = async (messages: unknown[]) =>
			JSON.parse((await post(`${fake.url}/v1/messages`, { messages })).text);
		const first = await ask([{ role: 'user', content: prompt }]);
		expect(
			first.content
				.filter((b: { type: string }) => b.type === 'tool_use')
				.map((b: { name: string }) => b.name),
		).toEqual(['Bash', 'Read']);
		// The next turn follows the answered one, however many of its calls are still in the conversation.
		const second = await ask([
			{ role: 'user', content: prompt },
			{ role: 'assistant', content: [first.content[2]] },
			{
				role: 'user',
				content: [{ type: 'tool_result', tool_use_id: first.content[2].id, content: 'a' }],
			},
		]);
		expect(second.content[1]).toMatchObject({
			type: 'tool_use',
			name: 'Bash',
			input: { command: 'echo b' },
		});
	});

	it('honours [[text:]], [[error:]] and [[delay:]]', async () => {
		const ask = (prompt: string) =>
			post(`${fake.url}/v1/messages`, { messages: [{ role: 'user', content: prompt }] });
		expect(JSON.parse((await ask('x [[text:custom answer]]')).text).content[0].text).toBe(
			'custom answer',
		);

		const error = await ask('x [[error:429]]');
		expect(error.status).toBe(429);
		expect(JSON.parse(error.text)).toMatchObject({
			type: 'error',
			error: { type: 'rate_limit_error', message: 'fake 429' },
		});

		const started = Date.now();
		await ask('x [[delay:300]]');
		expect(Date.now() - started).toBeGreaterThanOrEqual(290);
	});

	it('answers a compaction request with a <summary>', async () => {
		const messages = [
			{ role: 'user', content: 'hi' },
			{ role: 'assistant', content: [{ type: 'text', text: 'fake: hi' }] },
			{
				role: 'user',
				content:
					'Your task is to create a detailed summary of the conversation so far. Wrap it in <summary>.',
			},
		];
		const text = JSON.parse((await post(`${fake.url}/v1/messages`, { messages })).text).content[0]
			.text as string;
		expect(text).toMatch(/<summary>.*<\/summary>/);
	});

	it('serves many sessions at once, each from its own messages', async () => {
		const asks = Array.from({ length: 40 }, (_, i) =>
			post(
				`${fake.url}/v1/messages`,
				{ messages: [{ role: 'user', content: `session ${i} [[delay:${(i % 5) * 20}]]` }] },
				{ 'x-claude-code-session-id': `par-${i}` },
			),
		);
		const answers = await Promise.all(asks);
		answers.forEach((answer, i) => {
			expect(JSON.parse(answer.text).content[0].text).toBe(
				`fake: session ${i} [[delay:${(i % 5) * 20}]]`,
			);
			expect(fake.requestsFor(`par-${i}`)).toHaveLength(1);
		});
	});
});

describe('fake Anthropic API driving the real claude CLI', () => {
	let fake: FakeAnthropic;
	let base: string;
	let repo: string;
	let env: Record<string, string>;
	beforeAll(async () => {
		fake = await startFakeAnthropic();
		base = mkdtempSync(join(tmpdir(), 'cco-fake-'));
		repo = join(base, 'repo');
		mkdirSync(repo);
		execFileSync('git', ['init', '-q'], { cwd: repo });
		env = isolatedClaudeEnv(base, fake.url);
	});
	afterAll(async () => {
		await fake.close();
		rmSync(base, { recursive: true, force: true });
	});

	it('runs Bash, Write and Read for real, then resumes with the whole history', async () => {
		const sessionId = randomUUID();
		const first = await runClaude(
			[
				'-p',
				'[[bash:echo hi > a.txt]] [[write:b.txt::x]] [[read:b.txt]]',
				'--output-format',
				'stream-json',
				'--verbose',
				'--permission-mode',
				'acceptEdits',
				'--session-id',
				sessionId,
			],
			repo,
			env,
		);
		expect(first.code).toBe(0);
		expect(readFileSync(join(repo, 'a.txt'), 'utf8')).toBe('hi\n');
		expect(readFileSync(join(repo, 'b.txt'), 'utf8')).toBe('x');
		const result = resultOf(first);
		expect(result).toMatchObject({
			is_error: false,
			num_turns: 4,
			result: 'Done: 3 tool call(s). Last result: 1\tx',
		});
		expect(result.total_cost_usd as number).toBeGreaterThan(0);
		expect(fake.requestsFor(sessionId)).toHaveLength(4);

		const second = await runClaude(
			['-p', '--resume', sessionId, 'second', '--output-format', 'stream-json', '--verbose'],
			repo,
			env,
		);
		expect(second.code).toBe(0);
		expect(resultOf(second)).toMatchObject({
			is_error: false,
			result: 'fake: second',
			session_id: sessionId,
		});
		const resumed = fake.requestsFor(sessionId).pop()?.body as {
			messages: Array<{ role: string; content: unknown }>;
		};
		const flat = JSON.stringify(resumed.messages);
		expect(flat).toContain('[[bash:echo hi > a.txt]]');
		expect(flat).toContain('Done: 3 tool call(s)');
		expect(resumed.messages.filter((m) => m.role === 'assistant').length).toBe(4);
		const lastMessage = resumed.messages[resumed.messages.length - 1];
		expect(JSON.stringify(lastMessage.content)).toContain('second');
	});

	it('turns [[error:400]] into an is_error result', async () => {
		const run = await runClaude(
			['-p', 'boom [[error:400]]', '--output-format', 'stream-json', '--verbose'],
			repo,
			env,
		);
		expect(run.code).toBe(1);
		expect(resultOf(run)).toMatchObject({
			is_error: true,
			api_error_status: 400,
			result: 'API Error: 400 fake 400',
		});
		expect(existsSync(join(repo, 'boom'))).toBe(false);
	});
});
