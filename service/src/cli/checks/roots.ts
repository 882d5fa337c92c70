import fs from 'node:fs';
import path from 'node:path';
import { orchestratorSettings } from '../../../../nodes/shared/protocol';
import { fail, ok, type Check } from './check';

/** The folders sessions may run in (CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS, as the nodes read it): each must exist and be writable. */
export function checkAllowedRoots(env: NodeJS.ProcessEnv = process.env): Check {
	const name = 'allowed roots';
	const { allowedRoots } = orchestratorSettings(env);
	const source = env.CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS
		? 'CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS'
		: 'the default';
	const problems: string[] = [];
	const fixes: string[] = [];
	for (const root of allowedRoots) {
		if (!path.isAbsolute(root)) {
			problems.push(`${root} is not an absolute path`);
			fixes.push(`write ${root} as an absolute path in CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS`);
			continue;
		}
		let stat: fs.Stats;
		try {
			stat = fs.statSync(root);
		} catch {
			problems.push(`${root} does not exist`);
			fixes.push(
				`mkdir -p ${root} (owned by the user n8n runs as), or list an existing folder in CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS`,
			);
			continue;
		}
		if (!stat.isDirectory()) {
			problems.push(`${root} is not a folder`);
			fixes.push(`point CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS at a folder instead of ${root}`);
			continue;
		}
		try {
			fs.accessSync(root, fs.constants.W_OK | fs.constants.X_OK);
		} catch {
			problems.push(`${root} is not writable by this user`);
			fixes.push(
				`chown or chmod ${root} so the user n8n runs as can write in it (run doctor as that user)`,
			);
		}
	}
	if (problems.length)
		return fail(name, `${problems.join('; ')} (from ${source})`, fixes.join('; '));
	return ok(name, `${allowedRoots.join(', ')}: exist, writable (from ${source})`);
}
