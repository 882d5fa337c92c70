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
import { resumeOrQueue } from '../shared/session/session-run';
import type { WhenBusy } from '../shared/session/queued-replies';
import { stopSession } from '../shared/session/stop';
import { searchSessions, sessionLocator, sessionTarget } from './session-locator';

const V1 = { '@version': [1] };
const RESUME = { operation: ['resume'] };
const STOP = { operation: ['stop'] };
const RUNS = { operation: ['resume', 'takeQueued'] };

export class ClaudeResume implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Claude Resume',
		name: 'claudeResume',
		icon: { light: 'file:../../icons/claude.svg', dark: 'file:../../icons/claude.dark.svg' },
		group: ['transform'],
		// 1.1 picks the session with a resource locator; 1 (with Resume By) stays for workflows made with it.
		version: [1, 1.1],
		defaultVersion: 1.1,
		subtitle:
			'={{$parameter["resumeBy"] ? "by " + $parameter["resumeBy"] : "by " + $parameter["session"].mode}}',
		description:
			'Continues a Claude Code session, found by session id or thread key, in its own workspace',
		defaults: { name: 'Claude Resume' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'claudeOrchestratorApi', required: true }, githubCredential],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Resume',
						value: 'resume',
						action: 'Continue a session',
						description: 'Run the next turn with the prompt',
					},
					{
						name: 'Stop',
						value: 'stop',
						action: 'Stop the running turn of a session',
						description:
							'End the turn that runs now; it keeps its record and cost and ends as stopped',
					},
					{
						name: 'Take Queued',
						value: 'takeQueued',
						action: 'Answer the replies queued while a turn ran',
						description:
							'Run the next turn with every reply that waited, in arrival order (for the Reply Queued trigger)',
					},
				],
				default: 'resume',
			},
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
			{
				displayName: 'Session ID',
				name: 'sessionId',
				type: 'string',
				default: '',
				required: true,
				description: 'The session uuid, as Claude Session Start returned it',
				displayOptions: { show: { ...V1, resumeBy: ['sessionId'] } },
			},
			{
				displayName: 'Thread Key',
				name: 'threadKey',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'slack:C0123:1700000000.000100',
				description: 'The conversation the session is bound to',
				displayOptions: { show: { ...V1, resumeBy: ['threadKey'] } },
			},
			{ ...sessionLocator, displayOptions: { show: { '@version': [{ _cnd: { gte: 1.1 } }] } } },
			{
				displayName: 'Prompt',
				name: 'prompt',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '',
				description: "The person's reply; may be empty to let Claude continue",
				displayOptions: { show: RESUME },
			},
			{
				displayName: 'When Busy',
				name: 'whenBusy',
				type: 'options',
				options: [
					{
						name: 'Queue',
						value: 'queue',
						description:
							'Store the reply for the next turn and return at once (status queued, its place in line)',
					},
					{
						name: 'Wait',
						value: 'wait',
						description: 'Wait for the running turn to end, up to Queue Timeout',
					},
					{ name: 'Fail', value: 'fail', description: 'Fail at once, saying the session is busy' },
				],
				default: 'queue',
				description: 'What to do when another turn of the session is still running',
				displayOptions: { show: RESUME },
			},
			{
				displayName: 'Written By',
				name: 'author',
				type: 'string',
				default: '',
				placeholder: 'U0123ABCD or alice@example.com',
				description: 'Who wrote the prompt: a queued reply is shown to Claude with it',
				displayOptions: { show: RESUME },
			},
			{
				displayName: 'Reply ID',
				name: 'replyId',
				type: 'string',
				default: '',
				description:
					"The message's own ID (a Slack ts, an email Message-ID): the same reply is queued once",
				displayOptions: { show: RESUME },
			},
			{ ...runOptions, displayOptions: { show: RUNS } },
			{
				displayName: 'Requested By',
				name: 'requestedBy',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'U0123ABCD or alice@example.com',
				description: 'Who asks for the stop; recorded with it and shown in the answer',
				displayOptions: { show: STOP },
			},
			{
				displayName: 'Channel',
				name: 'channel',
				type: 'string',
				default: 'n8n',
				placeholder: 'slack',
				description: 'Where the stop or the reply came from',
				displayOptions: { show: { operation: ['resume', 'stop'] } },
			},
			{
				displayName: 'Reason',
				name: 'reason',
				type: 'string',
				default: '',
				description: 'Told to Claude Code as the stop reason',
				displayOptions: { show: STOP },
			},
			{
				displayName: 'Wait For The End (Seconds)',
				name: 'waitSeconds',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 10 },
				default: 10,
				description:
					'How long to wait for the turn to end, to report what it did and cost; past it the output says `stopping`',
				displayOptions: { show: STOP },
			},
		],
	};

	methods = { listSearch: { searchSessions } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const version = this.getNode().typeVersion;
		return executeSessionItems(this, async (i, options, client) => {
			let target: { sessionId?: string; threadKey?: string };
			if (version >= 1.1)
				target = sessionTarget(
					this.getNodeParameter('session', i) as INodeParameterResourceLocator,
				);
			else {
				const by = this.getNodeParameter('resumeBy', i) as 'sessionId' | 'threadKey';
				target = { [by]: this.getNodeParameter(by, i) as string };
			}
			const operation = this.getNodeParameter('operation', i, 'resume') as string;
			if (operation === 'stop') {
				return stopSession(client, {
					...target,
					requestedBy: this.getNodeParameter('requestedBy', i) as string,
					channel: this.getNodeParameter('channel', i, 'n8n') as string,
					reason: this.getNodeParameter('reason', i, '') as string,
					waitSeconds: this.getNodeParameter('waitSeconds', i, 10) as number,
				});
			}
			if (operation === 'takeQueued') {
				return resumeOrQueue(client, {
					...target,
					takeQueued: true,
					options,
					githubToken: await githubToken(this, i),
					signal: this.getExecutionCancelSignal(),
				});
			}
			return resumeOrQueue(client, {
				...target,
				prompt: this.getNodeParameter('prompt', i, '') as string,
				whenBusy: this.getNodeParameter('whenBusy', i, 'queue') as WhenBusy,
				author: this.getNodeParameter('author', i, '') as string,
				channel: this.getNodeParameter('channel', i, 'n8n') as string,
				replyId: this.getNodeParameter('replyId', i, '') as string,
				options,
				githubToken: await githubToken(this, i),
				signal: this.getExecutionCancelSignal(),
			});
		});
	}
}
