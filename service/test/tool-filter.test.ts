import {
	parseToolFilter,
	ToolFilterError,
	toolFilterMatches,
} from '../src/subscriptions/tool-filter';
import {
	matches,
	unreadableToolFilters,
	type SubscriptionFilter,
} from '../src/subscriptions/subscription-match';

const filter = (text: string) => parseToolFilter(text);
const match = (text: string, name: string) => toolFilterMatches(filter(text), name);

describe('tool filters: names and globs, no backtracking', () => {
	it.each([
		['Bash', 'Bash', true],
		['Bash', 'BashX', false],
		['Bash', 'xBash', false],
		['Edit|Write', 'Write', true],
		['Edit|Write', 'Read', false],
		['mcp__github__.*', 'mcp__github__get_file', true],
		['mcp__github__.*', 'mcp__github__', true],
		['mcp__github__.*', 'mcp__gitlab__get_file', false],
		['mcp__github__*', 'mcp__github__create_issue', true],
		['mcp__*__get_*', 'mcp__github__get_file', true],
		['mcp__*__get_*', 'mcp__github__put_file', false],
		['mcp__.+', 'mcp__', false],
		['mcp__.+', 'mcp__x', true],
		['B.sh', 'Bash', true],
		['B.sh', 'Bsh', false],
		['^(Edit|Write)$', 'Edit', true],
		['(?:Edit|Write)', 'Write', true],
		['*a*a*a*a*a*b', 'a'.repeat(200), false],
		[' Bash | Read ', 'Read', true],
	])('%s on %s: %s', (text, name, expected) => {
		expect(match(text, name)).toBe(expected);
	});

	it('reads empty and * as every tool', () => {
		expect(filter('').alternatives).toBeNull();
		expect(filter(' * ').alternatives).toBeNull();
	});

	it.each(['(a|a)+', '(a+)+', 'Bash[', 'a{2}', 'a\\d', '(?=x)', 'Edit||Write', 'a?', 'x$y'])(
		'refuses %s, saying which character',
		(text) => {
			expect(() => filter(text)).toThrow(ToolFilterError);
		},
	);

	it('matches in time bounded by the lengths, whatever they hold', () => {
		const hostile = filter(`${'*a'.repeat(100)}*b`);
		const name = 'a'.repeat(256);
		const started = process.hrtime.bigint();
		for (let i = 0; i < 100; i++) expect(toolFilterMatches(hostile, name)).toBe(false);
		expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(1000);
	});

	it('lets a stored filter it cannot read match nothing, and names it', () => {
		const sub = (toolFilter: string): SubscriptionFilter => ({
			id: toolFilter,
			events: [],
			toolFilter,
			sessionId: null,
			threadKey: null,
			workspaceType: null,
		});
		const event = { sessionId: 's', eventName: 'PreToolUse', toolName: `${'a'.repeat(40)}!` };
		const started = process.hrtime.bigint();
		expect(matches(sub('(a|a)+'), event, undefined)).toBe(false);
		expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(100);
		expect(matches(sub('Bash|Write'), { ...event, toolName: 'Write' }, undefined)).toBe(true);
		expect(unreadableToolFilters([sub('(a|a)+'), sub('Bash|Write'), sub('mcp__.*')])).toEqual([
			{ id: '(a|a)+', toolFilter: '(a|a)+' },
		]);
	});
});
