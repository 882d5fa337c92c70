import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamParser, type StreamRecord } from '../stream-parser';

// Captured from the real claude 2.1.331 against the fake: Bash, Write, Read in acceptEdits.
const THREE_TOOLS = readFileSync(join(__dirname, 'fixtures', 'three-tools.jsonl'), 'utf8').split(
	'\n',
);
// Captured with --include-hook-events and a PreToolUse command hook.
const HOOK_EVENTS = readFileSync(join(__dirname, 'fixtures', 'hook-events.jsonl'), 'utf8').split(
	'\n',
);

// From reference/claude-code-defer.md §1.3: a prompted resume of a deferred call prints two result lines.
const TWO_RESULTS = [
	'{"duration_api_ms":136,"stop_reason":"end_turn","session_id":"11111111-1111-4111-8111-000000000002","total_cost_usd":0.023511999999999998,"permission_denials":[],"terminal_reason":"completed","safety_stops":0,"is_error":false,"num_turns":1,"subtype":"success","api_error_status":null,"result":"Done: 1 tool call(s). Last result: (Bash completed with no output)","ttft_ms":299,"type":"result","duration_ms":366,"uuid":"c1aeb0de-91f7-48dc-91c2-0be33bb60b81","result_index":0}',
	'{"duration_api_ms":149,"stop_reason":"end_turn","session_id":"11111111-1111-4111-8111-000000000002","total_cost_usd":0.03514,"permission_denials":[],"terminal_reason":"completed","safety_stops":0,"is_error":false,"num_turns":1,"subtype":"success","api_error_status":null,"result":"fake: approved","ttft_ms":82,"type":"result","duration_ms":100,"uuid":"1ee60fac-707f-4f6a-84f8-c8b7c088eac9","result_index":1}',
];

function feedAll(parser: StreamParser, lines: string[]): StreamRecord[] {
	return lines.flatMap((line) => parser.feed(line));
}

