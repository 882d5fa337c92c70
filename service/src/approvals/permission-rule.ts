import path from 'node:path';

// Claude Code's permission-rule syntax (`Tool`, `Tool(specifier)`), matched the way the CLI matches its own
// allow/ask/deny rules, so a policy reads like a settings file: `Bash(git push *)`, `Bash(npm run:*)`,
// `Edit(/src/**)`, `WebFetch(domain:example.com)`, `mcp__github`. A policy gates, so where the CLI's
// semantics are loose (compound shell commands) a gating rule errs towards asking a person.

export interface PermissionRule {
	raw: string;
	/** A tool name; `*` in it is a wildcard (`mcp__github__*`, or `*` for every tool). */
	tool: string;
	/** What is inside the parentheses; absent or `*` means every use of the tool. */
	specifier?: string;
}

export interface ToolCall {
	toolName: string;
	toolInput: unknown;
	/** The session's working directory: relative file patterns are read from it. */
	cwd?: string;
}

export class RuleSyntaxError extends Error {}

const TOOL_NAME = /^[A-Za-z*][A-Za-z0-9_.*-]*$/;
const SHELL_TOOLS = new Set(['Bash', 'PowerShell']);
const FILE_TOOLS = new Set([
	'Read',
	'Edit',
	'Write',
	'MultiEdit',
	'NotebookEdit',
	'Glob',
	'Grep',
	'LS',
]);

export function parseRule(raw: string): PermissionRule {
	const text = raw.trim();
	const open = text.indexOf('(');
	if (open === -1) {
		if (!TOOL_NAME.test(text))
			throw new RuleSyntaxError(
				`"${raw}" is not a rule: write a tool name such as Bash or Write, or Tool(pattern) such as Bash(git push *)`,
			);
		return { raw: text, tool: text };
	}
	if (!text.endsWith(')'))
		throw new RuleSyntaxError(`"${raw}" opens "(" but does not end with ")"`);
	const tool = text.slice(0, open).trim();
	if (!TOOL_NAME.test(tool)) throw new RuleSyntaxError(`"${raw}": "${tool}" is not a tool name`);
	const specifier = text.slice(open + 1, -1).trim();
	return {
		raw: text,
		tool,
		specifier: specifier === '' || specifier === '*' ? undefined : specifier,
	};
}

const escapeRegex = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

function toolMatches(ruleTool: string, toolName: string): boolean {
	if (ruleTool === '*' || ruleTool === toolName) return true;
	// `mcp__server` stands for every tool of that MCP server.
	if (
		ruleTool.startsWith('mcp__') &&
		ruleTool.split('__').length === 2 &&
		toolName.startsWith(`${ruleTool}__`)
	)
		return true;
	if (!ruleTool.includes('*')) return false;
	return new RegExp(`^${ruleTool.split('*').map(escapeRegex).join('.*')}$`).test(toolName);
}

/**
 * A Bash specifier against one command: `prefix:*` (legacy) is the prefix as a whole word, a pattern with `*`
 * is a wildcard over the whole command, anything else is the exact command. A single trailing ` *` also takes
 * the bare command, as the CLI does (`git *` matches `git`).
 */
export function shellSpecifierMatches(specifier: string, command: string): boolean {
	const cmd = command.trim();
	const legacy = /^(.+):\*$/.exec(specifier);
	if (legacy) {
		const prefix = legacy[1].trim();
		return cmd === prefix || cmd.startsWith(`${prefix} `);
	}
	// `\*` is a literal star; a lone `*` is the wildcard.
	const parts: string[] = [];
	let current = '';
	let wildcards = 0;
	for (let i = 0; i < specifier.length; i++) {
		const c = specifier[i];
		if (c === '\\' && specifier[i + 1] === '*') {
			current += '*';
			i++;
		} else if (c === '*') {
			parts.push(current);
			current = '';
			wildcards++;
		} else current += c;
	}
	parts.push(current);
	if (!wildcards) return cmd === specifier.replace(/\\\*/g, '*').trim();
	let source = parts.map(escapeRegex).join('.*');
	if (wildcards === 1 && parts[1] === '' && parts[0].endsWith(' '))
		source = `${escapeRegex(parts[0].slice(0, -1))}(?: .*)?`;
	return new RegExp(`^${source}$`, 's').test(cmd);
}

/**
 * The simple commands of a compound one (`a && b; c | d`), split outside quotes. The CLI matches rules per
 * subcommand too, which is what keeps `safe && rm -rf /` from passing as `safe`.
 */
