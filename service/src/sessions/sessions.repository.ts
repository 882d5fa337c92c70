import { insertImportedRow } from '../db/imported-row';
import type { Queryable } from '../db';
import type { HookTokenState } from '../http/auth';
import type { z } from 'zod';
import type { CreateSessionBody, RunBody, UpdateSessionBody } from './sessions.schema';
import { scrubValue } from '../scrub';
import type { Session } from '../../../nodes/shared/protocol';

type Row = Record<string, any>;

export const SESSION_COLUMNS = `s.id, s.origin, s.status, s.workspace_type, s.workspace_path, s.workspace_branch, s.sandbox_id, s.repository,
	s.model, s.prompt, s.cli_version, s.thread_key, s.result, s.is_error, s.subtype, s.terminal_reason, s.error_message,
	s.permission_denials, s.cost_usd, s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_creation_tokens,
	s.num_turns, s.duration_ms, s.run_count, s.hook_event_count, s.hooks_missing, s.metadata, s.created_at, s.updated_at,
	s.started_at, s.ended_at, s.last_activity_at, s.created_at::text AS cursor_t`;

export function toSession(r: Row): Session<Date> {
	return {
		id: r.id,
		origin: r.origin,
		status: r.status,
		workspace: {
			type: r.workspace_type,
			path: r.workspace_path,
			branch: r.workspace_branch,
			sandboxId: r.sandbox_id,
		},
		repository: r.repository,
		model: r.model,
		prompt: r.prompt,
		cliVersion: r.cli_version,
		threadKey: r.thread_key,
		result: r.result,
		isError: r.is_error,
		subtype: r.subtype,
		terminalReason: r.terminal_reason,
		errorMessage: r.error_message,
		permissionDenials: r.permission_denials,
		costUsd: r.cost_usd,
		usage: {
			inputTokens: r.input_tokens,
			outputTokens: r.output_tokens,
			cacheReadInputTokens: r.cache_read_tokens,
			cacheCreationInputTokens: r.cache_creation_tokens,
		},
		numTurns: r.num_turns,
		durationMs: r.duration_ms,
		runCount: r.run_count,
		hookEventCount: r.hook_event_count,
		hooksHealth: r.hooks_missing ? 'missing' : r.hook_event_count > 0 ? 'ok' : 'none',
		metadata: r.metadata,
		createdAt: r.created_at,
		updatedAt: r.updated_at,
		startedAt: r.started_at,
		endedAt: r.ended_at,
		lastActivityAt: r.last_activity_at,
	};
}

export async function createSession(
	db: Queryable,
	id: string,
	b: z.output<typeof CreateSessionBody>,
) {
	const { rows } = await db.query(
		`INSERT INTO sessions AS s (id, status, workspace_type, workspace_path, workspace_branch, sandbox_id, repository, model,
			prompt, cli_version, thread_key, metadata)
		VALUES ($1, COALESCE($2, 'created'), $3, $4, $5, $6, $7, $8, $9, $10, $11, COALESCE($12::jsonb, '{}'::jsonb))
		ON CONFLICT (id) DO NOTHING
		RETURNING ${SESSION_COLUMNS}`,
		[
			id,
			b.status,
			b.workspaceType,
			b.workspacePath,
			b.workspaceBranch,
			b.sandboxId,
			b.repository,
			b.model,
			b.prompt,
			b.cliVersion,
			b.threadKey,
			b.metadata ? JSON.stringify(scrubValue(b.metadata, 64 * 1024).value) : null,
		],
	);
	return rows[0] ? toSession(rows[0]) : undefined;
}

export async function getSession(db: Queryable, id: string) {
	const { rows } = await db.query(`SELECT ${SESSION_COLUMNS} FROM sessions s WHERE s.id = $1`, [
		id,
	]);
	return rows[0] ? toSession(rows[0]) : undefined;
}

/** A session with the totals the detail view shows: tool calls, failures, messages. */
export async function getSessionDetail(db: Queryable, id: string) {
	const { rows } = await db.query(
		`SELECT ${SESSION_COLUMNS},
			(SELECT count(*)::int FROM tool_calls t WHERE t.session_id = s.id) AS tool_calls,
			(SELECT count(*)::int FROM tool_calls t WHERE t.session_id = s.id AND t.status IN ('failed', 'denied')) AS tool_errors,
			(SELECT count(*)::int FROM session_messages m WHERE m.session_id = s.id) AS messages
		FROM sessions s WHERE s.id = $1`,
		[id],
	);
	const r = rows[0];
	if (!r) return undefined;
	return {
		...toSession(r),
		totals: {
			toolCalls: r.tool_calls,
			toolErrors: r.tool_errors,
			messages: r.messages,
			hookEvents: r.hook_event_count,
		},
	};
}

