import type { Queryable } from './database';

/**
 * Wraps a page query (one that ends in ORDER BY … LIMIT) so it returns rows only while their running size stays
 * within a byte budget, but always at least one row: a page of 500 events of 2 MB each would otherwise be read
 * into memory and sent as one 1 GB answer. `sizeExpr` is the row's size in bytes, over the inner query's columns;
 * `order` its ORDER BY list. Each row carries `page_fetched` (how many rows the inner query returned): fewer rows
 * than that means the budget cut the page, and the caller hands out a cursor even though it is short.
 */
export function byteBoundedPage(
	innerSql: string,
	sizeExpr: string,
	order: string,
	maxBytesParam: string,
): string {
	return `SELECT * FROM (
		SELECT page.*, sum(${sizeExpr}) OVER (ORDER BY ${order}) AS page_running_bytes,
			row_number() OVER (ORDER BY ${order}) AS page_row, count(*) OVER () AS page_fetched
		FROM (${innerSql}) page
	) sized WHERE page_row = 1 OR page_running_bytes <= ${maxBytesParam} ORDER BY ${order}`;
}

/** Whether a page has more after it: it is full, or the byte budget cut it short. */
export const pageHasMore = (rows: Array<{ page_fetched?: unknown }>, limit: number) =>
	rows.length > 0 && (rows.length === limit || rows.length < Number(rows[0].page_fetched));

export interface BoundedPageQuery {
	/** A page query ending in ORDER BY … LIMIT; the byte budget is appended to `params` as the last parameter. */
	sql: string;
	params: unknown[];
	/** The row's size in bytes, over the query's columns. */
	sizeExpr: string;
	/** The query's ORDER BY list, over its output columns. */
	order: string;
	/** The LIMIT the query was given. */
	limit: number;
	maxBytes?: number;
}

/** Runs a page query within a byte budget (at least one row): its rows, and whether more follow. */
export async function readBoundedPage<R extends Record<string, any>>(
	db: Queryable,
	q: BoundedPageQuery,
): Promise<{ rows: R[]; more: boolean }> {
	const { rows } = await db.query<R & { page_fetched: number }>(
		byteBoundedPage(q.sql, q.sizeExpr, q.order, `$${q.params.length + 1}`),
		[...q.params, q.maxBytes ?? Number.MAX_SAFE_INTEGER],
	);
	return { rows, more: pageHasMore(rows, q.limit) };
}

/** A session's rows of `table` after `afterId`, in id order (its events, its messages), within a byte budget. */
export function readSessionRowsAfter<R extends Record<string, any>>(
	db: Queryable,
	from: { table: string; columns: string; sizeExpr: string },
	sessionId: string,
	page: { limit: number; afterId: number; maxBytes?: number },
): Promise<{ rows: R[]; more: boolean }> {
	return readBoundedPage<R>(db, {
		sql: `SELECT ${from.columns} FROM ${from.table} WHERE session_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		params: [sessionId, page.afterId, page.limit],
		sizeExpr: from.sizeExpr,
		order: 'id',
		limit: page.limit,
		maxBytes: page.maxBytes,
	});
}

/** The cursor after a newest-first keyset page read with LIMIT limit + 1: the last row's (time, id), if more follow. */
export function keysetPage<T>(
	rows: Array<Record<string, any>>,
	limit: number,
	more: boolean,
	map: (r: Record<string, any>) => T,
) {
	const page = rows.slice(0, limit);
	const last = page[page.length - 1];
	return {
		items: page.map(map),
		next: more && last ? { t: last.cursor_t as string, id: last.id as string } : undefined,
	};
}