export function shellSegments(command: string): string[] {
	const segments: string[] = [];
	let current = '';
	let quote: '"' | "'" | undefined;
	for (let i = 0; i < command.length; i++) {
		const c = command[i];
		if (quote) {
			current += c;
			if (c === quote) quote = undefined;
			else if (c === '\\' && quote === '"' && i + 1 < command.length) current += command[++i];
			continue;
		}
		if (c === '\\' && i + 1 < command.length) {
			current += c + command[++i];
			continue;
		}
		if (c === '"' || c === "'") {
			quote = c;
			current += c;
			continue;
		}
		if (c === ';' || c === '\n' || c === '|' || c === '&') {
			segments.push(current);
			current = '';
			// `&&`, `||`, `|&`: one separator.
			if ((c === '&' || c === '|') && (command[i + 1] === '&' || command[i + 1] === '|')) i++;
			continue;
		}
		current += c;
	}
	segments.push(current);
	return segments.map((s) => s.trim()).filter(Boolean);
}

/** gitignore-style path patterns, as the CLI reads them for file tools. */
function pathMatches(specifier: string, filePath: string, cwd: string | undefined): boolean {
	const base = cwd ?? '/';
	const target = path.posix.resolve(base, filePath);
	let pattern: string;
	let anchored = true;
	if (specifier.startsWith('//')) pattern = specifier.slice(1);
	else if (specifier.startsWith('~/')) {
		// The home of whoever runs claude is not known here: match the rest anywhere (a gate errs wide).
		pattern = specifier.slice(2);
		anchored = false;
	} else if (specifier.startsWith('/')) pattern = path.posix.join(base, specifier);
	else if (specifier.startsWith('./') || specifier.includes('/'))
		pattern = path.posix.join(base, specifier);
	else {
		pattern = specifier;
		anchored = false;
	}
	let source = '';
	for (let i = 0; i < pattern.length; i++) {
		const c = pattern[i];
		if (c === '*' && pattern[i + 1] === '*') {
			source += '.*';
			i++;
			if (pattern[i + 1] === '/') i++;
		} else if (c === '*') source += '[^/]*';
		else if (c === '?') source += '[^/]';
		else source += escapeRegex(c);
	}
	return new RegExp(anchored ? `^${source}$` : `(?:^|/)${source}$`).test(target);
}

function stringValues(input: unknown): string[] {
	if (!input || typeof input !== 'object') return typeof input === 'string' ? [input] : [];
	return Object.values(input as Record<string, unknown>).filter(
		(v): v is string => typeof v === 'string',
	);
}

function field(input: unknown, ...names: string[]): string | undefined {
	if (!input || typeof input !== 'object') return undefined;
	for (const name of names) {
		const v = (input as Record<string, unknown>)[name];
		if (typeof v === 'string') return v;
	}
	return undefined;
}

/**
 * Whether `rule` covers `call`. `mode` says which way a doubt goes for compound shell commands: a gate
 * matches when any subcommand does; an allow-list only covers a command when it covers every subcommand.
 */
export function ruleMatches(
	rule: PermissionRule,
	call: ToolCall,
	mode: 'gate' | 'allow' = 'gate',
): boolean {
	if (!toolMatches(rule.tool, call.toolName)) return false;
	const spec = rule.specifier;
	if (spec === undefined) return true;
	const input = call.toolInput;
	if (SHELL_TOOLS.has(call.toolName)) {
		const command = field(input, 'command');
		if (command === undefined) return false;
		const segments = shellSegments(command);
		if (mode === 'allow')
			return segments.length > 0 && segments.every((s) => shellSpecifierMatches(spec, s));
		return (
			shellSpecifierMatches(spec, command) || segments.some((s) => shellSpecifierMatches(spec, s))
		);
	}
	if (FILE_TOOLS.has(call.toolName)) {
		const file = field(input, 'file_path', 'notebook_path', 'path');
		return file !== undefined && pathMatches(spec, file, call.cwd);
	}
	if (call.toolName === 'WebFetch' && spec.startsWith('domain:')) {
		const domain = spec.slice('domain:'.length).trim().toLowerCase();
		let host: string;
		try {
			host = new URL(field(input, 'url') ?? '').hostname.toLowerCase();
		} catch {
			return mode === 'gate';
		}
		const bare = domain.replace(/^\*\./, '');
		return host === bare || host.endsWith(`.${bare}`);
	}
	// Any other tool: the pattern (exact, or with `*` wildcards) against each of the call's text arguments.
	return stringValues(input).some((v) => shellSpecifierMatches(spec, v));
}
