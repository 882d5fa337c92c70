import path from 'node:path';
import { bindCredential, loadTemplates, ORCHESTRATOR_CREDENTIAL } from '../../scripts/templates';

const ROOT = path.resolve(__dirname, '..', '..');
const claudeNodes = (wf: { nodes: Array<Record<string, unknown>> }) =>
	wf.nodes.filter((n) => String(n.type).startsWith('n8n-nodes-claude-orchestrator.'));

describe('templates and the credential npm start creates', () => {
	const workflows = [
		...loadTemplates(path.join(ROOT, 'workflows')),
		...loadTemplates(path.join(ROOT, 'scripts', 'demo')),
	];

	it('finds every template, each with Claude nodes', () => {
		expect(workflows.length).toBeGreaterThanOrEqual(7);
		for (const wf of workflows) expect(claudeNodes(wf).length).toBeGreaterThan(0);
	});

	it('refers to the credential by the name npm start gives it', () => {
		for (const wf of workflows) {
			for (const node of claudeNodes(wf)) {
				const creds = node.credentials as Record<string, { name: string }>;
				expect({
					workflow: wf.name,
					node: node.name,
					name: creds[ORCHESTRATOR_CREDENTIAL.type]?.name,
				}).toEqual({
					workflow: wf.name,
					node: node.name,
					name: ORCHESTRATOR_CREDENTIAL.name,
				});
			}
		}
	});

	it('binds every Claude node to the credential by id and leaves other credentials alone', () => {
		for (const wf of workflows) {
			const bound = bindCredential(wf, { id: 'cred-123', name: 'Renamed' });
			for (const node of claudeNodes(bound)) {
				expect((node.credentials as Record<string, unknown>)[ORCHESTRATOR_CREDENTIAL.type]).toEqual(
					{ id: 'cred-123', name: 'Renamed' },
				);
			}
			bound.nodes.forEach((node, i) => {
				const before = (wf.nodes[i].credentials ?? {}) as Record<string, unknown>;
				const after = (node.credentials ?? {}) as Record<string, unknown>;
				for (const type of Object.keys(before).filter((t) => t !== ORCHESTRATOR_CREDENTIAL.type))
					expect(after[type]).toEqual(before[type]);
			});
		}
	});

	it('gives each template a stable id', () => {
		const again = loadTemplates(path.join(ROOT, 'workflows'));
		expect(again.map((w) => w.id)).toEqual(
			loadTemplates(path.join(ROOT, 'workflows')).map((w) => w.id),
		);
		expect(new Set(again.map((w) => w.id)).size).toBe(again.length);
	});
});
