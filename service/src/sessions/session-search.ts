import type { Queryable } from '../db';
import { SESSION_COLUMNS, toSession } from './sessions.repository';
import { likePattern, sessionFilters, type ListFilter } from './session-list.repository';

export type MatchSource = 'session' | 'message' | 'tool_call';

export interface SearchFilter extends Omit<ListFilter, 'after' | 'q'> {
	search: string;
	after?: { r: number; t: string; id: string };
}

/** One piece of a snippet: `hit` pieces are the words that matched. */
export interface SnippetPart {
	text: string;
	hit: boolean;
}

// Rows of each kind that are ranked, newest first. Ranking reads every candidate's tsvector, so a word found in
// nearly every tool output would cost a pass over the whole table; past this many matches the newest ones are
// ranked and older ones are left out. A rare word is read through the GIN index; a common one fills the quota
// from the newest rows backwards (PostgreSQL picks between the two from the word's statistics).
const CANDIDATES = 5_000;
const TSQUERY = `websearch_to_tsquery('english', $1)`;

// Control characters mark the matches in ts_headline's output; the answer carries them as parts, not markup.
const START = '\u0001';
const STOP = '\u0002';
const HEADLINE_OPTIONS = `StartSel=${START}, StopSel=${STOP}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "`;

// Each source's searchable text, the same expression its tsvector (migration 014) is built from.
const DOCUMENTS: Record<MatchSource, { table: string; id: string; doc: string; extra: string }> = {
	session: {
		table: 'sessions',
		id: 'uuid',
		doc: `left(coalesce(prompt, '') || ' ' || coalesce(result, '') || ' ' || coalesce(error_message, ''), 200000)`,
		extra: 'NULL::text',
	},
	message: {
		table: 'session_messages',
		id: 'bigint',
		doc: 'left(content, 200000)',
		extra: 'direction',
	},
	tool_call: {
		table: 'tool_calls',
		id: 'bigint',
		doc: `coalesce(tool_name, '') || ' ' || search_text(input) || ' ' || search_text(response) || ' ' || left(coalesce(error, ''), 200000)`,
		extra: 'tool_name',
	},
};

/**
 * Sessions ranked by how well their best row matches `search` (websearch syntax: words, "a phrase", -not, or):
 * the session's prompt and result, its messages, its tool calls' inputs, outputs and errors (the newest
 * CANDIDATES matches of each kind). A substring of the
 * prompt, repository, thread key or id also finds a session (ranked last), as the plain `q` filter does.
 * Keyset pages on (rank, created_at, id); each item carries the best match and a snippet around it.
 */
export async function searchSessions(db: Queryable, f: SearchFilter) {
	const params: unknown[] = [f.search, likePattern(f.search)];
	const where = sessionFilters(f, params);
	if (f.after) {
		params.push(f.after.r, f.after.t, f.after.id);
		const n = params.length;
		where.push(
			`(b.rank, s.created_at, s.id) < ($${n - 2}::real, $${n - 1}::timestamptz, $${n}::uuid)`,
		);
	}
	params.push(f.limit + 1);
	const { rows } = await db.query<Record<string, any>>(
		// The query is written out in each branch, not taken from a CTE: the planner then sees the words and estimates
		// how many rows match, which is what lets it choose between the GIN index and the newest rows.
		`WITH hits AS (
			(SELECT s.id AS session_id, ts_rank(s.search, ${TSQUERY}) AS rank, 'session' AS source, s.id::text AS ref
			FROM sessions s WHERE s.search @@ ${TSQUERY} ORDER BY s.created_at DESC LIMIT ${CANDIDATES})
			UNION ALL
			(SELECT m.session_id, ts_rank(m.search, ${TSQUERY}), 'message', m.id::text FROM session_messages m
			WHERE m.search @@ ${TSQUERY} ORDER BY m.id DESC LIMIT ${CANDIDATES})
			UNION ALL
			(SELECT t.session_id, ts_rank(t.search, ${TSQUERY}), 'tool_call', t.id::text FROM tool_calls t
			WHERE t.search @@ ${TSQUERY} ORDER BY t.id DESC LIMIT ${CANDIDATES})
			UNION ALL
			SELECT s.id, 0, 'session', s.id::text FROM sessions s
			WHERE s.prompt ILIKE $2 OR s.repository ILIKE $2 OR s.thread_key ILIKE $2 OR s.id::text ILIKE $2
		), best AS (
			SELECT DISTINCT ON (session_id) session_id, rank, source, ref FROM hits ORDER BY session_id, rank DESC, source
		)
		SELECT ${SESSION_COLUMNS}, b.rank, b.source, b.ref
		FROM best b JOIN sessions s ON s.id = b.session_id
		${where.length ? `WHERE ${where.join(' AND ')}` : ''}
		ORDER BY b.rank DESC, s.created_at DESC, s.id DESC LIMIT $${params.length}`,
		params,
	);
	const page = rows.slice(0, f.limit);
	const snippets = await headlines(
		db,
		f.search,
		page
			.filter((r) => r.rank > 0)
			.map((r) => ({ source: r.source as MatchSource, ref: r.ref as string })),
	);
	const last = page[page.length - 1];
	return {
		items: page.map((r) => {
			const found = snippets.get(`${r.source}/${r.ref}`);
			return {
				...toSession(r),
				match: {
					source: r.source as MatchSource,
					ref: r.ref as string,
					rank: r.rank as number,
					...(found
						? { detail: found.detail, snippet: found.snippet }
						: { detail: null, snippet: null }),
				},
			};
		}),
		next:
			rows.length > f.limit && last
				? { r: last.rank as number, t: last.cursor_t as string, id: last.id as string }
				: undefined,
	};
}

/** Snippets for the matched rows of one page only: ts_headline reads the whole text, so it is not run for every hit. */
async function headlines(
	db: Queryable,
	search: string,
	matches: Array<{ source: MatchSource; ref: string }>,
) {
	const out = new Map<string, { detail: string | null; snippet: SnippetPart[] }>();
	for (const source of Object.keys(DOCUMENTS) as MatchSource[]) {
		const refs = matches.filter((m) => m.source === source).map((m) => m.ref);
		if (!refs.length) continue;
		const { table, id, doc, extra } = DOCUMENTS[source];
		const { rows } = await db.query<{ ref: string; detail: string | null; headline: string }>(
			`SELECT id::text AS ref, ${extra} AS detail, ts_headline('english', ${doc}, websearch_to_tsquery('english', $1), $2) AS headline
			FROM ${table} WHERE id = ANY($3::${id}[])`,
			[search, HEADLINE_OPTIONS, refs],
		);
		for (const r of rows)
			out.set(`${source}/${r.ref}`, { detail: r.detail, snippet: parts(r.headline) });
	}
	return out;
}

/** "a \u0001b\u0002 c" → [{a, no}, {b, yes}, {c, no}]; whitespace runs (a tool's output lines) become one space. */
export function parts(headline: string): SnippetPart[] {
	const out: SnippetPart[] = [];
	for (const [i, piece] of headline.split(new RegExp(`${START}|${STOP}`)).entries()) {
		const text = piece.replace(/\s+/g, ' ');
		if (text) out.push({ text, hit: i % 2 === 1 });
	}
	return out;
}
