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

const compiled = new Map<string, RegExp | null>();

/**
 * A tool filter reads like a Claude Code hook matcher: a tool name (`Bash`), alternatives (`Edit|Write`) or a
 * regex (`mcp__github__.*`), anchored to the whole name; empty or `*` matches every tool.
 */
export function compileToolFilter(filter: string): RegExp | null {
	const cached = compiled.get(filter);
	if (cached !== undefined) return cached;
	const trimmed = filter.trim();
	const re = trimmed === '' || trimmed === '*' ? null : new RegExp(`^(?:${trimmed})$`);
	if (compiled.size > 1000) compiled.clear();
	compiled.set(filter, re);
	return re;
}

/**
 * Filters are validated when registered; one that does not compile anyway (edited in the database) matches
 * nothing rather than failing the transaction that stores everyone's hook events.
 */
function safeCompile(filter: string): RegExp | null | undefined {
	try {
		return compileToolFilter(filter);
	} catch {
		return undefined;
	}
}

/** Filters that need the session row; when no subscription has one, the session is not read at all. */
export const needsSessionFacts = (f: SubscriptionFilter) => Boolean(f.threadKey || f.workspaceType);

export function matches(f: SubscriptionFilter, e: MatchableEvent, session: SessionFacts | undefined): boolean {
	if (f.events.length && !f.events.includes(e.eventName)) return false;
	if (f.sessionId && f.sessionId !== e.sessionId) return false;
	// A tool filter keeps only events about a matching tool: "Bash" with every event means Bash's events,
	// not Bash's plus every Stop and prompt (unlike a Claude Code matcher, which other events ignore).
	if (f.toolFilter) {
		const re = safeCompile(f.toolFilter);
		if (re === undefined) return false;
		if (re && !(e.toolName && re.test(e.toolName))) return false;
	}
	if (f.workspaceType && session?.workspaceType !== f.workspaceType) return false;
	if (f.threadKey && !session?.threadKeys.includes(f.threadKey)) return false;
	return true;
}
