// The workflow templates as `npm start` imports them, and the credential they use.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { N8nWorkflow } from './n8n/n8n-instance';

/** One name everywhere: the templates refer to it by name, and `npm start` binds them to its id on import. */
export const ORCHESTRATOR_CREDENTIAL = {
	id: 'claudeOrchCred001',
	name: 'Claude Orchestrator API',
	type: 'claudeOrchestratorApi',
} as const;

export function loadTemplates(dir: string): N8nWorkflow[] {
	if (!fs.existsSync(dir)) return [];
	return fs
		.readdirSync(dir)
		.filter((f) => f.endsWith('.json'))
		.sort()
		.map((f) => {
			const wf = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as N8nWorkflow;
			// Templates carry no ids; a stable one per file lets a later start re-import over the same workflow.
			return {
				...wf,
				id: wf.id || crypto.createHash('sha256').update(f).digest('hex').slice(0, 16),
			};
		});
}

/** Every Claude node of a workflow uses the given credential, by id, so a renamed credential cannot unbind it. */
export function bindCredential(
	wf: N8nWorkflow,
	credential: { id: string; name: string },
): N8nWorkflow {
	const type = ORCHESTRATOR_CREDENTIAL.type;
	const nodes = wf.nodes.map((node) => {
		const creds = node.credentials as Record<string, unknown> | undefined;
		if (!creds || !(type in creds)) return node;
		return {
			...node,
			credentials: { ...creds, [type]: { id: credential.id, name: credential.name } },
		};
	});
	return { ...wf, nodes };
}
