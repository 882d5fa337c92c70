import fs from 'node:fs';
import path from 'node:path';
import { findClaude } from '../../../../nodes/shared/protocol';
import { fail, ok, ownPackage, run, satisfiesMinimum, warn, type Check } from './check';

export function checkNode(): Check {
	const need = ownPackage().engines?.node;
	if (satisfiesMinimum(process.version, need))
		return ok('node', `${process.version} (the service needs ${need ?? 'any'})`);
	return fail(
		'node',
		`${process.version}, the service needs ${need}`,
		`install Node.js ${need?.replace('>=', '')} or newer`,
	);
}

/** The claude npm package a binary belongs to: the wrapper's package.json, also for its per-platform native package. */
function claudePackage(
	binary: string,
): { version?: string; engines?: { node?: string } } | undefined {
	let real: string;
	try {
		real = fs.realpathSync(binary);
	} catch {
		return undefined;
	}
	for (let dir = path.dirname(real); dir !== path.dirname(dir); dir = path.dirname(dir)) {
		const file = path.join(dir, 'package.json');
		if (!fs.existsSync(file)) continue;
		const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as {
			name?: string;
			version?: string;
			engines?: { node?: string };
		};
		if (pkg.name === '@anthropic-ai/claude-code') return pkg;
		// @anthropic-ai/claude-code-linux-x64 and the like: the engines field is on the wrapper beside it.
		if (pkg.name?.startsWith('@anthropic-ai/claude-code-')) {
			const wrapper = path.join(dir, '..', 'claude-code', 'package.json');
			return fs.existsSync(wrapper)
				? JSON.parse(fs.readFileSync(wrapper, 'utf8'))
				: { version: pkg.version };
		}
		return undefined;
	}
	return undefined;
}

function isNativeBinary(file: string): boolean {
	const fd = fs.openSync(fs.realpathSync(file), 'r');
	try {
		const head = Buffer.alloc(4);
		fs.readSync(fd, head, 0, 4, 0);
		// ELF (Linux) or Mach-O (macOS); anything else (#!/usr/bin/env node) runs on the Node found on PATH.
		return (
			head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) ||
			[0xfeedfacf, 0xcffaedfe].includes(head.readUInt32BE(0))
		);
	} finally {
		fs.closeSync(fd);
	}
}

export async function checkClaude(claudePath: string | undefined): Promise<Check> {
	const name = 'claude CLI';
	const tested = ownPackage().devDependencies?.['@anthropic-ai/claude-code'];
	const install = `npm install -g @anthropic-ai/claude-code@${tested ?? 'latest'} (name the version: on Node < 22 npm would pick an old one), for the user n8n runs as`;
	let binary: string;
	try {
		binary = findClaude({ claudePath });
	} catch (err) {
		// The error carries the node's install hint; the fix below says it once.
		const detail = (err instanceof Error ? err.message : String(err))
			.replace(/^Claude Code CLI not found: /, '')
			.replace(/\. Install it with:.*$/s, '');
		return fail(
			name,
			detail,
			`${install}; or pass --claude <path> (the node's "Claude Path" option)`,
		);
	}
	let version: string;
	try {
		version = (await run(binary, ['--version'])).split('\n')[0];
	} catch (err) {
		return fail(
			name,
			`${binary} --version failed: ${err instanceof Error ? err.message : String(err)}`,
			`reinstall it: ${install}`,
		);
	}
	const pkg = claudePackage(binary);
	const needs = pkg?.engines?.node;
	const native = isNativeBinary(binary);
	const nodeOnPath = native
		? process.version
		: await run('node', ['--version']).catch(() => 'none');
	const runs = native
		? `native binary, runs without Node${needs ? `; its npm package declares Node ${needs}` : ''}`
		: `a Node script: needs Node ${needs ?? '(any)'}, PATH has ${nodeOnPath}`;
	const detail = `${version} at ${binary} (${runs})`;
	if (!native && (nodeOnPath === 'none' || !satisfiesMinimum(nodeOnPath, needs))) {
		return fail(
			name,
			detail,
			`install Node.js ${needs?.replace('>=', '') ?? ''} or newer first on n8n's PATH, or the native binary: ${install}`,
		);
	}
	if (tested && !version.startsWith(tested)) {
		return warn(name, `${detail}; this package is tested with ${tested}`, install);
	}
	return ok(name, detail);
}

export async function checkGit(): Promise<Check> {
	let out: string;
	try {
		out = await run('git', ['--version']);
	} catch (err) {
		const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
		return fail(
			'git',
			missing ? 'not found on PATH' : String(err),
			'install git (apt-get install git, apk add git) where n8n and its workers run',
		);
	}
	const m = /(\d+)\.(\d+)/.exec(out);
	// Worktrees with `git worktree add -b` and `--porcelain` listing: 2.17+.
	if (m && (Number(m[1]) < 2 || (Number(m[1]) === 2 && Number(m[2]) < 17))) {
		return fail('git', `${out}: worktree sessions need 2.17 or newer`, 'upgrade git');
	}
	return ok('git', out);
}
