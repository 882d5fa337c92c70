// The one interface the rest of the service uses for SQL. Two implementations:
// PostgreSQL through `pg` (postgres.ts) and embedded PGlite (pglite.ts). Same SQL, same migrations.

export interface QueryResult<T> {
	rows: T[];
	rowCount: number;
}

export interface Queryable {
	/**
	 * `name` makes PostgreSQL parse and plan the statement once per connection (hot paths only; the text for a
	 * name must never change). PGlite ignores it.
	 */
	query<T = Record<string, unknown>>(
		sql: string,
		params?: unknown[],
		name?: string,
	): Promise<QueryResult<T>>;
	/** Runs a script of several statements without parameters (migrations). */
	exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
	readonly kind: 'postgres' | 'pglite';
	/** Runs `fn` in one transaction on one connection; commits, or rolls back if it throws. */
	transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
	/**
	 * Calls `onNotify` for every NOTIFY on `channel`, from any connection (any replica). On PostgreSQL one dedicated
	 * connection listens and is re-opened when lost; `onReconnect` then runs, because notices sent while it was
	 * away are gone. Resolves to a function that stops listening.
	 */
	listen(
		channel: string,
		onNotify: (payload: string) => void,
		onReconnect?: () => void,
	): Promise<() => Promise<void>>;
	close(): Promise<void>;
}
