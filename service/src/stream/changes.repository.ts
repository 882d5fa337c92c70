import type { Queryable } from '../db';

/** One row of dashboard_changes (migration 013): what changed, not the changed row itself. */
export interface Change {
	seq: number;
	kind: 'session' | 'tool_call' | 'message' | 'approval';
	op: 'insert' | 'update';
	sessionId: string;
	/** The changed row's id: a session's uuid, or a tool call's, message's or approval's id. */
	ref: string;
	at: string;
}

export const CHANGES_CHANNEL = 'dashboard_changes';

/** Changes are kept this long (enough for a reconnect or a restart); a stream resuming from further back is told to reload instead. */
export const CHANGES_KEPT_HOURS = 1;

interface ChangeRow {
	seq: number;
	kind: Change['kind'];
	op: Change['op'];
	session_id: string;
	ref: string;
	at: Date;
}

/** Changes after `after`, oldest first, optionally of one session. */
export async function readChanges(
	db: Queryable,
	after: number,
	sessionId: string | undefined,
	limit: number,
): Promise<Change[]> {
	const { rows } = sessionId
		? await db.query<ChangeRow>(
				'SELECT seq, kind, op, session_id, ref, at FROM dashboard_changes WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
				[sessionId, after, limit],
			)
		: await db.query<ChangeRow>(
				'SELECT seq, kind, op, session_id, ref, at FROM dashboard_changes WHERE seq > $1 ORDER BY seq LIMIT $2',
				[after, limit],
			);
	return rows.map((r) => ({
		seq: r.seq,
		kind: r.kind,
		op: r.op,
		sessionId: r.session_id,
		ref: r.ref,
		at: new Date(r.at).toISOString(),
	}));
}

/** The newest seq handed out (0 before any change), and the oldest still kept (undefined when none are). */
export async function changeBounds(
	db: Queryable,
): Promise<{ latest: number; oldest: number | undefined }> {
	const { rows } = await db.query<{ latest: number; oldest: number | null }>(
		// The sequence, not max(seq): pruning may have emptied the table while the sequence went on.
		`SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM dashboard_changes_seq_seq) AS latest,
			(SELECT min(seq) FROM dashboard_changes) AS oldest`,
	);
	return {
		latest: Number(rows[0].latest),
		oldest: rows[0].oldest === null ? undefined : Number(rows[0].oldest),
	};
}

export async function pruneChanges(db: Queryable): Promise<number> {
	const { rowCount } = await db.query(
		`DELETE FROM dashboard_changes WHERE at < now() - make_interval(hours => $1)`,
		[CHANGES_KEPT_HOURS],
	);
	return rowCount;
}

/** A NOTIFY payload as the triggers write it (migration 017: an array of a statement's changes; before: one change); anything else is ignored. */
export function parseChanges(payload: string): Change[] {
	try {
		const parsed = JSON.parse(payload) as Change | Change[];
		const list = Array.isArray(parsed) ? parsed : [parsed];
		return list
			.filter(
				(c) =>
					c !== null &&
					typeof c === 'object' &&
					typeof c.seq === 'number' &&
					typeof c.sessionId === 'string' &&
					typeof c.kind === 'string',
			)
			.map((c) => ({ ...c, at: new Date(c.at).toISOString() }));
	} catch {
		return [];
	}
}
