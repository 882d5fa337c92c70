import { buildClaudeArgs, splitToolRules, type ClaudeArgsOptions } from '../args';
import { ClaudeOptionError } from '../errors';

const SID = '1783e529-b137-4c6a-bc9b-97b1e0374b55';
const BASE = ['-p', '--output-format', 'stream-json', '--verbose'];

/** The value that follows a flag, or undefined when the flag is absent. */
function valueOf(args: string[], flag: string): string | undefined {
	const i = args.indexOf(flag);
	return i === -1 ? undefined : args[i + 1];
}

describe('buildClaudeArgs', () => {
	it('builds a new session: stream-json, pre-assigned id, acceptEdits, untrusted settings, prompt last after --', () => {
		expect(buildClaudeArgs({ prompt: 'do it', sessionId: SID })).toEqual([
			...BASE,
			'--session-id',
			SID,
			'--permission-mode',
			'acceptEdits',
			'--setting-sources',
			'',
			'--',
			'do it',
		]);
	});

	it('resumes with --resume and no prompt at all when none is given', () => {
		const args = buildClaudeArgs({ sessionId: SID, resume: true, prompt: '  ' });
		expect(args.slice(0, 6)).toEqual([...BASE, '--resume', SID]);
		expect(args).not.toContain('--session-id');
		expect(args).not.toContain('--');
	});

	const table: Array<[string, Partial<ClaudeArgsOptions>, string, string | undefined]> = [
		['model', { model: 'claude-sonnet-4-5' }, '--model', 'claude-sonnet-4-5'],
		[
			'fallback model',
			{ fallbackModel: 'claude-haiku-4-5' },
			'--fallback-model',
			'claude-haiku-4-5',
		],
		['max turns', { maxTurns: 7 }, '--max-turns', '7'],
		['budget', { maxBudgetUsd: 0.25 }, '--max-budget-usd', '0.25'],
		['permission mode', { permissionMode: 'plan' }, '--permission-mode', 'plan'],
		['default permission mode', { permissionMode: 'default' }, '--permission-mode', 'default'],
		[
			'append system prompt',
			{ appendSystemPrompt: 'Be brief.' },
			'--append-system-prompt',
			'Be brief.',
		],
		['settings object as JSON', { settings: { hooks: {} } }, '--settings', '{"hooks":{}}'],
		[
			'settings string as is',
			{ settings: '/etc/claude/hooks.json' },
			'--settings',
			'/etc/claude/hooks.json',
		],
		[
			'mcp config, compacted',
			{ mcpConfig: '{ "mcpServers": { "a": { "command": "x" } } }' },
			'--mcp-config',
			'{"mcpServers":{"a":{"command":"x"}}}',
		],
		['mcp config object', { mcpConfig: { mcpServers: {} } }, '--mcp-config', '{"mcpServers":{}}'],
		[
			'trusted project settings: no --setting-sources',
			{ trustProjectSettings: true },
			'--setting-sources',
			undefined,
		],
		['empty model is omitted', { model: ' ' }, '--model', undefined],
	];
	it.each(table)('%s', (_name, extra, flag, expected) => {
		const args = buildClaudeArgs({ prompt: 'p', sessionId: SID, ...extra });
		expect(valueOf(args, flag)).toBe(expected);
		expect(args.slice(-2)).toEqual(['--', 'p']);
	});

	const tools: Array<[string, string | string[], string[]]> = [
		['comma list', 'Bash, Write ,Read', ['Bash', 'Write', 'Read']],
		['commas inside a rule stay', 'Bash(git add, commit),Edit', ['Bash(git add, commit)', 'Edit']],
		['array, one rule each', ['Bash(git *)', ' Edit ', ''], ['Bash(git *)', 'Edit']],
		['newlines', 'Read\nWrite', ['Read', 'Write']],
	];
	it.each(tools)('tool rules: %s', (_name, value, rules) => {
		expect(splitToolRules(value)).toEqual(rules);
		const args = buildClaudeArgs({
			prompt: 'p',
			sessionId: SID,
			allowedTools: value,
			disallowedTools: value,
		});
		const allowedAt = args.indexOf('--allowedTools');
		expect(args.slice(allowedAt + 1, allowedAt + 1 + rules.length)).toEqual(rules);
		const deniedAt = args.indexOf('--disallowedTools');
		expect(args.slice(deniedAt + 1, deniedAt + 1 + rules.length)).toEqual(rules);
	});

	it('leaves out tool flags for empty lists', () => {
		const args = buildClaudeArgs({
			prompt: 'p',
			sessionId: SID,
			allowedTools: ' , ',
			disallowedTools: [],
		});
		expect(args).not.toContain('--allowedTools');
		expect(args).not.toContain('--disallowedTools');
	});

	it('keeps a prompt that looks like a flag a prompt', () => {
		expect(
			buildClaudeArgs({ prompt: '--help me', sessionId: SID, allowedTools: 'Bash' }).slice(-3),
		).toEqual(['Bash', '--', '--help me']);
	});

	it('refuses a prompt longer than Linux passes as one argument, saying so, and takes one at the limit', () => {
		const atLimit = 'x'.repeat(131_071);
		expect(buildClaudeArgs({ prompt: atLimit, sessionId: SID }).at(-1)).toBe(atLimit);
		// 43,691 characters, but 131,073 bytes in UTF-8: spawn would fail with E2BIG.
		expect(() => buildClaudeArgs({ prompt: '€'.repeat(43_691), sessionId: SID })).toThrow(
			/prompt: it is 131073 bytes .* limits to 131071 bytes/,
		);
	});

	it('adds --include-hook-events on request', () => {
		expect(buildClaudeArgs({ prompt: 'p', sessionId: SID, includeHookEvents: true })).toContain(
			'--include-hook-events',
		);
	});

	const invalid: Array<[string, Partial<ClaudeArgsOptions>, RegExp]> = [
		['session id not a uuid', { sessionId: 'abc' }, /sessionId.*not a UUID/],
		['new session without prompt', { prompt: '' }, /prompt.*needs a prompt/],
		[
			'unknown permission mode',
			{ permissionMode: 'yolo' },
			/permissionMode.*default, acceptEdits, plan, auto, dontAsk, bypassPermissions/,
		],
		['max turns zero', { maxTurns: 0 }, /maxTurns/],
		['max turns fraction', { maxTurns: 1.5 }, /maxTurns/],
		['negative budget', { maxBudgetUsd: -1 }, /maxBudgetUsd/],
		['budget NaN', { maxBudgetUsd: Number.NaN }, /maxBudgetUsd/],
		['mcp not JSON', { mcpConfig: '{nope' }, /mcpConfig: it is not valid JSON/],
		[
			'mcp without mcpServers',
			{ mcpConfig: '{"servers":{}}' },
			/mcpConfig: it must be an object with an "mcpServers" object/,
		],
		['mcp servers is an array', { mcpConfig: { mcpServers: [] } }, /"mcpServers" object/],
		['mcp is an array', { mcpConfig: '[]' }, /"mcpServers" object/],
		['model looks like a flag', { model: '--bare' }, /model/],
	];
	it.each(invalid)('rejects %s', (_name, extra, message) => {
		const build = () => buildClaudeArgs({ prompt: 'p', sessionId: SID, ...extra });
		expect(build).toThrow(ClaudeOptionError);
		expect(build).toThrow(message);
	});
});