export async function updateSession(
	db: Queryable,
	id: string,
	b: z.output<typeof UpdateSessionBody>,
) {
	// Each field maps to one column; absent fields keep their value (COALESCE on a flag, so null can clear).
	const cols: Array<[keyof typeof b, string]> = [
		['status', 'status'],
		['workspaceType', 'workspace_type'],
		['workspacePath', 'workspace_path'],
		['workspaceBranch', 'workspace_branch'],
		['sandboxId', 'sandbox_id'],
		['repository', 'repository'],
		['model', 'model'],
		['prompt', 'prompt'],
		['cliVersion', 'cli_version'],
		['result', 'result'],
		['isError', 'is_error'],
		['subtype', 'subtype'],
		['terminalReason', 'terminal_reason'],
		['errorMessage', 'error_message'],
		['hooksMissing', 'hooks_missing'],
	];
	const sets: string[] = [];
	const params: unknown[] = [id];
	for (const [key, col] of cols) {
		if (b[key] === undefined) continue;
		params.push(b[key]);
		sets.push(`${col} = $${params.length}`);
	}
	if (b.metadata) {
		params.push(JSON.stringify(scrubValue(b.metadata, 64 * 1024).value));
		sets.push(`metadata = s.metadata || $${params.length}::jsonb`);
	}
	const { rows } = await db.query(
		`UPDATE sessions s SET ${sets.join(', ')}, updated_at = now(), last_activity_at = now() WHERE s.id = $1 RETURNING ${SESSION_COLUMNS}`,
		params,
	);
	return rows[0] ? toSession(rows[0]) : undefined;
}

/** Records a run and recomputes the session's totals and latest outcome from all its runs, in one transaction. */
export async function upsertRun(
	tx: Queryable,
	sessionId: string,
	runId: string,
	b: z.output<typeof RunBody>,
) {
	const usage = (b.usage ?? {}) as Record<string, unknown>;
	const inserted = await tx.query(
		`INSERT INTO session_runs AS r (id, session_id, kind, status, prompt, result, is_error, subtype, terminal_reason,
			error_message, cost_usd, usage, model_usage, num_turns, duration_ms, permission_denials, cli_version, exit_code,
			started_at, ended_at, status_message)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14, $15, $16::jsonb, $17, $18,
			COALESCE($19::timestamptz, now()), $20::timestamptz, $21)
		ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, result = EXCLUDED.result, is_error = EXCLUDED.is_error,
			subtype = EXCLUDED.subtype, terminal_reason = EXCLUDED.terminal_reason, error_message = EXCLUDED.error_message,
			cost_usd = EXCLUDED.cost_usd, usage = EXCLUDED.usage, model_usage = EXCLUDED.model_usage,
			num_turns = EXCLUDED.num_turns, duration_ms = EXCLUDED.duration_ms, permission_denials = EXCLUDED.permission_denials,
			cli_version = COALESCE(EXCLUDED.cli_version, r.cli_version), exit_code = EXCLUDED.exit_code,
			ended_at = EXCLUDED.ended_at, prompt = COALESCE(r.prompt, EXCLUDED.prompt),
			status_message = COALESCE(r.status_message, EXCLUDED.status_message)
		WHERE r.session_id = EXCLUDED.session_id
		RETURNING id`,
		[
			runId,
			sessionId,
			b.kind,
			b.status,
			b.prompt,
			b.result,
			b.isError,
			b.subtype,
			b.terminalReason,
			b.errorMessage,
			b.costUsd,
			b.usage ? JSON.stringify(scrubValue(usage, 64 * 1024).value) : null,
			b.modelUsage ? JSON.stringify(scrubValue(b.modelUsage, 64 * 1024).value) : null,
			b.numTurns,
			b.durationMs,
			JSON.stringify(scrubValue(b.permissionDenials, 64 * 1024).value),
			b.cliVersion,
			b.exitCode,
			b.startedAt,
			b.endedAt,
			b.statusMessage ?? null,
		],
	);
	if (!inserted.rows.length) return 'run-belongs-to-another-session' as const;
	const { rows } = await tx.query(
		`WITH totals AS (
			SELECT count(*)::int AS runs, COALESCE(sum(cost_usd), 0) AS cost, COALESCE(sum(num_turns), 0)::int AS turns,
				COALESCE(sum(duration_ms), 0)::bigint AS duration,
				COALESCE(sum((usage->>'input_tokens')::bigint), 0) AS input_tokens,
				COALESCE(sum((usage->>'output_tokens')::bigint), 0) AS output_tokens,
				COALESCE(sum((usage->>'cache_read_input_tokens')::bigint), 0) AS cache_read,
				COALESCE(sum((usage->>'cache_creation_input_tokens')::bigint), 0) AS cache_creation,
				min(started_at) AS first_start
			FROM session_runs WHERE session_id = $1),
		latest AS (SELECT * FROM session_runs WHERE session_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1)
		UPDATE sessions s SET run_count = t.runs, cost_usd = t.cost, num_turns = t.turns, duration_ms = t.duration,
			input_tokens = t.input_tokens, output_tokens = t.output_tokens, cache_read_tokens = t.cache_read,
			cache_creation_tokens = t.cache_creation, started_at = COALESCE(s.started_at, t.first_start),
			status = l.status, result = l.result, is_error = l.is_error, subtype = l.subtype, terminal_reason = l.terminal_reason,
			error_message = l.error_message, permission_denials = l.permission_denials,
			cli_version = COALESCE(l.cli_version, s.cli_version), ended_at = l.ended_at,
			prompt = COALESCE(s.prompt, l.prompt), updated_at = now(), last_activity_at = now()
		FROM totals t, latest l WHERE s.id = $1
		RETURNING ${SESSION_COLUMNS}`,
		[sessionId],
	);
	return rows[0] ? toSession(rows[0]) : undefined;
}

