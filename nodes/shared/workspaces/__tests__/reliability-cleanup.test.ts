import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startTestService, type TestService } from '../../../../test/support/test-service';
import {
	claudeFixture,
	toolCalls,
	type ClaudeFixture,
} from '../../../../test/support/claude-fixture';
import { waitUntil } from '../../../../test/support/wait';
import { git } from '../../../../test/support/git';
import { fetchClient } from '../../session/fetch-client';
import type { OrchestratorClient } from '../../session/client';
import { claimSession } from '../../session/lease';
import { resumeSession, startSession, type SessionOutput } from '../../session/session-run';
import { cleanupSessionWorktrees } from '../cleanup-sessions';

// Cleaning up worktrees never takes one a session still needs: a run busy in it, uncommitted files, commits that
// exist nowhere else. Those are kept and reported; only finished, clean, pushed (or unchanged) ones go.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`worktree cleanup asks the service first (${kind})`, () => {
	let svc: TestService;
	let fx: ClaudeFixture;
	let client: OrchestratorClient;
	let repo: { path: string; origin: string };

	beforeAll(async () => {
		[svc, fx] = await Promise.all([startTestService(kind), claudeFixture('orch-cleanup')]);
		client = fetchClient(svc.url, svc.apiKey);
		repo = fx.repo('app');
	}, 180_000);
	afterAll(async () => {
		await svc?.stop();
		await fx?.close();
	});

	const start = (prompt: string, sessionId = crypto.randomUUID()) =>
		startSession(client, {
			sessionId,
			prompt,
			workspace: { type: 'worktree', baseRepository: repo.path },
			options: fx.options(),
			deps: fx.deps,
		});

	it('keeps running, dirty and unpushed worktrees and says why; removes the rest; the running one finishes intact', async () => {
		const [unchanged, dirty, unpushed, pushed, resuming, stale] = await Promise.all([
			start('[[read:README.md]]'),
			start('[[write:draft.md::half done]]'),
			start('[[write:done.md::done]]'),
			start('[[write:shipped.md::shipped]]'),
			start('[[read:README.md]]'),
			start('[[read:README.md]]'),
		]);
		for (const out of [unchanged, dirty, unpushed, pushed, resuming, stale])
			expect(out.status).toBe('completed');
		// The session's work committed, as a workflow step after the run would; one branch pushed, one not.
		git(unpushed.workspace.path, 'add', 'done.md');
		git(unpushed.workspace.path, 'commit', '-qm', 'done');
		git(pushed.workspace.path, 'add', 'shipped.md');
		git(pushed.workspace.path, 'commit', '-qm', 'shipped');
		git(pushed.workspace.path, 'push', '-q', 'origin', 'HEAD');
		// A finished session whose record still says running (its n8n died before writing the end): kept.
		await client.request('PATCH', `/api/v1/sessions/${stale.sessionId}`, { status: 'running' });
		// A Resume that has just claimed its session and not yet written "running": the lease says so.
		const resumeLease = await claimSession(client, resuming.sessionId, 1000);

		// A run busy in its worktree, between two tool calls: its folder is as clean as a finished one's.
		const busyId = crypto.randomUUID();
		const busy = start(
			'[[read:README.md]] [[delay:6000]] [[write:late.md::written after the cleanup]]',
			busyId,
		);
		expect(
			await waitUntil(
				async () => (await toolCalls(client, busyId).catch(() => [])).length === 1,
				60_000,
			),
		).toBe(true);
		const busyPath = path.join(fx.deps.worktreesDir, busyId);
		expect(git(busyPath, 'status', '--porcelain')).toBe('');

		const report = await cleanupSessionWorktrees(client, { allowedRoots: fx.deps.allowedRoots });
		await resumeLease.release();
		const keptFor = (out: { sessionId: string }) =>
			report.kept.find((k) => k.sessionId === out.sessionId)?.reasons;
		expect(report.removed.map((r) => r.sessionId).sort()).toEqual(
			[unchanged.sessionId, pushed.sessionId].sort(),
		);
		expect(keptFor({ sessionId: busyId })).toEqual([
			'session status is "running", not finished (completed, failed, timed_out, cancelled, interrupted, stopped)',
		]);
		expect(keptFor(stale)).toEqual([
			'session status is "running", not finished (completed, failed, timed_out, cancelled, interrupted, stopped)',
		]);
		expect(keptFor(resuming)).toEqual([
			expect.stringMatching(
				/^a run holds the session right now: .* is busy: another run \(.+\) holds it until/,
			),
		]);
		expect(keptFor(dirty)).toEqual([expect.stringMatching(/1 uncommitted change\(s\): draft\.md/)]);
		expect(keptFor(unpushed)).toEqual([
			expect.stringMatching(/1 commit\(s\) on "claude\/.*" are on no other branch or remote/),
		]);
		expect(report.kept).toHaveLength(5);

		// Kept means untouched: the folders, their files and git's record of them are all there.
		for (const out of [dirty, unpushed, stale, resuming] as SessionOutput[])
			expect(fs.existsSync(out.workspace.path)).toBe(true);
		expect(fs.readFileSync(path.join(dirty.workspace.path, 'draft.md'), 'utf8')).toBe('half done');
		for (const out of [unchanged, pushed]) expect(fs.existsSync(out.workspace.path)).toBe(false);
		// Removed worktrees keep their branches: that is where a session's commits live.
		expect(git(repo.path, 'branch', '--list', pushed.workspace.branch!)).toContain(
			pushed.workspace.branch!,
		);
		const listed = git(repo.path, 'worktree', 'list', '--porcelain');
		for (const out of [dirty, unpushed, stale, resuming])
			expect(listed).toContain(`worktree ${out.workspace.path}`);
		expect(listed).toContain(`worktree ${busyPath}`);
		expect(listed).not.toContain(unchanged.workspace.path);

		const finished = await busy;
		expect(finished.status).toBe('completed');
		expect(fs.readFileSync(path.join(busyPath, 'late.md'), 'utf8')).toBe(
			'written after the cleanup',
		);
		// The cleanup's claims are gone: a Resume gets the session at once.
		const resumed = await resumeSession(client, {
			sessionId: resuming.sessionId,
			prompt: '[[read:README.md]]',
			options: fx.options({ queueTimeoutSeconds: 1 }),
			deps: fx.deps,
		});
		expect(resumed.status).toBe('completed');

		// A removed session says clearly why it cannot be resumed, and a second cleanup finds it missing.
		await expect(
			resumeSession(client, {
				sessionId: unchanged.sessionId,
				prompt: 'x',
				options: fx.options(),
				deps: fx.deps,
			}),
		).rejects.toThrow(/does not exist on this worker \(host /);
		const again = await cleanupSessionWorktrees(client, {
			allowedRoots: fx.deps.allowedRoots,
			sessionIds: [unchanged.sessionId, crypto.randomUUID()],
		});
		expect(again.missing.map((m) => m.sessionId)).toEqual([unchanged.sessionId]);
		expect(again.kept.map((k) => k.reasons)).toEqual([['the service has no such session']]);
	}, 180_000);

	it('keeps recently active sessions when asked to, and never touches a worktree outside the allowed roots', async () => {
		const recent = await start('[[read:README.md]]');
		const young = await cleanupSessionWorktrees(client, {
			allowedRoots: fx.deps.allowedRoots,
			sessionIds: [recent.sessionId],
			minIdleMs: 3_600_000,
		});
		expect(young.kept[0].reasons).toEqual([expect.stringMatching(/^session was active \d+ s ago/)]);
		const elsewhere = await cleanupSessionWorktrees(client, {
			allowedRoots: [path.join(fx.root, 'somewhere-else')],
			sessionIds: [recent.sessionId],
		});
		expect(elsewhere.removed).toEqual([]);
		expect(elsewhere.kept[0].reasons).toEqual([expect.stringMatching(/outside the allowed roots/)]);
		expect(fs.existsSync(recent.workspace.path)).toBe(true);
	}, 180_000);
});
