import { WorkspaceError } from './errors';

// The E2B SDK runs commands as `/bin/bash -l -c <string>`: there is no argument-array form. Every word
// we put into that string is therefore single-quoted, the one quoting in which bash interprets nothing
// ($, `, \, !, newlines and globs are all literal); a single quote itself is written as '\''.

export function shellQuote(value: string): string {
	if (value.includes('\0')) {
		throw new WorkspaceError(
			'A command argument contains a NUL byte, which no command line can carry.',
		);
	}
	return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * `exec 'command' 'arg'…`: exec makes the program replace the shell, so the pid the SDK reports is the
 * program's own and signals sent to it reach the program, not an intermediate bash.
 */
export function commandLine(command: string, args: readonly string[]): string {
	if (!command) throw new WorkspaceError('No command to run was given.');
	return ['exec', shellQuote(command), ...args.map(shellQuote)].join(' ');
}
