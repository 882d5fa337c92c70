import type { Queryable } from '../db';
import { likePattern, SESSION_COLUMNS, sessionFilters, toSession, type ListFilter } from './sessions.repository';

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
	message: { table: 'session_messages', id: 'bigint', doc: 'left(content, 200000)', extra: 'direction' },
	tool_call: {
		table: 'tool_calls',
		id: 'bigint',
		doc: `coalesce(tool_name, '') || ' ' || search_text(input) || ' ' || search_text(response) || ' ' || left(coalesce(error, ''), 200000)`,
		extra: 'tool_name',
	},
};

/**
 * Sessions ranked by how well their best row matches `search` (websearch syntax: words, "a phrase", -not, or):
 * the session's prompt and result, its messages, its tool calls' inputs, outputs and errors. A substring of the
 * prompt, repository, thread key or id also finds a session (ranked last), as the plain `q` filter does.
 * Keyset pages on (rank, created_at, id); each item carries the best match and a snippet around it.
 */
export async function searchSessions(db: Queryable, f: SearchFilter) {
	const params: unknown[] = [f.search, likePattern(f.search)];
	const where = sessionFilters(f, params);
	if (f.after) {
		params.push(f.after.r, f.after.t, f.after.id);
		const n = params.length;
		where.push(`(b.rank, s.created_at, s.id) < ($${n - 2}::real, $${n - 1}::timestamptz, $${n}::uuid)`);
	}
	params.push(f.limit + 1);
	const { rows } = await db.query<Record<string, any>>(
		`WITH q AS (SELECT websearch_to_tsquery('english', $1) AS query),
		hits AS (
			SELECT s.id AS session_id, ts_rank(s.search, q.query) AS rank, 'session' AS source, s.id::text AS ref
			FROM sessions s, q WHERE s.search @@ q.query
			UNION ALL
			SELECT m.session_id, ts_rank(m.search, q.query), 'message', m.id::text FROM session_messages m, q WHERE m.search @@ q.query
			UNION ALL
			SELECT t.session_id, ts_rank(t.search, q.query), 'tool_call', t.id::text FROM tool_calls t, q WHERE t.search @@ q.query
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
	const snippets = await headlines(db, f.search, page.filter((r) => r.rank > 0).map((r) => ({ source: r.source as MatchSource, ref: r.ref as string })));
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
					...(found ? { detail: found.detail, snippet: found.snippet } : { detail: null, snippet: null }),
				},
			};
		}),
		next: rows.length > f.limit && last ? { r: last.rank as number, t: last.cursor_t as string, id: last.id as string } : undefined,
	};
}

/** Snippets for the matched rows of one page only: ts_headline reads the whole text, so it is not run for every hit. */
async function headlines(db: Queryable, search: string, matches: Array<{ source: MatchSource; ref: string }>) {
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
		for (const r of rows) out.set(`${source}/${r.ref}`, { detail: r.detail, snippet: parts(r.headline) });
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
