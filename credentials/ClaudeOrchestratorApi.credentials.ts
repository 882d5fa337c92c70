import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

export class ClaudeOrchestratorApi implements ICredentialType {
	name = 'claudeOrchestratorApi';

	displayName = 'Claude Orchestrator API';

	icon: Icon = { light: 'file:../icons/claude.svg', dark: 'file:../icons/claude.dark.svg' };

	documentationUrl =
		'https://github.com/n8n-nodes-claude-orchestrator/n8n-nodes-claude-orchestrator#credential';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'http://127.0.0.1:3001',
			placeholder: 'http://127.0.0.1:3001',
			description:
				'Where the Claude Orchestrator service answers, as seen from n8n (and from the claude processes n8n starts)',
			required: true,
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'The API_KEY of the service (printed on its first start and kept in DATA_DIR/api-key)',
			required: true,
		},
		{
			displayName: 'Public URL for Sandboxes',
			name: 'publicUrl',
			type: 'string',
			default: '',
			placeholder: 'https://orchestrator.example.com',
			description:
				'The service URL as reached from E2B sandboxes (its PUBLIC_URL). Leave empty if you do not use E2B.',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.apiKey}}' } },
	};

	// Listing one session needs a valid key (health does not), so a wrong key fails the test.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl.replace(/\\/+$/, "")}}',
			url: '/api/v1/sessions',
			qs: { limit: 1 },
		},
	};
}
