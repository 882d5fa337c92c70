import type { INodeProperties } from 'n8n-workflow';
import { DEFAULT_PERMISSION_MODE, PERMISSION_MODES } from './runner';

const PERMISSION_MODE_NAMES: Record<(typeof PERMISSION_MODES)[number], string> = {
	default: 'Default (Denies What Needs Approval)',
	acceptEdits: 'Accept Edits',
	plan: 'Plan',
	auto: 'Auto',
	dontAsk: "Don't Ask",
	bypassPermissions: 'Bypass Permissions',
};

/** The `options` collection of Claude Session Start and Claude Resume (public names: workflows depend on them). */
export const runOptions: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Allowed Tools',
			name: 'allowedTools',
			type: 'string',
			default: '',
			placeholder: 'Bash(git *),Edit,Write',
			description: 'Permission rules for tools that run without asking, comma-separated',
		},
		{
			displayName: 'Append System Prompt',
			name: 'appendSystemPrompt',
			type: 'string',
			typeOptions: { rows: 3 },
			default: '',
			description: "Text added to Claude Code's system prompt",
		},
		{
			displayName: 'Approval Policy',
			name: 'approvalPolicy',
			type: 'fixedCollection',
			placeholder: 'Add Policy',
			default: {},
			description:
				'Tool calls that wait for a person: the run stops (no process, no execution held open) with status waiting_approval, a Claude Hook Trigger "Approval Requested" workflow asks in Slack or by email, and Claude Resume continues once they decided',
			options: [
				{
					name: 'policy',
					displayName: 'Policy',
					values: [
						{
							displayName: 'Tools Needing Approval',
							name: 'tools',
							type: 'string',
							default: '',
							placeholder: 'Bash(git push *),Write',
							description:
								'Claude Code permission rules, comma-separated: a tool name (Write), a command pattern (Bash(git push *)), a path pattern (Edit(/src/**))',
						},
						{
							displayName: 'Anything Outside Allowed Tools',
							name: 'outsideAllowedTools',
							type: 'boolean',
							default: false,
							description:
								'Whether every call that Allowed Tools does not cover also needs a person',
						},
						{
							displayName: 'Deciders',
							name: 'deciders',
							type: 'string',
							default: '',
							placeholder: 'U0123ABCD, alice@example.com',
							description:
								'Slack user IDs and email addresses of the people who may approve or deny, comma-separated; empty lets anyone the workflow passes on decide',
						},
						{
							displayName: 'Expires After (Minutes)',
							name: 'expiresAfterMinutes',
							type: 'number',
							typeOptions: { minValue: 0, numberPrecision: 2 },
							default: 0,
							description:
								"A request nobody decided counts as denied after this long; 0 uses the service's APPROVAL_TTL (default 24 hours)",
						},
					],
				},
			],
		},
		{
			displayName: 'Claude Path',
			name: 'claudePath',
			type: 'string',
			default: '',
			placeholder: '/usr/local/bin/claude',
			description: 'The claude executable; empty means `claude` on the PATH of n8n',
		},
		{
			displayName: 'Concurrency',
			name: 'concurrency',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 32 },
			default: 4,
			description: 'How many input items run at once, each in its own session',
		},
		{
			displayName: 'Disallowed Tools',
			name: 'disallowedTools',
			type: 'string',
			default: '',
			placeholder: 'WebFetch,Bash(rm *)',
			description: 'Permission rules for tools that never run, comma-separated',
		},
		{
			displayName: 'E2B Idle Timeout (Minutes)',
			name: 'e2bIdleTimeoutMinutes',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 15,
			description:
				'An E2B sandbox is kept this long after a turn so Claude Resume can continue in it, then it is killed',
		},
		{
			displayName: 'E2B Template',
			name: 'e2bTemplate',
			type: 'string',
			default: '',
			description:
				'E2B sandbox template with the claude CLI installed; empty uses the default template',
		},
		{
			displayName: 'Environment Variables',
			name: 'env',
			type: 'json',
			default: '{}',
			description:
				'Extra environment for claude, as {"NAME":"value"}; for example ANTHROPIC_API_KEY or E2B_API_KEY',
		},
		{
			displayName: 'Event Key',
			name: 'eventKey',
			type: 'string',
			default: '',
			placeholder: 'slack:C0123ABCD:1712345678.000100',
			description:
				'The external event this run answers, such as slack:<channel>:<message ts>. The service remembers it: the same event arriving again (Slack resends events it got no quick answer for) does not run again, and the node outputs status duplicate instead. A run that fails before Claude starts forgets it, so a resend runs.',
		},
		{
			displayName: 'Fallback Model',
			name: 'fallbackModel',
			type: 'string',
			default: '',
			description: 'Model to use when the main model is overloaded',
		},
		{
			displayName: 'Max Budget (USD)',
			name: 'maxBudgetUsd',
			type: 'number',
			typeOptions: { minValue: 0, numberPrecision: 2 },
			default: 0,
			description:
				'Stop the run once it has cost this much (it may pass it by one model response); 0 means no limit of its own. Budgets set in the service (per session, thread, repository or day) can cap the run lower, or refuse it with status budget_exhausted.',
		},
		{
			displayName: 'Max Turns',
			name: 'maxTurns',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 0,
			description: 'Stop after this many agent turns; 0 means no limit',
		},
		{
			displayName: 'MCP Config',
			name: 'mcpConfig',
			type: 'json',
			default: '',
			description: 'MCP servers for this run, as {"mcpServers":{…}}',
		},
		{
			displayName: 'Model',
			name: 'model',
			type: 'string',
			default: '',
			placeholder: 'claude-sonnet-4-5',
			description: "Model name or alias; empty uses Claude Code's default",
		},
		{
			displayName: 'Permission Mode',
			name: 'permissionMode',
			type: 'options',
			options: PERMISSION_MODES.map((value) => ({ name: PERMISSION_MODE_NAMES[value], value })),
			default: DEFAULT_PERMISSION_MODE,
			description:
				'How Claude Code decides on tool calls nobody is there to approve. Bypass Permissions needs IS_SANDBOX=1 when n8n runs as root.',
		},
		{
			displayName: 'Queue Timeout (Seconds)',
			name: 'queueTimeoutSeconds',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 120,
			description:
				'One turn runs at a time per session: how long to wait for a running turn of the same session before failing (Claude Resume: only with When Busy = Wait)',
		},
		{
			displayName: 'Shallow Clone',
			name: 'shallowClone',
			type: 'boolean',
			default: true,
			description: 'Whether GitHub repositories are cloned with only the latest commit',
		},
		{
			displayName: 'Status Message',
			name: 'statusMessage',
			type: 'string',
			default: '',
			placeholder: 'slack:C0123ABCD:1712345678.000200',
			description:
				'Where the workflow shows this run\'s progress, such as slack:<channel>:<ts of a "working" message>. Stored with the run and handed to Claude Hook Trigger deliveries (run.statusMessage), so a Progress workflow can update that message.',
		},
		{
			displayName: 'Thread Metadata',
			name: 'threadMetadata',
			type: 'json',
			default: '',
			placeholder:
				'{"email":{"replyTo":"alice@example.com","subject":"Re: Build","inReplyTo":"<id@example.com>","references":["<id@example.com>"]}}',
			description:
				"Kept with the session's thread (the Thread Key) and updated on every run that sends it: what a workflow needs to answer the thread later. Budget Warning and Budget Reached events carry it; <code>email</code> (reply address, subject, the Message-ID to thread on) lets the email template send them into the thread.",
		},
		{
			displayName: 'Timeout (Seconds)',
			name: 'timeoutSeconds',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 1800,
			description: 'Stop the run (SIGINT, then SIGTERM, then SIGKILL) after this long',
		},
		{
			displayName: 'Trust Project Settings',
			name: 'trustProjectSettings',
			type: 'boolean',
			default: false,
			description:
				"Whether to load the workspace's own .claude settings (its hooks run, and it could switch the orchestrator's hooks off). Off for cloned and sandboxed repositories.",
		},
	],
};

export const githubCredential = {
	name: 'githubApi',
	required: false,
	displayName: 'GitHub (for Private Repositories)',
};
