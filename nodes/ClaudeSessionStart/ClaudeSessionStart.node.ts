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
import { startSession } from '../shared/session/session-run';
import type { WorkspaceType } from '../shared/runner';

export class ClaudeSessionStart implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Claude Session Start',
		name: 'claudeSessionStart',
		icon: { light: 'file:../../icons/claude.svg', dark: 'file:../../icons/claude.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{"in " + $parameter["workspaceType"]}}',
		description:
			'Runs Claude Code headless on a prompt in a local folder, git worktree, GitHub clone or E2B sandbox',
		defaults: { name: 'Claude Session Start' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'claudeOrchestratorApi', required: true },
			{ ...githubCredential, displayOptions: { show: { workspaceType: ['github', 'e2b'] } } },
		],
		properties: [
			{
				displayName: 'Prompt',
				name: 'prompt',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '',
				required: true,
				description: 'What Claude Code should do',
			},
			{
				displayName: 'Workspace Type',
				name: 'workspaceType',
				type: 'options',
				options: [
					{
						name: 'Local Folder',
						value: 'local',
						description: 'An existing folder under the allowed roots',
					},
					{
						name: 'Git Worktree',
						value: 'worktree',
						description: 'A new worktree and branch of a local repository, one per session',
					},
					{
						name: 'GitHub Repository',
						value: 'github',
						description: 'A fresh clone of owner/repo',
					},
					{
						name: 'E2B Sandbox',
						value: 'e2b',
						description:
							'A cloud sandbox (E2B_API_KEY in the environment of n8n or in Environment Variables)',
					},
				],
				default: 'worktree',
			},
			{
				displayName: 'Workspace Path',
				name: 'workspacePath',
				type: 'string',
				default: '',
				required: true,
				placeholder: '/home/n8n/projects/app',
				description: 'The folder to run in; it must be inside CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS',
				displayOptions: { show: { workspaceType: ['local'] } },
			},
			{
				displayName: 'Base Repository',
				name: 'baseRepository',
				type: 'string',
				default: '',
				required: true,
				placeholder: '/home/n8n/projects/app',
				description:
					'A local git repository to branch from; it must be inside CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS',
				displayOptions: { show: { workspaceType: ['worktree'] } },
			},
			{
				displayName: 'Repository',
				name: 'repository',
				type: 'string',
				default: '',
				placeholder: 'owner/repo',
				description: 'GitHub repository to clone',
				displayOptions: { show: { workspaceType: ['github', 'e2b'] } },
			},
			{
				displayName: 'Branch',
				name: 'branch',
				type: 'string',
				default: '',
				description:
					'Worktree: the new branch (default claude/&lt;session&gt;). GitHub: checked out, or created when the remote has none.',
				displayOptions: { show: { workspaceType: ['worktree', 'github', 'e2b'] } },
			},
			{
				displayName: 'Session ID',
				name: 'sessionId',
				type: 'string',
				default: '',
				placeholder: '1783e529-b137-4c6a-bc9b-97b1e0374b55',
				description:
					'Optional uuid for the new session, so a workflow can answer with it before the run ends; empty generates one',
			},
			{
				displayName: 'Thread Key',
				name: 'threadKey',
				type: 'string',
				default: '',
				placeholder: 'slack:C0123:1700000000.000100',
				description:
					'Binds the session to a conversation (slack:&lt;channel&gt;:&lt;thread_ts&gt; or email:&lt;message-id&gt;) so Claude Resume can find it',
			},
			runOptions,
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return executeSessionItems(this, async (i, options, client) => {
			const type = this.getNodeParameter('workspaceType', i) as WorkspaceType;
			const param = (name: string) =>
				String(this.getNodeParameter(name, i, '') ?? '').trim() || undefined;
			return startSession(client, {
				prompt: this.getNodeParameter('prompt', i) as string,
				workspace: {
					type,
					workspacePath: type === 'local' ? param('workspacePath') : undefined,
					baseRepository: type === 'worktree' ? param('baseRepository') : undefined,
					repository: type === 'github' || type === 'e2b' ? param('repository') : undefined,
					branch: type === 'local' ? undefined : param('branch'),
					githubToken: type === 'github' || type === 'e2b' ? await githubToken(this, i) : undefined,
				},
				threadKey: param('threadKey'),
				sessionId: param('sessionId'),
				options,
				signal: this.getExecutionCancelSignal(),
			});
		});
	}
}
