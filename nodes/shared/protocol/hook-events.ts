// The event names on the wire: what Claude Code's hooks post, and the events the service itself records.

/** The 33 hook events Claude Code 2.1.331 knows (identical to HOOK_EVENTS in the agent SDK). */
export const HOOK_EVENTS = [
	'PreToolUse',
	'PostToolUse',
	'PostToolUseFailure',
	'PostToolBatch',
	'Notification',
	'UserPromptSubmit',
	'UserPromptExpansion',
	'SessionStart',
	'SessionEnd',
	'Stop',
	'StopFailure',
	'SubagentStart',
	'SubagentStop',
	'PreCompact',
	'PostCompact',
	'PreModelSwitch',
	'PostModelSwitch',
	'PermissionRequest',
	'PermissionDenied',
	'Setup',
	'TeammateIdle',
	'TaskCreated',
	'TaskCompleted',
	'Elicitation',
	'ElicitationResult',
	'ConfigChange',
	'WorktreeCreate',
	'WorktreeRemove',
	'InstructionsLoaded',
	'CwdChanged',
	'FileChanged',
	'DirectoryAdded',
	'MessageDisplay',
] as const;

export type HookEvent = (typeof HOOK_EVENTS)[number];

/** The CLI skips HTTP hooks for these ("HTTP hooks are not supported for …"): they never reach the service. */
export const HTTP_HOOK_UNSUPPORTED_EVENTS: readonly HookEvent[] = ['SessionStart', 'Setup'];

/** An approval policy made a call wait for a person (the service's own event, `source: "service"`). */
export const APPROVAL_REQUESTED = 'ApprovalRequested';
/** The waiting call was approved, denied, expired or dropped. */
export const APPROVAL_DECIDED = 'ApprovalDecided';
/** A budget passed its warning level. */
export const BUDGET_WARNING = 'BudgetWarning';
/** A budget reached its limit, or refused a run because of it. */
export const BUDGET_REACHED = 'BudgetReached';
/** A run's end was recorded: its status, result, cost, turns, tool calls and status message (the Progress preset ends on it). */
export const RUN_FINISHED = 'RunFinished';
/** A turn ended while replies waited for it (Claude Resume, When Busy = Queue): Take Queued answers them. */
export const REPLY_QUEUED = 'ReplyQueued';

/**
 * Event names only the service itself emits. A hook request carrying one of these names is refused: a session's
 * hook token must not be able to forge an approval, a budget alert or a run's end into a thread.
 */
export const SERVICE_EVENTS = [
	APPROVAL_REQUESTED,
	APPROVAL_DECIDED,
	BUDGET_WARNING,
	BUDGET_REACHED,
	REPLY_QUEUED,
	RUN_FINISHED,
] as const;
export type ServiceEvent = (typeof SERVICE_EVENTS)[number];

/** `source` in a stored event's payload: the service wrote it, or a run's result reported it (denials). */
export const EVENT_SOURCES = { service: 'service', run: 'run' } as const;
