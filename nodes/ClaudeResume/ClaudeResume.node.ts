import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeParameterResourceLocator,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { githubCredential, runOptions } from '../shared/descriptions';
import { executeSessionItems } from '../shared/execute';
import { githubToken } from '../shared/session/n8n-client';
import { resumeSession } from '../shared/session/session-run';
import { searchSessions, sessionLocator, sessionTarget } from './session-locator';

const V1 = { '@version': [1] };

export class ClaudeResume implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Claude Resume',
		name: 'claudeResume',
		icon: { light: 'file:../../icons/claude.svg', dark: 'file:../../icons/claude.dark.svg' },
		group: ['transform'],
		// 1.1 picks the session with a resource locator; 1 (with Resume By) stays for workflows made with it.
		version: [1, 1.1],
		defaultVersion: 1.1,
		subtitle: '={{$parameter["resumeBy"] ? "by " + $parameter["resumeBy"] : "by " + $parameter["session"].mode}}',
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
				displayOptions: { show: V1 },
			},
			{ displayName: 'Session ID', name: 'sessionId', type: 'string', default: '', required: true, description: 'The session uuid, as Claude Session Start returned it', displayOptions: { show: { ...V1, resumeBy: ['sessionId'] } } },
			{ displayName: 'Thread Key', name: 'threadKey', type: 'string', default: '', required: true, placeholder: 'slack:C0123:1700000000.000100', description: 'The conversation the session is bound to', displayOptions: { show: { ...V1, resumeBy: ['threadKey'] } } },
			{ ...sessionLocator, displayOptions: { show: { '@version': [{ _cnd: { gte: 1.1 } }] } } },
			{ displayName: 'Prompt', name: 'prompt', type: 'string', typeOptions: { rows: 4 }, default: '', description: "The person's reply; may be empty to let Claude continue" },
			runOptions,
		],
	};

	methods = { listSearch: { searchSessions } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const version = this.getNode().typeVersion;
		return executeSessionItems(this, async (i, options, client) => {
			let target: { sessionId?: string; threadKey?: string };
			if (version >= 1.1) target = sessionTarget(this.getNodeParameter('session', i) as INodeParameterResourceLocator);
			else {
				const by = this.getNodeParameter('resumeBy', i) as 'sessionId' | 'threadKey';
				target = { [by]: this.getNodeParameter(by, i) as string };
			}
			return resumeSession(client, {
				...target,
				prompt: this.getNodeParameter('prompt', i, '') as string,
				options,
				githubToken: await githubToken(this, i),
				signal: this.getExecutionCancelSignal(),
			});
		});
	}
}
