import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { WorkspaceError } from './errors';
import { validateAbsolutePath } from './validate';

// A local workspace lets Claude edit files on the n8n host, so the folder must sit inside a root the
// administrator allowed. Both sides are compared after resolving symlinks: a link inside a root that
// points at /etc is /etc.

export interface ResolvedRoots {
	/** Real paths of the roots that exist. */
	roots: string[];
	/** The roots as configured, for messages. */
	configured: string[];
}

export async function resolveAllowedRoots(allowedRoots: readonly string[]): Promise<ResolvedRoots> {
	const configured = allowedRoots.filter((root) => typeof root === 'string' && root.trim() !== '');
	if (configured.length === 0) {
		throw new WorkspaceError(
			'No allowed workspace roots are configured, so no local folder may be used. ' +
				'Set the allowed roots (absolute folders) in the node settings or environment.',
			'outside_roots',
		);
	}
	const roots: string[] = [];
	for (const root of configured) {
		if (!path.isAbsolute(root)) continue;
		try {
			roots.push(await fs.realpath(root));
		} catch {
			// A root that does not exist (yet) contains nothing; it is still named in messages.
		}
	}
	return { roots, configured };
}

/** True when `child` is `parent` or lies below it. Both must be real, absolute paths. */
export function isInside(child: string, parent: string): boolean {
	const relative = path.relative(parent, child);
	if (relative === '') return true;
	return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

export function describeRoots(roots: ResolvedRoots): string {
	return roots.configured.map((root) => JSON.stringify(root)).join(', ');
}

/**
 * An absolute path that must exist, as given and resolved to its real path; `missing(requested)` is the message when
 * it does not exist (what that means for the user).
 */
export async function existingPath(
	input: unknown,
	label: string,
	missing: (requested: string) => string,
): Promise<{ requested: string; real: string }> {
	const requested = validateAbsolutePath(input, label);
	try {
		return { requested, real: await fs.realpath(requested) };
	} catch {
		throw new WorkspaceError(missing(requested), 'not_found');
	}
}

/**
 * Resolves a folder the user asked for to its real path and checks it is an existing directory inside
 * an allowed root. Returns the real path.
 */
export async function resolveFolderInRoots(
	input: unknown,
	allowedRoots: readonly string[],
	label = 'Workspace folder',
): Promise<string> {
	const roots = await resolveAllowedRoots(allowedRoots);
	if (typeof input === 'string' && input.trim() !== '' && !path.isAbsolute(input)) {
		throw new WorkspaceError(
			`${label} ${JSON.stringify(input)} must be an absolute path inside one of the allowed roots: ${describeRoots(roots)}.`,
			'outside_roots',
		);
	}
	const { requested, real } = await existingPath(
		input,
		label,
		(given) =>
			`${label} ${JSON.stringify(given)} does not exist. Create it first, or pick a folder under ${describeRoots(roots)}.`,
	);
	if (!roots.roots.some((root) => isInside(real, root))) {
		const via = real === requested ? '' : ` (it resolves to ${JSON.stringify(real)})`;
		throw new WorkspaceError(
			`${label} ${JSON.stringify(requested)}${via} is outside the allowed roots. Allowed roots: ${describeRoots(roots)}.`,
			'outside_roots',
		);
	}
	const stat = await fs.stat(real);
	if (!stat.isDirectory()) {
		throw new WorkspaceError(
			`${label} ${JSON.stringify(requested)} is a file, not a folder.`,
			'invalid_input',
		);
	}
	return real;
}

/** True when something (file, folder, dangling symlink) is at `target`. */
export async function pathExists(target: string): Promise<boolean> {
	return fs.lstat(target).then(
		() => true,
		() => false,
	);
}
