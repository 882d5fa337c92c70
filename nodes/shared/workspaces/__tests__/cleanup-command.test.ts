import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
	CleanupUsageError,
	runCleanupWorktrees,
	type CleanupWorktreesArgs,
} from '../cleanup-command';
import { git, makeRepoWithOrigin } from '../../../../test/support/git';
import { tempDir } from '../../../../test/support/temp';
import { api, startTestService, type TestService } from '../../../../test/support/test-service';

// `n8n-nodes-claude-orchestrator cleanup-worktrees` against the real service and real git worktrees: what a team
// runs on each n8n host to clear the worktrees of finished sessions. The sessions are recorded as Claude Session
// Start records them; the rules of what may go are tested with real claude runs in reliability-cleanup.test.ts.
const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`cleanup-worktrees command (${kind})`, () => {
	let svc: TestService;
	let tmp: { dir: string; remove(): void };
	let projects: string;
	let repo: string;

	beforeAll(async () => {
		svc = await startTestService(kind);
		tmp = tempDir('orch-cleanup-cli');
		projects = path.join(tmp.dir, 'projects');
		repo = makeRepoWithOrigin(
			path.join(projects, 'app'),
			path.join(tmp.dir, 'origins', 'app.git'),
		).path;
	}, 60_000);
	afterAll(async () => {
		await svc?.stop();
		tmp?.remove();
	});

	const env = () => ({ API_KEY: svc.apiKey, CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS: projects });
	/** A worktree session as Claude Session Start leaves it: a branch and folder of its own, the service's record. */
	async function session(status: string, opts: { dirty?: boolean } = {}) {
		const id = crypto.randomUUID();
		const wt = path.join(projects, '.worktrees', id);
		const branch = `claude/${id.slice(0, 8)}`;
		git(repo, 'worktree', 'add', '-q', '-b', branch, wt);
		if (opts.dirty) fs.writeFileSync(path.join(wt, 'draft.md'), 'half done');
		const res = await api(svc, 'POST', '/api/v1/sessions', {
			id,
			status,
			workspaceType: 'worktree',
			workspacePath: wt,
			workspaceBranch: branch,
		});
		expect(res.status).toBe(201);
		return { id, path: wt, branch };
	}
	async function run(args: Partial<CleanupWorktreesArgs>, environment: NodeJS.ProcessEnv = env()) {
		const lines: string[] = [];
		const code = await runCleanupWorktrees(
			{ serviceUrl: svc.url, sessionIds: [], dryRun: false, json: false, ...args },
			environment,
			(l) => lines.push(l),
		);
		return { code, out: lines.join('\n') };
	}

	it('lists in a dry run what it would remove and changes nothing; then removes finished, clean worktrees and keeps the rest', async () => {
		const done = await session('completed');
		const failed = await session('failed');
		const running = await session('running');
		const dirty = await session('completed', { dirty: true });
		const ours = [done, failed, running, dirty].map((s) => s.id);

		const dry = await run({ olderThan: '0', sessionIds: ours, dryRun: true });
		expect(dry.code).toBe(0);
		expect(dry.out).toContain(
			`would remove  ${done.id}  ${done.path}  (branch ${done.branch} would be kept)`,
		);
		expect(dry.out).toContain(`would remove  ${failed.id}  ${failed.path}`);
		expect(dry.out).toContain(
			`kept          ${running.id}  ${running.path}: session status is "running", not finished`,
		);
		expect(dry.out).toMatch(
			new RegExp(`kept {10}${dirty.id} {2}.*: 1 uncommitted change\\(s\\): draft\\.md`),
		);
		expect(dry.out).toContain(
			'2 would be removed, 2 kept, 0 not on this host (dry run: nothing was changed)',
		);
		for (const s of [done, failed, running, dirty]) expect(fs.existsSync(s.path)).toBe(true);

		const real = await run({ olderThan: '0', sessionIds: ours });
		expect(real.out).toContain(
			`removed       ${done.id}  ${done.path}  (branch ${done.branch} kept)`,
		);
		expect(real.out).toContain('2 removed, 2 kept, 0 not on this host');
		for (const s of [done, failed]) expect(fs.existsSync(s.path)).toBe(false);
		for (const s of [running, dirty]) expect(fs.existsSync(s.path)).toBe(true);
		expect(fs.readFileSync(path.join(dirty.path, 'draft.md'), 'utf8')).toBe('half done');
		// Branches stay: they hold the sessions' commits. git forgot the removed worktrees.
		expect(git(repo, 'branch', '--list', done.branch)).toContain(done.branch);
		expect(git(repo, 'worktree', 'list', '--porcelain')).not.toContain(done.path);

		// Run again (another host, or a second pass): the removed ones are simply not here.
		const again = await run({ olderThan: '0', sessionIds: ours, json: true });
		const report = JSON.parse(again.out);
		expect(report.removed).toEqual([]);
		expect(report.missing.map((m: { sessionId: string }) => m.sessionId).sort()).toEqual(
			[done.id, failed.id].sort(),
		);
	});

	it('keeps sessions active within --older-than (7 days unless told), since a thread may still resume them', async () => {
		const recent = await session('completed');
		const byDefault = await run({ sessionIds: [recent.id] });
		expect(byDefault.out).toMatch(
			new RegExp(`kept {10}${recent.id} .*session was active \\d+ s ago \\(less than 604800 s\\)`),
		);
		const hour = await run({ sessionIds: [recent.id], olderThan: '1h' });
		expect(hour.out).toMatch(/less than 3600 s/);
		expect(fs.existsSync(recent.path)).toBe(true);
	});

	it('refuses bad options and a wrong key with a message, before it touches anything', async () => {
		const s = await session('completed');
		await expect(run({ olderThan: 'soon', sessionIds: [s.id] })).rejects.toThrow(
			new CleanupUsageError('--older-than takes a duration such as 0, 30m, 12h or 7d, not "soon"'),
		);
		await expect(run({ sessionIds: ['not-a-uuid'] })).rejects.toThrow(
			/--session takes a session uuid, not "not-a-uuid"/,
		);
		await expect(run({ serviceUrl: 'ftp://x', sessionIds: [s.id] })).rejects.toThrow(
			/must be http or https/,
		);
		const noKey = {
			CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS: projects,
			DATA_DIR: path.join(tmp.dir, 'no-data'),
		};
		await expect(run({ olderThan: '0', sessionIds: [s.id] }, noKey)).rejects.toThrow(/set API_KEY/);
		await expect(
			run({ olderThan: '0', sessionIds: [s.id] }, { ...env(), API_KEY: 'wrong-key-0123456789' }),
		).rejects.toThrow(/401/);
		await expect(
			run({ olderThan: '0', sessionIds: [s.id], serviceUrl: 'http://127.0.0.1:9' }),
		).rejects.toThrow(
			/^cannot reach the service at http:\/\/127\.0\.0\.1:9 \(.+\); pass --service-url/,
		);
		expect(fs.existsSync(s.path)).toBe(true);
	});
});
