import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of `doctor`: what was checked, what was found, and what to do when it is not ok. */
export interface Check {
	name: string;
	status: CheckStatus;
	detail: string;
	fix?: string;
}

export const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail });
export const warn = (name: string, detail: string, fix: string): Check => ({
	name,
	status: 'warn',
	detail,
	fix,
});
export const fail = (name: string, detail: string, fix: string): Check => ({
	name,
	status: 'fail',
	detail,
	fix,
});

/** Runs a program (never through a shell) and resolves with its output, or rejects with why it did not run. */
export function run(file: string, args: string[], timeoutMs = 15_000): Promise<string> {
	return new Promise((resolve, reject) => {
		execFile(file, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
			if (err) reject(Object.assign(err, { stderr }));
			else resolve(`${stdout}${stderr}`.trim());
		});
	});
}

/** This package's package.json, the first one named like it above this file (from dist/ or from the sources). */
export function ownPackage(): {
	version: string;
	engines?: { node?: string };
	devDependencies?: Record<string, string>;
} {
	for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
		const file = path.join(dir, 'package.json');
		if (!fs.existsSync(file)) continue;
		const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
		if (pkg.name === 'n8n-nodes-claude-orchestrator') return pkg;
	}
	throw new Error('package.json of n8n-nodes-claude-orchestrator not found above ' + __dirname);
}

/** `>=X.Y.Z` ranges only (what engines fields here use); anything else is taken as satisfied. */
export function satisfiesMinimum(version: string, range: string | undefined): boolean {
	const min = /^>=\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range?.trim() ?? '');
	const have = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
	if (!min || !have) return true;
	for (let i = 1; i <= 3; i++) {
		const a = Number(have[i]);
		const b = Number(min[i] ?? 0);
		if (a !== b) return a > b;
	}
	return true;
}