describe('StreamParser', () => {
	it('reads a real three-tool run: init, messages, tool starts and finishes, result', () => {
		const parser = new StreamParser();
		const records = feedAll(parser, THREE_TOOLS);
		expect(parser.malformedLines).toBe(0);

		const init = records.find((r) => r.type === 'init');
		expect(init).toEqual({
			type: 'init',
			init: expect.objectContaining({
				cliVersion: '2.1.331',
				model: 'claude-opus-5-5',
				permissionMode: 'acceptEdits',
				sessionId: '11111111-1111-4111-8111-000000000003',
				cwd: '/tmp/probe/run/repo',
			}),
		});
		if (init?.type === 'init')
			expect(init.init.tools).toEqual(expect.arrayContaining(['Bash', 'Read', 'Write']));

		const messages = records.flatMap((r) => (r.type === 'message' ? [r.message] : []));
		expect(messages.map((m) => m.content)).toEqual([
			'Calling Bash (step 1/3).',
			'Calling Write (step 2/3).',
			'Calling Read (step 3/3).',
			'Done: 3 tool call(s). Last result: 1\tx',
		]);
		for (const message of messages) {
			expect(message.direction).toBe('assistant');
			expect(message.uuid).toMatch(/^[0-9a-f-]{36}$/);
			expect(Number.isNaN(Date.parse(message.createdAt))).toBe(false);
		}
		expect(new Set(messages.map((m) => m.uuid)).size).toBe(4);

		const starts = records.flatMap((r) => (r.type === 'tool_start' ? [r.call] : []));
		const finishes = records.flatMap((r) => (r.type === 'tool_finish' ? [r.call] : []));
		expect(starts.map((s) => s.toolName)).toEqual(['Bash', 'Write', 'Read']);
		expect(starts[0].input).toEqual({
			command: 'echo hi > a.txt',
			description: 'fake: run command',
		});
		expect(finishes.map((f) => f.toolUseId)).toEqual(starts.map((s) => s.toolUseId));
		expect(finishes.every((f) => !f.isError)).toBe(true);
		expect(finishes[0].response).toEqual({
			content: '(Bash completed with no output)',
			toolUseResult: expect.objectContaining({ stdout: '', interrupted: false }),
		});
		expect(finishes[2].response.content).toBe('1\tx');

		expect(parser.results).toHaveLength(1);
		expect(parser.lastResult).toMatchObject({
			isError: false,
			subtype: 'success',
			terminalReason: 'completed',
			numTurns: 4,
			result: 'Done: 3 tool call(s). Last result: 1\tx',
			permissionDenials: [],
			apiErrorStatus: null,
		});
		expect(parser.lastResult?.totalCostUsd).toBeGreaterThan(0);
		expect(parser.lastResult?.usage).toHaveProperty('input_tokens');
		expect(parser.lastResult?.modelUsage).toHaveProperty('claude-opus-5-5');
	});

	it('keeps every result line and treats the last as the outcome', () => {
		const parser = new StreamParser();
		const records = feedAll(parser, TWO_RESULTS);
		expect(records.map((r) => r.type)).toEqual(['result', 'result']);
		expect(parser.results.map((r) => r.result)).toEqual([
			'Done: 1 tool call(s). Last result: (Bash completed with no output)',
			'fake: approved',
		]);
		expect(parser.lastResult?.totalCostUsd).toBe(0.03514);
	});

	it('reads budget, deferral and API-error results', () => {
		const parser = new StreamParser();
		parser.feed(
			'{"duration_api_ms":0,"stop_reason":"tool_use","session_id":"s","total_cost_usd":0.0118,"permission_denials":[],"terminal_reason":"budget_exhausted","is_error":true,"num_turns":1,"subtype":"error_max_budget_usd","errors":["Reached maximum budget ($0.01)"],"type":"result","duration_ms":151}',
		);
		expect(parser.lastResult).toMatchObject({
			subtype: 'error_max_budget_usd',
			isError: true,
			errors: ['Reached maximum budget ($0.01)'],
			terminalReason: 'budget_exhausted',
		});
		parser.feed(
			'{"is_error":false,"num_turns":20,"stop_reason":"tool_deferred","session_id":"s","total_cost_usd":0.0117,"permission_denials":[],"subtype":"success","result":"","deferred_tool_use":{"id":"toolu_1","name":"Bash","input":{"command":"echo d4"}},"type":"result"}',
		);
		expect(parser.lastResult).toMatchObject({
			deferredToolUse: { id: 'toolu_1', name: 'Bash', input: { command: 'echo d4' } },
			stopReason: 'tool_deferred',
			terminalReason: undefined,
		});
		parser.feed(
			'{"type":"result","is_error":true,"api_error_status":400,"result":"API Error: 400 fake 400","subtype":"success","permission_denials":[{"tool_name":"Bash","tool_use_id":"t","tool_input":{}}]}',
		);
		expect(parser.lastResult).toMatchObject({
			apiErrorStatus: 400,
			isError: true,
			permissionDenials: [{ tool_name: 'Bash', tool_use_id: 't' }],
		});
		expect(parser.results).toHaveLength(3);
	});

	it('reports hook lifecycle lines', () => {
		const parser = new StreamParser();
		const records = feedAll(parser, HOOK_EVENTS);
		expect(records).toEqual([
			{
				type: 'hook',
				hook: expect.objectContaining({
					phase: 'started',
					hookEvent: 'PreToolUse',
					hookName: 'PreToolUse:Bash',
				}),
			},
			{
				type: 'hook',
				hook: expect.objectContaining({
					phase: 'response',
					hookEvent: 'PreToolUse',
					outcome: 'success',
					exitCode: 0,
				}),
			},
		]);
	});

	it('counts malformed, partial and non-JSON lines, ignores blank ones, and never throws', () => {
		const parser = new StreamParser();
		const valid = THREE_TOOLS[1];
		const bad = [
			valid.slice(0, Math.floor(valid.length / 2)),
			'not json at all',
			'[1,2,3]',
			'"a string"',
			'null',
			'{"no":"type"}',
			'{"type":42}',
			'\u0000\u0001garbage',
		];
		const records = feedAll(parser, ['', '   ', '\r', ...bad]);
		expect(records).toEqual([]);
		expect(parser.malformedLines).toBe(bad.length);
		expect(parser.lines).toBe(bad.length);
		// Still works afterwards, and tolerates \r at the end of a line.
		expect(parser.feed(`${valid}\r`).map((r) => r.type)).toEqual(['message']);
	});

	it('ignores line types it has no use for and odd shapes inside known ones', () => {
		const parser = new StreamParser();
		const lines = [
			'{"type":"system","subtype":"api_retry","attempt":1}',
			'{"type":"system","subtype":"compact_boundary"}',
			'{"type":"attachment","attachment":{"type":"hook_success"}}',
			'{"type":"command_lifecycle","state":"started"}',
			'{"type":"assistant","message":{"content":"plain string content"},"uuid":"u1","timestamp":"2026-11-24T19:44:22.056Z"}',
			'{"type":"assistant","message":{"content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":""},{"type":"tool_use","name":"Bash"}]}}',
			'{"type":"assistant","message":null}',
			'{"type":"user","message":{"content":[{"type":"text","text":"[Request interrupted by user]"}]}}',
			'{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"a","content":[{"type":"text","text":"one"},{"type":"image"}],"is_error":true},{"type":"tool_result","tool_use_id":"b","content":"two"}]},"tool_use_result":{"x":1}}',
		];
		const records = feedAll(parser, lines);
		expect(parser.malformedLines).toBe(0);
		expect(records).toEqual([
			{
				type: 'message',
				message: {
					uuid: 'u1',
					direction: 'assistant',
					content: 'plain string content',
					createdAt: '2026-11-24T19:44:22.056Z',
				},
			},
			{
				type: 'tool_finish',
				call: {
					toolUseId: 'a',
					response: { content: 'one\n[image]' },
					isError: true,
					finishedAt: expect.any(String),
				},
			},
			{
				type: 'tool_finish',
				call: {
					toolUseId: 'b',
					response: { content: 'two' },
					isError: false,
					finishedAt: expect.any(String),
				},
			},
		]);
	});
});
