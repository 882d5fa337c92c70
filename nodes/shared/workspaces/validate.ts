import * as path from 'node:path';
import { WorkspaceError } from './errors';

// Everything a workflow author types (repository, branch, folder, session id) reaches git or a sandbox
// shell. These checks run first and are deliberately narrower than what git itself accepts: a value we
// refuse costs the user a rename, a value we wrongly accept can become an option or a command.

export interface GithubRepository {
	owner: string;
	name: string;
	/** `owner/name`, the normalised form stored and shown everywhere. */
	fullName: string;
}

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$/;
const REPO_NAME = /^[A-Za-z0-9._-]{1,100}$/;
// Only the canonical web or clone address is accepted as a URL; anything else (ssh, other hosts,
// credentials in the URL, query strings) is refused rather than guessed at.
const GITHUB_URL = /^https:\/\/github\.com\/([^/]+)\/([^/]+?)\/?$/i;

/** Accepts `owner/repo`, `owner/repo.git`, `https://github.com/owner/repo(.git)`; returns `owner/repo`. */
export function validateRepository(input: unknown): GithubRepository {
	const raw = requireString(input, 'Repository');
	const shown = JSON.stringify(raw);
	let owner: string;
	let name: string;
	if (/^[a-z][a-z0-9+.-]*:/i.test(raw) || raw.startsWith('git@')) {
		if (/^https:\/\/[^/]*@/i.test(raw)) {
			throw new WorkspaceError(
				`Repository ${shown} contains credentials. Put the token in the GitHub token field, and the repository as owner/repo.`,
			);
		}
		const match = GITHUB_URL.exec(raw);
		if (!match) {
			throw new WorkspaceError(
				`Repository ${shown} is not a GitHub repository address. Use owner/repo or https://github.com/owner/repo.`,
			);
		}
		[, owner, name] = match;
	} else {
		const parts = raw.split('/');
		if (parts.length !== 2) {
			throw new WorkspaceError(
				`Repository ${shown} must have the form owner/repo (exactly one "/").`,
			);
		}
		[owner, name] = parts;
	}
	if (/\.git$/i.test(name) && name.length > 4) name = name.slice(0, -4);

	if (!OWNER.test(owner)) {
		throw new WorkspaceError(
			`Repository ${shown}: the owner ${JSON.stringify(owner)} is not a valid GitHub user or organisation name ` +
				`(letters, digits and single "-" inside, at most 39 characters${describeBadChar(owner, /[A-Za-z0-9-]/)}).`,
		);
	}
	if (!REPO_NAME.test(name) || name.startsWith('-') || name.includes('..') || name === '.') {
		throw new WorkspaceError(
			`Repository ${shown}: the name ${JSON.stringify(name)} is not a valid GitHub repository name ` +
				`(letters, digits, "-", "_" and "." only, not starting with "-", no "..", at most 100 characters` +
				`${describeBadChar(name, /[A-Za-z0-9._-]/)}).`,
		);
	}
	return { owner, name, fullName: `${owner}/${name}` };
}

const BRANCH_CHAR = /[A-Za-z0-9._/+@#-]/;
const BRANCH_MAX_BYTES = 200;

/**
 * git check-ref-format rules for a branch, in JS (no process needed), plus a character whitelist: git
 * would accept `$(id)` or a quote as a branch name, we do not, because the name also ends up in a
 * sandbox command line and in folder names.
 */
export function validateBranch(input: unknown): string {
	const name = requireString(input, 'Branch');
	const shown = JSON.stringify(name);
	const refuse = (why: string): never => {
		throw new WorkspaceError(`Branch ${shown} is not allowed: ${why}.`);
	};
	if (name.startsWith('-')) refuse('it must not start with "-"');
	if (Buffer.byteLength(name) > BRANCH_MAX_BYTES)
		refuse(`it is longer than ${BRANCH_MAX_BYTES} bytes`);
	// eslint-disable-next-line no-control-regex
	if (/[\x00-\x20\x7f]/.test(name)) refuse('it contains a space or a control character');
	const bad = [...name].find((c) => !BRANCH_CHAR.test(c));
	if (bad !== undefined) {
		refuse(`it contains ${JSON.stringify(bad)}; use letters, digits and . _ - / + @ # only`);
	}
	if (name.includes('..')) refuse('it contains ".."');
	if (name.includes('@{')) refuse('it contains "@{"');
	if (name === '@' || name === 'HEAD') refuse(`${shown} is reserved by git`);
	if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) {
		refuse('it must not start or end with "/" or contain "//"');
	}
	if (name.endsWith('.')) refuse('it must not end with "."');
	for (const component of name.split('/')) {
		if (component.startsWith('.')) refuse('no part between "/" may start with "."');
		if (component.endsWith('.lock')) refuse('no part between "/" may end with ".lock"');
	}
	return name;
}

