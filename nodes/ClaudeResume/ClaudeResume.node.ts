import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { githubCredential, runOptions } from '../shared/descriptions';
import { executeSessionItems } from '../shared/execute';
import { githubToken } from '../shared/session/n8n-client';
import { resumeSession } from '../shared/session/session-run';

export class ClaudeResume implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Claude Resume',
		name: 'claudeResume',
		icon: { light: 'file:../../icons/claude.svg', dark: 'file:../../icons/claude.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{"by " + $parameter["resumeBy"]}}',
		description: 'Continues a Claude Code session, found by session id or thread key, in its own workspace',
		defaults: { name: 'Claude Resume' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'claudeOrchestratorApi', required: true }, githubCredential],
		properties: [
			{
				displayName: 'Resume By',
				name: 'resumeBy',
				type: 'options',
				options: [
					{ name: 'Session ID', value: 'sessionId' },
					{ name: 'Thread Key', value: 'threadKey' },
				],
				default: 'threadKey',
			},
			{ displayName: 'Session ID', name: 'sessionId', type: 'string', default: '', required: true, description: 'The session uuid, as Claude Session Start returned it', displayOptions: { show: { resumeBy: ['sessionId'] } } },
			{ displayName: 'Thread Key', name: 'threadKey', type: 'string', default: '', required: true, placeholder: 'slack:C0123:1700000000.000100', description: 'The conversation the session is bound to', displayOptions: { show: { resumeBy: ['threadKey'] } } },
			{ displayName: 'Prompt', name: 'prompt', type: 'string', typeOptions: { rows: 4 }, default: '', description: "The person's reply; may be empty to let Claude continue" },
			runOptions,
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return executeSessionItems(this, async (i, options, client) => {
			const by = this.getNodeParameter('resumeBy', i) as 'sessionId' | 'threadKey';
			return resumeSession(client, {
				sessionId: by === 'sessionId' ? (this.getNodeParameter('sessionId', i) as string) : undefined,
				threadKey: by === 'threadKey' ? (this.getNodeParameter('threadKey', i) as string) : undefined,
				prompt: this.getNodeParameter('prompt', i, '') as string,
				options,
				githubToken: await githubToken(this, i),
				signal: this.getExecutionCancelSignal(),
			});
		});
	}
}
