import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { WorkspaceError } from '../errors';
import { LineSplitter } from '../../runner/line-splitter';
import { commandLine, shellQuote } from '../shell-quote';
import { pwnedMarker } from '../../../../test/support/temp';
import { hostileArguments } from './hostile-strings';

const marker = pwnedMarker();

describe('shellQuote', () => {
	it('makes bash pass every hostile string through unchanged, and runs nothing', () => {
		const args = hostileArguments(marker);
		const script = `printf '%s\\0' ${args.map(shellQuote).join(' ')}`;
		const out = execFileSync('/bin/bash', ['-c', script], { encoding: 'utf8' });
		expect(out.split('\0').slice(0, -1)).toEqual(args);
		expect(existsSync(marker)).toBe(false);
	});

	it('builds an exec command line that bash runs as the program itself', () => {
		const line = commandLine('printf', ['%s|', 'a b', "it's"]);
		expect(line).toBe(`exec 'printf' '%s|' 'a b' 'it'\\''s'`);
		expect(execFileSync('/bin/bash', ['-c', line], { encoding: 'utf8' })).toBe("a b|it's|");
	});

	it('refuses NUL bytes, which no command line can carry', () => {
		expect(() => shellQuote('a\0b')).toThrow(WorkspaceError);
	});
});

describe('LineSplitter', () => {
	it('joins chunks split anywhere into whole lines, drops CR, and flushes the last line at end', () => {
		const lines: string[] = [];
		const splitter = new LineSplitter((line) => lines.push(line));
		for (const chunk of ['{"a":', '1}\n{"b"', ':2}\r\n\n', '{"c":3}\n{"d"', ':4}'])
			splitter.push(chunk);
		expect(lines).toEqual(['{"a":1}', '{"b":2}', '', '{"c":3}']);
		splitter.end();
		expect(lines).toEqual(['{"a":1}', '{"b":2}', '', '{"c":3}', '{"d":4}']);
	});
});