const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Session ids become folder and branch names, so they are held to a filename-safe alphabet. */
export function validateSessionId(input: unknown): string {
	const id = requireString(input, 'Session id');
	if (!SESSION_ID.test(id)) {
		throw new WorkspaceError(
			`Session id ${JSON.stringify(id)} is not valid: use letters, digits, "-" and "_" (a UUID works), at most 128 characters.`,
		);
	}
	return id;
}

const SANDBOX_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function validateSandboxId(input: unknown): string {
	const id = requireString(input, 'Sandbox id');
	if (!SANDBOX_ID.test(id)) {
		throw new WorkspaceError(`Sandbox id ${JSON.stringify(id)} is not a valid E2B sandbox id.`);
	}
	return id;
}

/** An absolute path on this machine, free of control characters. Relative paths are refused: relative to what? */
export function validateAbsolutePath(input: unknown, label: string): string {
	const value = requireString(input, label);
	// eslint-disable-next-line no-control-regex
	if (/[\x00-\x1f\x7f]/.test(value)) {
		throw new WorkspaceError(`${label} ${JSON.stringify(value)} contains a control character.`);
	}
	if (!path.isAbsolute(value)) {
		throw new WorkspaceError(
			`${label} ${JSON.stringify(value)} must be an absolute path (for example /home/me/projects/app).`,
		);
	}
	return path.resolve(value);
}

/** A path inside a sandbox (POSIX): absolute, no `..` parts, no control characters. */
export function validateSandboxPath(input: unknown): string {
	const value = requireString(input, 'Sandbox path');
	if (
		// eslint-disable-next-line no-control-regex
		/[\x00-\x1f\x7f]/.test(value) ||
		!value.startsWith('/') ||
		value.split('/').includes('..') ||
		value.length > 4096
	) {
		throw new WorkspaceError(
			`Sandbox path ${JSON.stringify(value)} must be absolute, without ".." or control characters.`,
		);
	}
	return path.posix.normalize(value);
}

/** Tokens travel in an HTTP header: anything that could break the header line is refused. */
export function validateToken(input: unknown, label: string): string {
	const token = requireString(input, label);
	if (!/^[\x21-\x7e]{1,1024}$/.test(token)) {
		throw new WorkspaceError(
			`${label} contains spaces, line breaks or non-ASCII characters; paste the token alone.`,
		);
	}
	return token;
}

/**
 * The base address git fetches from: https in production, file:// or http:// for local mirrors and tests.
 * Returned without a trailing slash.
 */
export function validateRemoteBaseUrl(input: unknown): string {
	const raw = requireString(input, 'Remote base URL');
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new WorkspaceError(
			`Remote base URL ${JSON.stringify(raw)} is not a URL (expected e.g. https://github.com).`,
		);
	}
	if (
		!['https:', 'http:', 'file:'].includes(url.protocol) ||
		url.username ||
		url.password ||
		url.search ||
		url.hash
	) {
		throw new WorkspaceError(
			`Remote base URL ${JSON.stringify(raw)} must be an https://, http:// or file:// address without credentials or query.`,
		);
	}
	return url.href.replace(/\/+$/, '');
}

function requireString(input: unknown, label: string): string {
	if (typeof input !== 'string' || input.trim() === '') {
		throw new WorkspaceError(`${label} is empty; fill it in.`);
	}
	return input;
}

function describeBadChar(value: string, allowed: RegExp): string {
	const bad = [...value].find((c) => !allowed.test(c));
	return bad === undefined ? '' : `; ${JSON.stringify(bad)} is not allowed`;
}
