// The shipped templates as the e2e suite imports them: read from workflows/, given an id (the harness imports by
// id), and configured the way the README tells a user to (the values of each template's Settings node).
// Credentials are referenced by name with no id; n8n resolves them on import, so nothing else is touched.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { N8nWorkflow } from '../../scripts/n8n/n8n-instance';
import { ORCHESTRATOR_CREDENTIAL } from '../../scripts/templates';

export const WORKFLOWS_DIR = path.resolve(__dirname, '..', '..', 'workflows');

export const TEMPLATE_FILES = {
	start: 'start-session-from-webhook.json',
	slack: 'continue-session-from-slack.json',
	email: 'continue-session-from-email.json',
	hooks: 'notify-slack-on-hook-events.json',
} as const;
export type TemplateName = keyof typeof TEMPLATE_FILES;

/** The credential names the templates refer to (workflows/README.md tells users to use them). */
export const CREDENTIAL_NAMES = {
	claudeOrchestratorApi: ORCHESTRATOR_CREDENTIAL.name,
	slackApi: 'Slack Bot',
	imap: 'IMAP Mailbox',
} as const;

export interface TemplateNode {
	id: string;
	name: string;
	type: string;
	typeVersion: number;
	webhookId?: string;
	parameters: Record<string, unknown>;
	credentials?: Record<string, { id: unknown; name: string }>;
	[key: string]: unknown;
}

export interface Template extends N8nWorkflow {
	nodes: TemplateNode[];
}

export function readTemplate(name: TemplateName): Template {
	return JSON.parse(
		fs.readFileSync(path.join(WORKFLOWS_DIR, TEMPLATE_FILES[name]), 'utf8'),
	) as Template;
}

export function nodeNamed(wf: Template, name: string): TemplateNode {
	const node = wf.nodes.find((n) => n.name === name);
	if (!node) throw new Error(`template "${wf.name}" has no node "${name}"`);
	return node;
}

interface Assignment {
	name: string;
	value: unknown;
	type: string;
}

/** The template with an id for the harness and the given Settings values (each must already exist in the node). */
export function configuredTemplate(
	name: TemplateName,
	id: string,
	settings: Record<string, string | number | boolean>,
): Template {
	const wf = readTemplate(name);
	if (!Object.keys(settings).length) return { ...wf, id };
	const node = nodeNamed(wf, 'Settings');
	const assignments = (node.parameters.assignments as { assignments: Assignment[] }).assignments;
	for (const [key, value] of Object.entries(settings)) {
		const field = assignments.find((a) => a.name === key);
		if (!field) throw new Error(`the Settings node of "${wf.name}" has no field "${key}"`);
		field.value = value;
	}
	return { ...wf, id };
}

/** Production webhook path of a trigger node that has a fixed webhookId: `<webhookId>/<path>`. */
export function triggerWebhookPath(wf: Template, nodeName: string, pathSuffix: string): string {
	const node = nodeNamed(wf, nodeName);
	if (!node.webhookId) throw new Error(`node "${nodeName}" has no webhookId`);
	return `${node.webhookId}/${pathSuffix}`;
}
