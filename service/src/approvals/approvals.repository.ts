import { insertImportedRow } from '../db/imported-row';
import { setApprovalPolicy } from '../sessions/sessions.repository';
import { keysetPage, readBoundedPage } from '../db/byte-bounded-page';
import type { Queryable } from '../db';
import { storedPolicy, type ApprovalPolicy } from './approval-policy';
import type { Approval as WireApproval, ApprovalStatus } from '../../../nodes/shared/protocol';

export { APPROVAL_STATUSES, type ApprovalStatus } from '../../../nodes/shared/protocol';

type Row = Record<string, any>;

// A pending request past its expiry reads as expired everywhere, before anything has written that down:
// expiry is applied lazily, by the next decision or the resumed run's PreToolUse.
const EFFECTIVE_STATUS = `CASE WHEN a.status = 'pending' AND a.expires_at <= now() THEN 'expired' ELSE a.status END`;

const COLUMNS = `a.id, a.session_id, a.tool_use_id, a.tool_name, a.tool_input, a.call_digest, a.rule, a.thread_key, a.deciders, a.status AS stored_status,
	${EFFECTIVE_STATUS} AS status, a.requested_at, a.expires_at, a.decided_at, a.decided_by, a.channel, a.note, a.refusals,
	a.requested_at::text AS cursor_t`;

export function toApproval(r: Row): Approval {
	return {
		id: r.id as string,
		sessionId: r.session_id as string,
		toolUseId: r.tool_use_id as string,
		toolName: r.tool_name as string,
		toolInput: r.tool_input as unknown,
		rule: r.rule as string,
		threadKey: (r.thread_key ?? null) as string | null,
		deciders: (r.deciders ?? []) as string[],
		status: r.status as ApprovalStatus,
		requestedAt: r.requested_at as Date,
		expiresAt: r.expires_at as Date,
		decidedAt: (r.decided_at ?? null) as Date | null,
		decidedBy: (r.decided_by ?? null) as string | null,
		channel: (r.channel ?? null) as string | null,
		note: (r.note ?? null) as string | null,
		refusals: (r.refusals ?? []) as Array<{ by: string; channel: string | null; at: string }>,
	};
}

/** An approval inside the service: dates are still Date objects. */
export type Approval = WireApproval<Date>;

/** Sets (or replaces) the session's policy; false when there is no such session. */
export async function putPolicy(
	db: Queryable,
	sessionId: string,
	policy: ApprovalPolicy | null,
): Promise<boolean> {
	return setApprovalPolicy(db, sessionId, policy);
}

export async function getPolicy(
	db: Queryable,
	sessionId: string,
): Promise<{ policy: ApprovalPolicy | undefined } | undefined> {
	const { rows } = await db.query<{ approval_policy: unknown }>(
		'SELECT approval_policy FROM sessions WHERE id = $1',
		[sessionId],
	);
	return rows[0] ? { policy: storedPolicy(rows[0].approval_policy) } : undefined;
}

export interface HookLookup {
	policy: ApprovalPolicy | undefined;
	threadKey: string | null;
	approval: Approval | undefined;
	/**
	 * sha256 of the tool name and raw input the approval was asked about (call-digest.ts); null on requests older
	 * than the column. Kept out of Approval, which the API shows: it is a hash of the unscrubbed input.
	 */
	callDigest: string | null;
}

/** Everything a PreToolUse answer needs, in one round trip: the session's policy, its thread, this call's approval. */
export async function lookupForHook(
	db: Queryable,
	sessionId: string,
	toolUseId: string,
): Promise<HookLookup | undefined> {
	const { rows } = await db.query<Row>(
		`SELECT s.approval_policy,
			COALESCE(s.thread_key, (SELECT t.key FROM threads t WHERE t.session_id = s.id ORDER BY t.updated_at DESC LIMIT 1)) AS session_thread_key,
			${COLUMNS}
		FROM sessions s LEFT JOIN approvals a ON a.session_id = s.id AND a.tool_use_id = $2
		WHERE s.id = $1`,
		[sessionId, toolUseId],
		'lookup-for-hook', // every PreToolUse asks: prepared once per connection
	);
	const r = rows[0];
	if (!r) return undefined;
	return {
		policy: storedPolicy(r.approval_policy),
		threadKey: r.session_thread_key ?? null,
		approval: r.id ? toApproval(r) : undefined,
		callDigest: r.call_digest ?? null,
	};
}

export interface NewApproval {
	id: string;
	sessionId: string;
	toolUseId: string;
	toolName: string;
	toolInput: unknown;
	callDigest: string;
	rule: string;
	threadKey: string | null;
	deciders: string[];
	ttlMs: number;
}

