// A subscription's tool filter is matched against every stored event's tool_name, which anyone with a hook token
// chooses. A regular expression there could be made to backtrack for seconds on the event loop ((a|a)+ against a
// few dozen a's), so filters are read as a small language instead: names separated by `|`, where `*` (or the
// regex spelling `.*`) matches any run of characters and `.` any one character. That is every filter the Hook
// Trigger documented (Bash, Edit|Write, mcp__github__.*), and matching it is bounded by the lengths of the two
// strings, whatever they hold.

/** One alternative, as pieces between stars: a `?` in a piece matches any one character. */
type Glob = string[];

export interface ToolFilter {
	/** null: every tool (empty or `*`). */
	alternatives: Glob[] | null;
}

export class ToolFilterError extends Error {}

const NAME_CHARS = /[A-Za-z0-9_-]/;
export const TOOL_FILTER_HELP =
	'a tool filter is tool names separated by |, where * (or .*) matches any characters and . any one character, such as Bash, Edit|Write or mcp__github__*';

/** Reads a filter, or throws a ToolFilterError that says which part it cannot read. */
export function parseToolFilter(filter: string): ToolFilter {
	let text = filter.trim();
	if (text === '' || text === '*') return { alternatives: null };
	// The regex form anchored itself (^…$) or grouped its alternatives ((Edit|Write)): both mean the same here.
	if (text.startsWith('^')) text = text.slice(1);
	if (text.endsWith('$')) text = text.slice(0, -1);
	if (text.startsWith('(?:') && text.endsWith(')')) text = text.slice(3, -1);
	else if (text.startsWith('(') && text.endsWith(')')) text = text.slice(1, -1);
	return {
		alternatives: text.split('|').map((alt) => parseAlternative(alt.trim(), filter.trim())),
	};
}

function parseAlternative(alt: string, filter: string): Glob {
	if (alt === '') throw new ToolFilterError(`"${filter}" has an empty name between |`);
	const pieces: string[] = [''];
	for (let i = 0; i < alt.length; i++) {
		const c = alt[i];
		if (c === '*' || (c === '.' && alt[i + 1] === '*')) {
			if (c === '.') i++;
			pieces.push('');
		} else if (c === '.' && alt[i + 1] === '+') {
			i++;
			pieces[pieces.length - 1] += '?';
			pieces.push('');
		} else if (c === '.') {
			pieces[pieces.length - 1] += '?';
		} else if (NAME_CHARS.test(c)) {
			pieces[pieces.length - 1] += c;
		} else {
			throw new ToolFilterError(`"${filter}" has "${c}", which is not part of a tool name`);
		}
	}
	return pieces;
}

const pieceAt = (name: string, at: number, piece: string) => {
	if (at + piece.length > name.length) return false;
	for (let i = 0; i < piece.length; i++)
		if (piece[i] !== '?' && piece[i] !== name[at + i]) return false;
	return true;
};

/** Whether one alternative matches the whole name: each piece at its leftmost place after the previous one. */
function globMatches(pieces: Glob, name: string): boolean {
	if (pieces.length === 1) return pieces[0].length === name.length && pieceAt(name, 0, pieces[0]);
	const first = pieces[0];
	const last = pieces[pieces.length - 1];
	if (
		first.length + last.length > name.length ||
		!pieceAt(name, 0, first) ||
		!pieceAt(name, name.length - last.length, last)
	)
		return false;
	let at = first.length;
	const end = name.length - last.length;
	for (const piece of pieces.slice(1, -1)) {
		let found = -1;
		for (let i = at; i + piece.length <= end; i++) {
			if (pieceAt(name, i, piece)) {
				found = i;
				break;
			}
		}
		if (found < 0) return false;
		at = found + piece.length;
	}
	return true;
}

export function toolFilterMatches(filter: ToolFilter, toolName: string): boolean {
	return (
		filter.alternatives === null ||
		filter.alternatives.some((pieces) => globMatches(pieces, toolName))
	);
}
