import type { Queryable } from './database';

/**
 * Inserts one row of an exported session as it was written elsewhere: only the columns `values` names (the
 * others take their defaults), each cast by PostgreSQL from JSON. For the repositories that own the tables
 * (each passes its own table), so a table's writes stay in its repository; the caller has checked every column
 * name against the catalog, since they are spliced into the statement.
 */
export async function insertImportedRow(
	tx: Queryable,
	table: string,
	values: Record<string, unknown>,
): Promise<void> {
	const list = Object.keys(values)
		.map((c) => `"${c}"`)
		.join(', ');
	await tx.query(
		`INSERT INTO ${table} (${list}) SELECT ${list} FROM jsonb_populate_record(NULL::${table}, $1::jsonb)`,
		[JSON.stringify(values)],
	);
}
