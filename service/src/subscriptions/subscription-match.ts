import {
	parseToolFilter,
	ToolFilterError,
	toolFilterMatches,
	type ToolFilter,
} from './tool-filter';

// Which stored events a subscription wants. Runs in JS (in memory when hook ingestion plans a batch's deliveries,
// or inside a transaction that reads the subscriptions), so the rules can follow Claude Code's own matcher
// semantics exactly.

export interface SubscriptionFilter {
	id: string;
	events: string[];
	toolFilter: string | null;
	sessionId: string | null;
	threadKey: string | null;
	workspaceType: string | null;
}

export interface MatchableEvent {
	sessionId: string;
	eventName: string;
	toolName?: string | null;
}

export interface SessionFacts {
	workspaceType: string | null;
	/** Every thread key bound to the session (sessions.thread_key and the threads table). */
	threadKeys: string[];
}

const compiled = new Map<string, ToolFilter | null>();

/**
 * A filter read once and kept. Filters are checked when registered; a stored one that cannot be read (a regex
 * registered before filters became globs, other than a plain alternation) matches nothing rather than failing
 * the transaction that stores everyone's hook events, and is reported at start (unreadableToolFilters).
 */
export function readToolFilter(filter: string): ToolFilter | null {
	const cached = compiled.get(filter);
	if (cached !== undefined) return cached;
	let read: ToolFilter | null;
	try {
		read = parseToolFilter(filter);
	} catch (err) {
		if (!(err instanceof ToolFilterError)) throw err;
		read = null;
	}
	if (compiled.size > 1000) compiled.clear();
	compiled.set(filter, read);
	return read;
}

/** Subscriptions whose stored tool filter cannot be read (and so match nothing): ids and filters, to report. */
export const unreadableToolFilters = (filters: SubscriptionFilter[]) =>
	filters
		.filter((f) => f.toolFilter && readToolFilter(f.toolFilter) === null)
		.map((f) => ({ id: f.id, toolFilter: f.toolFilter }));

/** Filters that need the session row; when no subscription has one, the session is not read at all. */
export const needsSessionFacts = (f: SubscriptionFilter) => Boolean(f.threadKey || f.workspaceType);

export function matches(
	f: SubscriptionFilter,
	e: MatchableEvent,
	session: SessionFacts | undefined,
): boolean {
	if (f.events.length && !f.events.includes(e.eventName)) return false;
	if (f.sessionId && f.sessionId !== e.sessionId) return false;
	// A tool filter keeps only events about a matching tool: "Bash" with every event means Bash's events,
	// not Bash's plus every Stop and prompt (unlike a Claude Code matcher, which other events ignore).
	if (f.toolFilter) {
		const filter = readToolFilter(f.toolFilter);
		if (!filter) return false;
		if (filter.alternatives && !(e.toolName && toolFilterMatches(filter, e.toolName))) return false;
	}
	if (f.workspaceType && session?.workspaceType !== f.workspaceType) return false;
	if (f.threadKey && !session?.threadKeys.includes(f.threadKey)) return false;
	return true;
}