/** When the run started, or undefined when it is not recorded. */
export async function runStartedAt(db: Queryable, runId: string): Promise<Date | undefined> {
	const { rows } = await db.query<{ started_at: Date }>(
		'SELECT started_at FROM session_runs WHERE id = $1',
		[runId],
	);
	return rows[0] ? new Date(rows[0].started_at) : undefined;
}

/** A run's status as stored (undefined: not recorded yet), locked until the caller's transaction ends. */
export async function runStatusForUpdate(
	tx: Queryable,
	sessionId: string,
	runId: string,
): Promise<string | undefined> {
	const { rows } = await tx.query<{ status: string }>(
		'SELECT status FROM session_runs WHERE id = $1 AND session_id = $2 FOR UPDATE',
		[runId, sessionId],
	);
	return rows[0]?.status;
}

export async function listRuns(db: Queryable, sessionId: string) {
	const { rows } = await db.query(
		`SELECT id, kind, status, prompt, result, is_error, subtype, terminal_reason, error_message, cost_usd, usage, model_usage,
			num_turns, duration_ms, permission_denials, cli_version, exit_code, started_at, ended_at, status_message
		FROM session_runs WHERE session_id = $1 ORDER BY started_at, id`,
		[sessionId],
	);
	return rows.map((r) => ({
		id: r.id,
		kind: r.kind,
		status: r.status,
		prompt: r.prompt,
		result: r.result,
		isError: r.is_error,
		subtype: r.subtype,
		terminalReason: r.terminal_reason,
		errorMessage: r.error_message,
		costUsd: r.cost_usd,
		usage: r.usage,
		modelUsage: r.model_usage,
		numTurns: r.num_turns,
		durationMs: r.duration_ms,
		permissionDenials: r.permission_denials,
		cliVersion: r.cli_version,
		exitCode: r.exit_code,
		startedAt: r.started_at,
		endedAt: r.ended_at,
		statusMessage: r.status_message,
	}));
}

/** The thread key a session answers to (the last thread bound to it). */
export async function setThreadKey(db: Queryable, id: string, key: string): Promise<void> {
	await db.query('UPDATE sessions SET thread_key = $2, updated_at = now() WHERE id = $1', [
		id,
		key,
	]);
}

/** An imported session's row, as exported. */
export function importSessionRow(tx: Queryable, values: Record<string, unknown>): Promise<void> {
	return insertImportedRow(tx, 'sessions', values);
}

