// Pieces of the hand-written workflows the e2e stacks and the load benchmark import into n8n: this package's
// credential (under the one name the templates use too), a Webhook node and the Hook Trigger's Session Finished preset.
import type { N8nCredential } from '../../scripts/n8n/n8n-instance';
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
