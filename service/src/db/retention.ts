import type { Queryable } from './database';

// Retention deletes share one form: a statement whose $1 is the age in milliseconds and $2 the batch size, run a
// bounded batch at a time so a large backlog never holds a long lock. The statement stays in the table's repository.

/** `column` is older than the retention in $1 (milliseconds). */
export const olderThanRetention = (column: string) =>
	`${column} < now() - make_interval(secs => $1::double precision / 1000)`;

/** Runs the retention delete `deleteSql` (see above), 5000 rows unless told; how many rows it removed. */
export function retentionDelete(deleteSql: string) {
	return async (db: Queryable, olderThanMs: number, batch = 5000): Promise<number> =>
		(await db.query(deleteSql, [olderThanMs, batch])).rowCount;
}
