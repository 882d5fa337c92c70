/**
 * Wraps a page query (one that ends in ORDER BY … LIMIT) so it returns rows only while their running size stays
 * within a byte budget, but always at least one row: a page of 500 events of 2 MB each would otherwise be read
 * into memory and sent as one 1 GB answer. `sizeExpr` is the row's size in bytes, over the inner query's columns;
 * `order` its ORDER BY list. Each row carries `page_fetched` (how many rows the inner query returned): fewer rows
 * than that means the budget cut the page, and the caller hands out a cursor even though it is short.
 */
export function byteBoundedPage(innerSql: string, sizeExpr: string, order: string, maxBytesParam: string): string {
	return `SELECT * FROM (
		SELECT page.*, sum(${sizeExpr}) OVER (ORDER BY ${order}) AS page_running_bytes,
			row_number() OVER (ORDER BY ${order}) AS page_row, count(*) OVER () AS page_fetched
		FROM (${innerSql}) page
	) sized WHERE page_row = 1 OR page_running_bytes <= ${maxBytesParam} ORDER BY ${order}`;
}

/** Whether a page has more after it: it is full, or the byte budget cut it short. */
export const pageHasMore = (rows: Array<{ page_fetched?: unknown }>, limit: number) =>
	rows.length > 0 && (rows.length === limit || rows.length < Number(rows[0].page_fetched));