/** A run of an imported session, as exported. */
export function importRun(tx: Queryable, values: Record<string, unknown>): Promise<void> {
	return insertImportedRow(tx, 'session_runs', values);
}

/** Removes a session and, by cascade, everything recorded for it (an import replacing it). */
export async function deleteSession(tx: Queryable, id: string): Promise<void> {
	await tx.query('DELETE FROM sessions WHERE id = $1', [id]);
}

/** The session's approval policy (null removes it); false when there is no such session. */
export async function setApprovalPolicy(
	db: Queryable,
	id: string,
	policy: unknown,
): Promise<boolean> {
	const { rowCount } = await db.query(
		'UPDATE sessions SET approval_policy = $2::jsonb, updated_at = now() WHERE id = $1',
		[id, policy ? JSON.stringify(policy) : null],
	);
	return rowCount > 0;
}

/** Something happened in the session now (a message was recorded). */
export async function touchSession(db: Queryable, id: string): Promise<void> {
	await db.query('UPDATE sessions SET last_activity_at = now() WHERE id = $1', [id]);
}

/**
 * Ends the session's running runs and the session itself with `status` and `reason`, as a run whose worker is
 * gone: its lease is dropped and its hook tokens take nothing more (migration 008). Returns the runs it ended.
 */
export async function endAbandonedRun(
	tx: Queryable,
	id: string,
	status: string,
	reason: string,
): Promise<string[]> {
	const runs = await tx.query<{ id: string }>(
		`UPDATE session_runs SET status = $2, is_error = true, error_message = $3, ended_at = now()
		WHERE session_id = $1 AND status = 'running' RETURNING id`,
		[id, status, reason],
	);
	await tx.query(
		`UPDATE sessions SET status = $2, is_error = true, error_message = $3, ended_at = now(), lease_owner = NULL,
			lease_expires_at = NULL, updated_at = now(), last_activity_at = now(),
			hook_tokens_end_at = COALESCE(hook_tokens_end_at, now())
		WHERE id = $1`,
		[id, status, reason],
	);
	return runs.rows.map((r) => r.id);
}

// One turn at a time per session, across every n8n process: a run holds a lease on its session and renews it
// while claude runs. A crashed holder's lease simply expires.

export type LeaseResult =
	| { ok: true; owner: string; expiresAt: Date }
	| { ok: false; reason: 'not-found' }
	| { ok: false; reason: 'busy'; owner: string; expiresAt: Date };

export async function acquireLease(
	db: Queryable,
	sessionId: string,
	owner: string,
	ttlSeconds: number,
): Promise<LeaseResult> {
	const { rows } = await db.query<{ lease_owner: string; lease_expires_at: Date }>(
		`UPDATE sessions SET lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3)
		WHERE id = $1 AND (lease_owner IS NULL OR lease_expires_at < now() OR lease_owner = $2)
		RETURNING lease_owner, lease_expires_at`,
		[sessionId, owner, ttlSeconds],
	);
	if (rows[0]) return { ok: true, owner: rows[0].lease_owner, expiresAt: rows[0].lease_expires_at };
	const current = await db.query<{ lease_owner: string; lease_expires_at: Date }>(
		'SELECT lease_owner, lease_expires_at FROM sessions WHERE id = $1',
		[sessionId],
	);
	if (!current.rows[0]) return { ok: false, reason: 'not-found' };
	return {
		ok: false,
		reason: 'busy',
		owner: current.rows[0].lease_owner,
		expiresAt: current.rows[0].lease_expires_at,
	};
}

export async function releaseLease(
	db: Queryable,
	sessionId: string,
	owner: string,
): Promise<boolean> {
	const res = await db.query(
		'UPDATE sessions SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2',
		[sessionId, owner],
	);
	return res.rowCount > 0;
}

export interface ExpiredLease {
	id: string;
	status: string;
	lease_owner: string;
	lease_expires_at: Date;
}

/**
 * Up to `limit` sessions whose lease ran out, locked for the caller's transaction. Several replicas may sweep at
 * once: SKIP LOCKED gives each row to one of them, and a lease renewed meanwhile is no longer expired.
 */
