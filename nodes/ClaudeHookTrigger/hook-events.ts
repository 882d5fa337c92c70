import type { INodePropertyOptions } from 'n8n-workflow';
import {
	APPROVAL_DECIDED,
	APPROVAL_REQUESTED,
	BUDGET_REACHED,
	BUDGET_WARNING,
	HOOK_EVENTS as CLAUDE_HOOK_EVENTS,
	HTTP_HOOK_UNSUPPORTED_EVENTS,
	RUN_FINISHED,
	REPLY_QUEUED,
} from '../shared/protocol/hook-events';

/** The hook events Claude Code knows, in alphabetical order for the picker. */
export const HOOK_EVENTS = [...CLAUDE_HOOK_EVENTS].sort();

export const ANY_EVENT = '*';

// SessionStart and Setup never reach the service: Claude Code skips HTTP hooks for them.
const NOT_DELIVERED: readonly string[] = HTTP_HOOK_UNSUPPORTED_EVENTS;

export const EVENT_OPTIONS: INodePropertyOptions[] = [
	{
		name: 'Any Event',
		value: ANY_EVENT,
		description:
			'Every event the service receives, including ones added by newer Claude Code versions',
	},
	...HOOK_EVENTS.map((e) => ({
		name: e,
		value: e,
		...(NOT_DELIVERED.includes(e)
			? { description: 'Only from sessions whose hooks post it with a command hook' }
			: {}),
	})),
];

export type Preset =
	| 'custom'
	| 'sessionFinished'
	| 'toolFailed'
	| 'permissionDenied'
	| 'approvalRequested'
	| 'approvalDecided'
	| 'budgetWarning'
	| 'budgetReached'
	| 'progress'
	| 'replyQueued';

/** The events each preset subscribes to. "Permission denied" also covers a run's permission_denials, which the service stores as PermissionDenied events. */
export const PRESET_EVENTS: Record<Exclude<Preset, 'custom'>, string[]> = {
	sessionFinished: ['Stop', 'SessionEnd', 'StopFailure'],
	toolFailed: ['PostToolUseFailure'],
	permissionDenied: ['PermissionDenied'],
	// Not a Claude Code hook: the service's own event when an approval policy made a call wait for a person.
	approvalRequested: [APPROVAL_REQUESTED],
	// Also the service's own: the request was approved, denied, expired, or dropped (approval_id and status in the payload).
	approvalDecided: [APPROVAL_DECIDED],
	// The service's own too: a budget passed its warning level, or its limit (or refused a run because of it).
	budgetWarning: [BUDGET_WARNING],
	budgetReached: [BUDGET_REACHED],
	// Tool calls, then the service's RunFinished when the run's end is recorded: in order, per session.
	progress: ['PostToolUse', 'PostToolUseFailure', RUN_FINISHED],
	// The service's own: a turn ended with replies queued for the session (When Busy = Queue).
	replyQueued: [REPLY_QUEUED],
};
