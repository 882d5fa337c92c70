import crypto from 'node:crypto';
import os from 'node:os';
import type { Page, Session } from '../protocol';
import { httpStatusOf, type OrchestratorClient } from '../session/client';
import { WorkspaceError } from './errors';
import { pathExists } from './local';
import { cleanupWorktree, reopenWorktree } from './worktree';

// Cleaning up session worktrees with the service's knowledge, not only git's: cleanupWorktree alone keeps
// uncommitted and unpushed work, but cannot know that a run is busy in a worktree right now (a clean worktree
// whose claude is about to write its first file looks exactly like a finished one). Here each session is claimed
// with the same lease a run takes before anything is removed, so no run can start in a worktree while it goes,
// and a session a run holds, or one that is not finished, is kept and reported.

/** Statuses of a session that is over: its worktree may go. Anything else (running, created, waiting…) stays. */
export const FINISHED_STATUSES = [
	'completed',
	'failed',
	'timed_out',
	'cancelled',
	'interrupted',
	'stopped',
] as const satisfies readonly Session['status'][];

export interface CleanupSessionsOptions {
	/** Folders the worktrees' repositories must be in (as for creating them); worktrees elsewhere are not touched. */
	allowedRoots: readonly string[];
	/** These sessions only; default every worktree session the service knows. */
	sessionIds?: string[];
	/** Keep sessions active more recently than this (a finished session may still be resumed from its thread). */
	minIdleMs?: number;
	/** Check everything (the record, the lease, git) but remove nothing: what would go is listed in `wouldRemove`. */
	dryRun?: boolean;
	/** Lease time-to-live while a worktree is removed; the lease is released right after. */
	leaseTtlSeconds?: number;
	now?: () => number;
}

export interface CleanupReport {
	removed: Array<{ sessionId: string; path: string; branch?: string }>;
	/** With `dryRun`: what would have been removed. */
	wouldRemove: Array<{ sessionId: string; path: string; branch?: string }>;
	/** Kept, with every reason; nothing in these folders was changed. */
	kept: Array<{ sessionId: string; path: string | null; reasons: string[] }>;
	/** The worktree folder was already gone. */
	missing: Array<{ sessionId: string; path: string }>;
}

/** What cleanup reads of a session; `unknown` stands for an id the service does not know. */
type StoredSession = Pick<Session, 'id' | 'lastActivityAt'> & {
	status: Session['status'] | 'unknown';
	workspace: Omit<Session['workspace'], 'sandboxId'>;
};

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function listWorktreeSessions(client: OrchestratorClient): Promise<StoredSession[]> {
	const out: StoredSession[] = [];
	let cursor: string | undefined;
	do {
		const page = await client.request<Page<StoredSession>>('GET', '/api/v1/sessions', undefined, {
			workspaceType: 'worktree',
			limit: 200,
			...(cursor ? { cursor } : {}),
		});
		out.push(...page.items);
		cursor = page.nextCursor ?? undefined;
	} while (cursor);
	return out;
}

/** Why a session's worktree must stay, judged from the service's record alone (no lease, no git yet). */
function recordReasons(s: StoredSession, opts: CleanupSessionsOptions): string[] {
	const reasons: string[] = [];
	if (!(FINISHED_STATUSES as readonly string[]).includes(s.status)) {
		reasons.push(`session status is "${s.status}", not finished (${FINISHED_STATUSES.join(', ')})`);
	}
	if (opts.minIdleMs && s.lastActivityAt) {
		const idle = (opts.now ?? Date.now)() - Date.parse(s.lastActivityAt);
		if (idle < opts.minIdleMs)
			reasons.push(
				`session was active ${Math.round(idle / 1000)} s ago (less than ${Math.round(opts.minIdleMs / 1000)} s)`,
			);
	}
	return reasons;
}

/**
 * Removes the worktrees of finished sessions. Per session: its record must say finished; then its lease is
 * taken (a run holding it means it is running: kept); with the lease held the record is read again; then
 * cleanupWorktree removes the folder unless it has uncommitted changes or commits found on no other branch
 * or remote (kept, with git's reasons). Branches are never deleted. Failures are reported per session.
 */
export async function cleanupSessionWorktrees(
	client: OrchestratorClient,
	opts: CleanupSessionsOptions,
): Promise<CleanupReport> {
	const report: CleanupReport = { removed: [], wouldRemove: [], kept: [], missing: [] };
	const sessions = opts.sessionIds
		? await Promise.all(
				opts.sessionIds.map((id) =>
					client
						.request<StoredSession>('GET', `/api/v1/sessions/${encodeURIComponent(id)}`)
						.catch((error: unknown) => {
							if (httpStatusOf(error) === 404)
								return {
									id,
									status: 'unknown' as const,
									workspace: { type: null, path: null, branch: null },
									lastActivityAt: null,
								};
							throw error;
						}),
				),
			)
		: await listWorktreeSessions(client);
	const owner = `cleanup:${os.hostname()}:${process.pid}:${crypto.randomUUID()}`;

	// One at a time: removing worktrees of one repository goes through git's locks anyway.
	for (const s of sessions) {
		const path = s.workspace.path;
		if (s.workspace.type !== 'worktree' || !path) {
			report.kept.push({
				sessionId: s.id,
				path,
				reasons: [
					s.status === 'unknown' ? 'the service has no such session' : 'not a worktree session',
				],
			});
			continue;
		}
		if (!(await pathExists(path))) {
			report.missing.push({ sessionId: s.id, path });
			continue;
		}
		const early = recordReasons(s, opts);
		if (early.length) {
			report.kept.push({ sessionId: s.id, path, reasons: early });
			continue;
		}
		const leasePath = `/api/v1/sessions/${s.id}/lease`;
		try {
			await client.request('POST', leasePath, { owner, ttlSeconds: opts.leaseTtlSeconds ?? 60 });
		} catch (error) {
			const status = httpStatusOf(error);
			report.kept.push({
				sessionId: s.id,
				path,
				reasons: [
					status === 409
						? `a run holds the session right now: ${message(error)}`
						: `could not claim the session: ${message(error)}`,
				],
			});
			continue;
		}
		try {
			// A run may have started and ended between the first read and the claim: judge the current record.
			const current = await client.request<StoredSession>('GET', `/api/v1/sessions/${s.id}`);
			const reasons = recordReasons(current, opts);
			if (reasons.length) {
				report.kept.push({ sessionId: s.id, path, reasons });
				continue;
			}
			await reopenWorktree(path, opts.allowedRoots);
			const result = await cleanupWorktree(path, { force: false, dryRun: opts.dryRun });
			if (result.removed)
				report.removed.push({ sessionId: s.id, path: result.path, branch: result.branch });
			else if (opts.dryRun && !result.reasons.length)
				report.wouldRemove.push({ sessionId: s.id, path: result.path, branch: result.branch });
			else report.kept.push({ sessionId: s.id, path: result.path, reasons: result.reasons });
		} catch (error) {
			report.kept.push({
				sessionId: s.id,
				path,
				reasons: [
					error instanceof WorkspaceError ? error.message : `cleanup failed: ${message(error)}`,
				],
			});
		} finally {
			await client.request('DELETE', leasePath, undefined, { owner }).catch(() => undefined);
		}
	}
	return report;
}