export async function takeExpiredLeases(tx: Queryable, limit: number): Promise<ExpiredLease[]> {
	const { rows } = await tx.query<ExpiredLease>(
		`SELECT id, status, lease_owner, lease_expires_at FROM sessions
		WHERE lease_owner IS NOT NULL AND lease_expires_at < now()
		ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
		[limit],
	);
	return rows;
}

/** Drops the session's lease whoever holds it (a claim that lapsed before its run started). */
export async function dropLease(tx: Queryable, sessionId: string): Promise<void> {
	await tx.query('UPDATE sessions SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1', [
		sessionId,
	]);
}

/**
 * Moves the session's token generation on (earlier tokens stop working) and reopens it for a new run; the
 * generation to sign into the new token and the session's lease holder (while its lease lasts), or undefined when there is no such session.
 */
export async function nextHookTokenGeneration(
	db: Queryable,
	sessionId: string,
): Promise<{ generation: number; leaseOwner: string | null } | undefined> {
	const { rows } = await db.query<{ generation: number; lease_owner: string | null }>(
		`UPDATE sessions SET hook_token_generation = hook_token_generation + 1, hook_tokens_end_at = NULL
		WHERE id = $1
		RETURNING hook_token_generation AS generation,
			CASE WHEN lease_expires_at > now() THEN lease_owner END AS lease_owner`,
		[sessionId],
	);
	const r = rows[0];
	return r ? { generation: r.generation, leaseOwner: r.lease_owner } : undefined;
}

/** The run ended: its token takes hooks for the grace period more, then none (set once: a repeated end does not extend it). */
export async function endHookTokens(
	db: Queryable,
	sessionId: string,
	graceMs: number,
): Promise<void> {
	await db.query(
		`UPDATE sessions SET hook_tokens_end_at = now() + make_interval(secs => $2::double precision / 1000)
		WHERE id = $1 AND hook_tokens_end_at IS NULL`,
		[sessionId, graceMs],
	);
}

export async function readHookTokenState(
	db: Queryable,
	sessionId: string,
): Promise<HookTokenState | undefined> {
	const { rows } = await db.query<{
		hook_token_generation: number;
		hook_tokens_end_at: Date | null;
	}>(
		'SELECT hook_token_generation, hook_tokens_end_at FROM sessions WHERE id = $1',
		[sessionId],
		'hook-token-state',
	);
	const r = rows[0];
	return r
		? {
				generation: r.hook_token_generation,
				endsAt: r.hook_tokens_end_at ? new Date(r.hook_tokens_end_at) : null,
			}
		: undefined;
}

/*
 * Hook ingestion writes a batch's sessions in the statement that stores its events (hooks.repository.ts
 * insertHookEvents, one round trip): these are its two session writes. `activity` is a parameter holding a JSON
 * array of { id, origin, cwd, n, at, status, hooks, prompt }, one per session the batch names.
 */

/** Inserts the sessions not seen before (an unknown id becomes a row with its counts already set), when `when` holds. */
export function hookSessionsInsertSql(activity: string, when: string): string {
	return `INSERT INTO sessions (id, origin, status, workspace_type, workspace_path, hook_event_count, last_activity_at, prompt)
			SELECT (r->>'id')::uuid, r->>'origin', CASE WHEN r->>'origin' = 'external' THEN r->>'status' ELSE 'created' END,
				CASE WHEN r->>'origin' = 'external' THEN 'external' END, r->>'cwd', (r->>'n')::integer, (r->>'at')::timestamptz,
				r->>'prompt'
			FROM jsonb_array_elements(${activity}::jsonb) r
			WHERE ${when}
			ON CONFLICT (id) DO NOTHING`;
}

/** Adds the events a CTE named `events` stored (session_id per row) to the counts and activity of sessions that existed before. */
export function hookActivityUpdateSql(activity: string, events: string): string {
	return `UPDATE sessions s SET
				hook_event_count = s.hook_event_count + c.n,
				hooks_missing = s.hooks_missing AND NOT (a->>'hooks')::boolean,
				last_activity_at = GREATEST(s.last_activity_at, (a->>'at')::timestamptz),
				status = CASE WHEN s.origin = 'external' THEN a->>'status' ELSE s.status END,
				prompt = COALESCE(s.prompt, a->>'prompt'),
				updated_at = now()
			FROM (SELECT session_id, count(*)::integer AS n FROM ${events} GROUP BY session_id) c,
				jsonb_array_elements(${activity}::jsonb) a
			WHERE s.id = c.session_id AND (a->>'id')::uuid = c.session_id`;
}
