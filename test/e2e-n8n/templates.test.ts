// What every shipped template must be before anyone imports it: no credential ids, credentials by the names the
// README gives, fixed and unique webhook ids for triggers, one Settings node for the values a user changes, and
// only node types that n8n 2.41.1 or this package provides. (The e2e scenarios prove they run.)
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
	CREDENTIAL_NAMES,
	readTemplate,
	TEMPLATE_FILES,
	WORKFLOWS_DIR,
	type TemplateName,
} from './templates';

const PACKAGE = JSON.parse(
	fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8'),
) as {
	name: string;
	n8n: { nodes: string[] };
};
// The package's node names, from the n8n manifest (dist/nodes/X/X.node.js → x).
const OWN_NODES = PACKAGE.n8n.nodes.map((p) => {
	const base = path.basename(p, '.node.js');
	return `${PACKAGE.name}.${base[0].toLowerCase()}${base.slice(1)}`;
});
// n8n-nodes-base types and the typeVersions the templates use, all present in n8n 2.41.1 (checked against its
// node files; the e2e suite activates and runs every one of them).
const BASE_NODES: Record<string, number[]> = {
	'n8n-nodes-base.webhook': [2.1],
	'n8n-nodes-base.respondToWebhook': [1.5],
	'n8n-nodes-base.set': [3.4],
	'n8n-nodes-base.crypto': [2],
	'n8n-nodes-base.code': [2],
	'n8n-nodes-base.httpRequest': [4.2],
	'n8n-nodes-base.if': [2.2],
	'n8n-nodes-base.slack': [2.7],
	'n8n-nodes-base.slackTrigger': [1],
	'n8n-nodes-base.emailReadImap': [2.2],
};
const TRIGGERS = [
	'n8n-nodes-base.webhook',
	'n8n-nodes-base.slackTrigger',
	`${PACKAGE.name}.claudeHookTrigger`,
];

const names = Object.keys(TEMPLATE_FILES) as TemplateName[];

describe('workflow templates', () => {
	it('ships the four documented templates', () => {
		const readme = fs.readFileSync(path.join(WORKFLOWS_DIR, 'README.md'), 'utf8');
		for (const file of Object.values(TEMPLATE_FILES)) {
			expect(fs.existsSync(path.join(WORKFLOWS_DIR, file))).toBe(true);
			expect(readme).toContain(file);
		}
	});

	// Every template in workflows/, including ones other features add: an id would bind to someone else's credential.
	it.each(fs.readdirSync(WORKFLOWS_DIR).filter((f) => f.endsWith('.json')))(
		'%s holds no credential ids',
		(file) => {
			const wf = JSON.parse(fs.readFileSync(path.join(WORKFLOWS_DIR, file), 'utf8')) as {
				nodes: Array<{ credentials?: Record<string, { id?: unknown }> }>;
			};
			for (const node of wf.nodes)
				for (const ref of Object.values(node.credentials ?? {})) expect(ref.id ?? null).toBeNull();
		},
	);

	describe.each(names)('%s', (name) => {
		const wf = readTemplate(name);

		it('has no id, no credential ids and credentials only by their documented names', () => {
			expect(wf.id).toBeUndefined();
			expect(JSON.stringify(wf)).not.toMatch(/"pinData"|"staticData"/);
			for (const node of wf.nodes) {
				for (const [type, ref] of Object.entries(node.credentials ?? {})) {
					expect(ref.id).toBeNull();
					expect(ref.name).toBe(CREDENTIAL_NAMES[type as keyof typeof CREDENTIAL_NAMES]);
				}
			}
		});

		it('uses node types and versions n8n 2.41.1 or this package provides', () => {
			for (const node of wf.nodes) {
				if (node.type.startsWith(`${PACKAGE.name}.`)) {
					expect(OWN_NODES).toContain(node.type);
					expect(node.typeVersion).toBe(1);
				} else {
					expect(BASE_NODES[node.type]).toContain(node.typeVersion);
				}
			}
		});

		it('gives every trigger a fixed webhook id and wires every node', () => {
			for (const node of wf.nodes.filter((n) => TRIGGERS.includes(n.type)))
				expect(node.webhookId).toMatch(/^[0-9a-f-]{36}$/);
			const targets = new Set<string>();
			for (const [from, c] of Object.entries(
				wf.connections as Record<string, { main: Array<Array<{ node: string }>> }>,
			)) {
				expect(wf.nodes.map((n) => n.name)).toContain(from);
				for (const out of c.main) for (const link of out) targets.add(link.node);
			}
			for (const node of wf.nodes)
				if (!TRIGGERS.includes(node.type) && node.type !== 'n8n-nodes-base.emailReadImap')
					expect(targets).toContain(node.name);
		});

		it('keeps what a user configures in one Settings node at the top', () => {
			if (name === 'hooks') return; // reads everything from the event: nothing to configure
			const settings = wf.nodes.find((n) => n.name === 'Settings');
			expect(settings?.type).toBe('n8n-nodes-base.set');
			const fields = (
				settings!.parameters.assignments as { assignments: Array<{ name: string }> }
			).assignments.map((a) => a.name);
			expect(fields).toContain('baseRepository');
			// No other node hard-codes a repository path or a service URL.
			for (const node of wf.nodes.filter((n) => n.name !== 'Settings')) {
				expect(JSON.stringify(node.parameters)).not.toMatch(
					/\/srv\/|https?:\/\/(127\.0\.0\.1|localhost)/,
				);
			}
		});
	});

	it('uses distinct webhook ids across templates, so all four can be active in one n8n', () => {
		const ids = names.flatMap((n) =>
			readTemplate(n)
				.nodes.map((node) => node.webhookId)
				.filter(Boolean),
		);
		expect(new Set(ids).size).toBe(ids.length);
	});
});
