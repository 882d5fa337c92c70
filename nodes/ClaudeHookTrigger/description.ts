import type { INodeProperties } from 'n8n-workflow';
import { DEFAULT_TOLERANCE_SECONDS } from '../shared/protocol/delivery';
import { ANY_EVENT, EVENT_OPTIONS } from './hook-events';

export const properties: INodeProperties[] = [
	{
		displayName: 'Trigger On',
		name: 'preset',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Approval Decided',
				value: 'approvalDecided',
				description:
					'An approval was settled: approved, denied, expired, or refused by the service because Claude Code dropped the call. To update the message that asked.',
			},
			{
				name: 'Approval Requested',
				value: 'approvalRequested',
				description:
					"A tool call waits for a person (the session's approval policy gated it): the approval ID, the call and the session's thread, to ask in Slack or by email",
			},
			{
				name: 'Budget Reached',
				value: 'budgetReached',
				description:
					"A budget is spent: a run's cost carried it past its limit, or a run did not start because of it. The payload's message names the budget, what was spent and when it resets, and its thread_metadata says how to answer the session's thread (for example its email reply address); to post into that thread.",
			},
			{
				name: 'Budget Warning',
				value: 'budgetWarning',
				description:
					'A budget passed its warning level (80 % unless set otherwise): the budget, what was spent and when it resets',
			},
			{
				name: 'Hook Events',
				value: 'custom',
				description: 'The events chosen below',
			},
			{
				name: 'Permission Denied',
				value: 'permissionDenied',
				description: 'A PermissionDenied hook, or a permission denial reported in a run result',
			},
			{
				name: 'Progress',
				value: 'progress',
				description:
					"Tool calls as they happen (PostToolUse, PostToolUseFailure) and the run's end (RunFinished, with the result): each delivery has run.toolCalls and run.costUsd so far (final once run.costFinal is true) and run.statusMessage. Pair it with At Most One Delivery Every N Seconds.",
			},
			{
				name: 'Reply Queued',
				value: 'replyQueued',
				description:
					"A turn ended while replies waited for it (Claude Resume's When Busy = Queue): answer them with Claude Resume's Take Queued. The payload says how many and the session's thread key.",
			},
			{
				name: 'Session Finished',
				value: 'sessionFinished',
				description: 'Stop, SessionEnd or StopFailure, with the session result',
			},
			{
				name: 'Tool Failed',
				value: 'toolFailed',
				description: 'PostToolUseFailure: a tool call that ran and failed',
			},
		],
		default: 'custom',
	},
	{
		displayName: 'Events',
		name: 'events',
		type: 'multiOptions',
		noDataExpression: true,
		options: EVENT_OPTIONS,
		default: [ANY_EVENT],
		description: 'Claude Code hook events that start the workflow',
		displayOptions: { show: { preset: ['custom'] } },
	},
	{
		displayName: 'Tool Filter',
		name: 'toolFilter',
		type: 'string',
		default: '',
		placeholder: 'Edit|Write',
		description:
			'Only events about these tools: tool names separated by | (Edit|Write), where * matches any characters (mcp__github__*; .* works too) and . any one character. Not a regular expression: other characters are refused when the workflow is activated. Events without a tool are then left out. Empty: any tool.',
		displayOptions: { hide: { preset: ['sessionFinished'] } },
	},
	{
		displayName: 'Session ID',
		name: 'sessionId',
		type: 'string',
		default: '',
		placeholder: '1783e529-b137-4c6a-bc9b-97b1e0374b55',
		description: 'Only events of this Claude session. Empty: every session.',
	},
	{
		displayName: 'Thread Key',
		name: 'threadKey',
		type: 'string',
		default: '',
		placeholder: 'slack:C0123456789:1712345678.000100',
		description:
			'Only events of the session bound to this conversation thread. Empty: every session.',
	},
	{
		displayName: 'Workspace Type',
		name: 'workspaceType',
		type: 'options',
		options: [
			{ name: 'Any', value: '' },
			{ name: 'E2B Sandbox', value: 'e2b' },
			{ name: 'External (Own Claude Code)', value: 'external' },
			{ name: 'Git Worktree', value: 'worktree' },
			{ name: 'GitHub Clone', value: 'github' },
			{ name: 'Local Folder', value: 'local' },
		],
		default: '',
		description: 'Only events of sessions running in this kind of workspace',
	},
	{
		displayName: 'At Most One Delivery Every N Seconds Per Session',
		name: 'minIntervalSeconds',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: 3600 },
		default: 0,
		description:
			'0: every event. Otherwise the service sends at most one event of a session every this many seconds, counted from the end of the previous request: events in between are coalesced, keeping the latest (its coalesced field counts the ones it replaced), and the latest is always sent once the window is over.',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Answer After the Workflow Ran',
				name: 'answerAfterWorkflow',
				type: 'boolean',
				default: false,
				description:
					"Whether to answer the service's delivery only when this workflow has finished, instead of at once. The service sends a session's events one at a time, so the session's executions then never overlap, and a minimum interval counts from the end of the previous execution: use it when each execution edits the same message.",
			},
			{
				displayName: 'Signature Tolerance (Seconds)',
				name: 'toleranceSeconds',
				type: 'number',
				typeOptions: { minValue: 10 },
				default: DEFAULT_TOLERANCE_SECONDS,
				description:
					'Deliveries signed longer ago than this are refused as replays. Raise it only if the clocks of n8n and the service differ.',
			},
		],
	},
];