/** Records a pending request; undefined when this tool call already has one (a repeated PreToolUse). */
export async function insertPending(tx: Queryable, a: NewApproval): Promise<Approval | undefined> {
	const { rows } = await tx.query<Row>(
		`INSERT INTO approvals AS a (id, session_id, tool_use_id, tool_name, tool_input, rule, thread_key, deciders, expires_at, call_digest)
		VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8::jsonb, now() + make_interval(secs => $9::double precision / 1000), $10)
		ON CONFLICT (session_id, tool_use_id) DO NOTHING
		RETURNING ${COLUMNS}`,
		[
			a.id,
			a.sessionId,
			a.toolUseId,
			a.toolName,
			JSON.stringify(a.toolInput ?? null),
			a.rule,
			a.threadKey,
			JSON.stringify(a.deciders),
			a.ttlMs,
			a.callDigest,
		],
	);
	return rows[0] ? toApproval(rows[0]) : undefined;
}

export async function getApproval(
	db: Queryable,
	id: string,
	opts: { forUpdate?: boolean } = {},
): Promise<Approval | undefined> {
	const { rows } = await db.query<Row>(
		`SELECT ${COLUMNS} FROM approvals a WHERE a.id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`,
		[id],
	);
	return rows[0] ? toApproval(rows[0]) : undefined;
}

/**
 * Settles a pending request once: with the person's decision, or as expired when it is past its expiry.
 * Returns the settled row, or undefined when it was not pending any more (someone settled it first).
 */
export async function settle(
	tx: Queryable,
	id: string,
	decision:
		| { status: 'approved' | 'denied'; by: string; channel: string; note?: string }
		| { status: 'expired' },
): Promise<Approval | undefined> {
	const person = decision.status === 'expired' ? undefined : decision;
	const { rows } = await tx.query<Row>(
		`UPDATE approvals a SET
			status = CASE WHEN a.expires_at <= now() THEN 'expired' ELSE $2 END,
			decided_at = now(),
			decided_by = CASE WHEN a.expires_at <= now() THEN NULL ELSE $3 END,
			channel = CASE WHEN a.expires_at <= now() THEN NULL ELSE $4 END,
			note = CASE WHEN a.expires_at <= now() THEN NULL ELSE $5 END
		WHERE a.id = $1 AND a.status = 'pending' AND ($2 <> 'expired' OR a.expires_at <= now())
		RETURNING ${COLUMNS}`,
		[id, decision.status, person?.by ?? null, person?.channel ?? null, person?.note ?? null],
	);
	return rows[0] ? toApproval(rows[0]) : undefined;
}

/** Someone the policy does not name tried to decide: kept for the decision history, capped. */
export async function recordRefusal(
	db: Queryable,
	id: string,
	by: string,
	channel: string,
): Promise<void> {
	await db.query(
		`UPDATE approvals SET refusals = CASE WHEN jsonb_array_length(refusals) >= 50 THEN refusals
			ELSE refusals || jsonb_build_array(jsonb_build_object('by', $2::text, 'channel', $3::text, 'at', now())) END
		WHERE id = $1`,
		[id, by, channel],
	);
}

export interface ApprovalFilter {
	sessionId?: string;
	status?: ApprovalStatus;
	toolUseId?: string;
	limit: number;
	/** Keyset: (requested_at, id) of the last row of the previous page; newest first. */
	after?: { t: string; id: string };
	/** About the most a page carries in tool inputs and notes (at least one row). */
	maxBytes?: number;
}

export async function listApprovals(db: Queryable, f: ApprovalFilter) {
	const { rows, more } = await readBoundedPage<Row>(db, {
		sql: `SELECT ${COLUMNS} FROM approvals a
			WHERE ($1::uuid IS NULL OR a.session_id = $1) AND ($2::text IS NULL OR ${EFFECTIVE_STATUS} = $2)
				AND ($3::text IS NULL OR a.tool_use_id = $3)
				AND ($4::timestamptz IS NULL OR (a.requested_at, a.id) < ($4::timestamptz, $5::uuid))
			ORDER BY a.requested_at DESC, a.id DESC LIMIT $6`,
		params: [
			f.sessionId ?? null,
			f.status ?? null,
			f.toolUseId ?? null,
			f.after?.t ?? null,
			f.after?.id ?? null,
			f.limit + 1,
		],
		sizeExpr: 'COALESCE(octet_length(tool_input::text), 0) + COALESCE(octet_length(note), 0)',
		order: 'requested_at DESC, id DESC',
		limit: f.limit + 1,
		maxBytes: f.maxBytes,
	});
	return keysetPage(rows, f.limit, more, toApproval);
}

/** An approval of an imported session, as exported. */
export function importApproval(tx: Queryable, values: Record<string, unknown>): Promise<void> {
	return insertImportedRow(tx, 'approvals', values);
}
