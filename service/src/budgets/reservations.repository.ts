import type { Queryable } from '../db';

// What runs set aside from budgets (budget_reservations, one row a run) and from which budget each amount is
// held (budget_holds). The rules that decide the amounts are in reservations.ts.

export async function findReservation(
	tx: Queryable,
	runId: string,
	sessionId: string,
): Promise<{ status: string; cap_usd: number | null; expires_at: Date } | undefined> {
	const { rows } = await tx.query<{ status: string; cap_usd: number | null; expires_at: Date }>(
		'SELECT status, cap_usd, expires_at FROM budget_reservations WHERE run_id = $1 AND session_id = $2',
		[runId, sessionId],
	);
	return rows[0];
}

/** A held reservation asked for again: it keeps what it was granted until the new expiry. */
export async function extendReservation(
	tx: Queryable,
	runId: string,
	expiresAt: Date,
): Promise<void> {
	await tx.query('UPDATE budget_reservations SET expires_at = $2 WHERE run_id = $1', [
		runId,
		expiresAt,
	]);
}

/** The run was refused by `budgetId`, for the reason in `message` (ended as soon as asked). */
export async function refuseReservation(
	tx: Queryable,
	r: { runId: string; sessionId: string; message: string; budgetId: string; now: Date },
): Promise<void> {
	await tx.query(
		`INSERT INTO budget_reservations (run_id, session_id, status, message, refused_budget_id, created_at, expires_at, ended_at)
		VALUES ($1, $2, 'refused', $3, $4, $5, $5, $5)
		ON CONFLICT (run_id) DO UPDATE SET status = 'refused', message = EXCLUDED.message, refused_budget_id = EXCLUDED.refused_budget_id, ended_at = EXCLUDED.ended_at`,
		[r.runId, r.sessionId, r.message, r.budgetId, r.now],
	);
}

/** The run holds `capUsd` (null: no budget applies) until `expiresAt`, the same amount from each budget in `holds`. */
export async function holdReservation(
	tx: Queryable,
	r: { runId: string; sessionId: string; capUsd: number | null; now: Date; expiresAt: Date },
	holds: Array<{ budgetId: string; target: string; periodStart: Date }>,
): Promise<void> {
	await tx.query(
		`INSERT INTO budget_reservations (run_id, session_id, status, cap_usd, created_at, expires_at) VALUES ($1, $2, 'held', $3, $4, $5)
		ON CONFLICT (run_id) DO UPDATE SET status = 'held', cap_usd = EXCLUDED.cap_usd, message = NULL, refused_budget_id = NULL,
			created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, ended_at = NULL`,
		[r.runId, r.sessionId, r.capUsd, r.now, r.expiresAt],
	);
	await tx.query('DELETE FROM budget_holds WHERE run_id = $1', [r.runId]);
	for (const h of holds) {
		await tx.query(
			'INSERT INTO budget_holds (run_id, budget_id, target, period_start, amount_usd) VALUES ($1, $2, $3, $4, $5)',
			[r.runId, h.budgetId, h.target, h.periodStart, r.capUsd],
		);
	}
}

/** Moves a held, unexpired reservation's expiry to `expiresAt`; false when it is not held any more. */
export async function renewReservation(
	db: Queryable,
	runId: string,
	expiresAt: Date,
	now: Date,
): Promise<boolean> {
	const res = await db.query(
		`UPDATE budget_reservations SET expires_at = $2 WHERE run_id = $1 AND status = 'held' AND expires_at > $3`,
		[runId, expiresAt, now],
	);
	return res.rowCount > 0;
}

export async function releaseReservation(
	db: Queryable,
	runId: string,
	now: Date,
): Promise<boolean> {
	const res = await db.query(
		`UPDATE budget_reservations SET status = 'released', ended_at = $2 WHERE run_id = $1 AND status = 'held'`,
		[runId, now],
	);
	return res.rowCount > 0;
}

export async function settleReservation(
	tx: Queryable,
	runId: string,
	costUsd: number,
): Promise<void> {
	await tx.query(
		`UPDATE budget_reservations SET status = 'settled', cost_usd = $2, ended_at = now() WHERE run_id = $1 AND status = 'held'`,
		[runId, costUsd],
	);
}

/** Runs the budget refused to start since `since`. */
export async function countRefused(db: Queryable, budgetId: string, since: Date): Promise<number> {
	const { rows } = await db.query<{ n: number }>(
		`SELECT count(*)::int AS n FROM budget_reservations WHERE refused_budget_id = $1 AND status = 'refused' AND created_at >= $2`,
		[budgetId, since],
	);
	return rows[0].n;
}
