// Pieces of the hand-written workflows the e2e stacks and the load benchmark import into n8n: this package's
// credential (under the one name the templates use too), a Webhook node, a webhook that runs one of this package's
// nodes, and the Hook Trigger's Session Finished preset.
import type { N8nCredential, N8nWorkflow } from '../../scripts/n8n/n8n-instance';
import { ORCHESTRATOR_CREDENTIAL } from '../../scripts/templates';

/** The orchestrator credential as n8n stores it, pointed at the service. */
export function orchestratorCredential(id: string, baseUrl: string, apiKey: string): N8nCredential {
	return {
		id,
		name: ORCHESTRATOR_CREDENTIAL.name,
		type: ORCHESTRATOR_CREDENTIAL.type,
		data: { baseUrl, apiKey, publicUrl: '' },
	};
}

/** A node's `credentials`: the orchestrator credential with this id. */
export const orchestratorRef = (id: string) => ({
	claudeOrchestratorApi: { id, name: ORCHESTRATOR_CREDENTIAL.name },
});

/** A Webhook node for POST `path`, first in its workflow, that answers with the last node's output. */
export function webhookNode(id: string, path: string, webhookId: string): Record<string, unknown> {
	return {
		id,
		name: 'Webhook',
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		position: [0, 0],
		webhookId,
		parameters: { httpMethod: 'POST', path, responseMode: 'lastNode', options: {} },
	};
}

/** Webhook → one of this package's nodes (`type`, e.g. claudeSessionStart) → its output as the HTTP answer. */
export function webhookToNodeWorkflow(w: {
	id: string;
	name: string;
	webhook: { id: string; webhookId: string; path: string };
	node: { id: string; name: string; type: string; parameters: Record<string, unknown> };
	credentialId: string;
}): N8nWorkflow {
	return {
		id: w.id,
		name: w.name,
		nodes: [
			webhookNode(w.webhook.id, w.webhook.path, w.webhook.webhookId),
			{
				id: w.node.id,
				name: w.node.name,
				type: `n8n-nodes-claude-orchestrator.${w.node.type}`,
				typeVersion: 1,
				position: [220, 0],
				parameters: w.node.parameters,
				credentials: orchestratorRef(w.credentialId),
			},
		],
		connections: { Webhook: { main: [[{ node: w.node.name, type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

/** A Claude Hook Trigger on the Session Finished preset (any session), first in its workflow. */
export function sessionFinishedTrigger(node: {
	id: string;
	name: string;
	webhookId: string;
	credentialId: string;
}): Record<string, unknown> {
	return {
		id: node.id,
		name: node.name,
		type: 'n8n-nodes-claude-orchestrator.claudeHookTrigger',
		typeVersion: 1,
		position: [0, 0],
		webhookId: node.webhookId,
		parameters: {
			preset: 'sessionFinished',
			sessionId: '',
			threadKey: '',
			workspaceType: '',
			options: {},
		},
		credentials: orchestratorRef(node.credentialId),
	};
}
