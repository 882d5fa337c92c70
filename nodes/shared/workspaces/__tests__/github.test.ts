import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkspaceError } from '../errors';
import { cloneGithubRepository, reopenClone } from '../github';
import { git, makeRemote, type RemoteFixture } from '../../../../test/support/git';
import { pwnedMarker, tempDir } from '../../../../test/support/temp';
import { startGitHttpServer, type GitHttpServer } from './git-http-server';

describe('github workspaces (local bare repositories standing in for GitHub)', () => {
	const tmp = tempDir('ws-github');
	const remotes = path.join(tmp.dir, 'remotes');
	const remoteBaseUrl = pathToFileURL(remotes).href;
	const cacheDir = path.join(tmp.dir, 'cache');
	const workspacesDir = path.join(tmp.dir, 'workspaces');
	let remote: RemoteFixture;

	beforeAll(() => {
		remote = makeRemote(remotes, 'acme', 'widgets', 5);
	});
	afterAll(() => tmp.remove());

	const clone = (extra: Partial<Parameters<typeof cloneGithubRepository>[0]> = {}) =>
		cloneGithubRepository({
			repository: 'acme/widgets',
			sessionId: randomUUID(),
			remoteBaseUrl,
			cacheDir,
			workspacesDir,
			...extra,
		});

	it('clones shallow by default into <workspacesDir>/<sessionId>, with origin pointing at the real remote', async () => {
		const sessionId = randomUUID();
		const result = await clone({ sessionId });
		expect(result).toEqual({
			path: path.join(workspacesDir, sessionId),
			repository: 'acme/widgets',
			branch: 'main',
			mirror: 'created',
		});
		expect(git(result.path, 'rev-list', '--count', 'HEAD')).toBe('1');
		expect(git(result.path, 'rev-parse', '--is-shallow-repository')).toBe('true');
		expect(git(result.path, 'remote', 'get-url', 'origin')).toBe(
			`${remoteBaseUrl}/acme/widgets.git`,
		);
		expect(git(result.path, 'rev-parse', 'HEAD')).toBe(git(remote.bare, 'rev-parse', 'main'));
		expect(existsSync(path.join(cacheDir, 'acme', 'widgets.git', 'HEAD'))).toBe(true);
	});

	it('clones full history with shallow: false', async () => {
		const result = await clone({ shallow: false });
		expect(git(result.path, 'rev-list', '--count', 'HEAD')).toBe('5');
		expect(git(result.path, 'rev-parse', '--is-shallow-repository')).toBe('false');
	});

	it('checks out a branch that exists on the remote, and creates one that does not', async () => {
		const existing = await clone({ branch: 'feature/existing' });
		expect(existing.branch).toBe('feature/existing');
		expect(git(existing.path, 'rev-parse', '--abbrev-ref', '@{upstream}')).toBe(
			'origin/feature/existing',
		);

		const created = await clone({ branch: 'claude/new-work' });
		expect(created.branch).toBe('claude/new-work');
		expect(git(created.path, 'rev-parse', 'HEAD')).toBe(git(remote.bare, 'rev-parse', 'main'));
		expect(git(remote.bare, 'branch', '--list', 'claude/new-work')).toBe('');
	});

	it('reuses the mirror: the second clone fetches into it and sees new remote commits', async () => {
		const first = await clone();
		expect(first.mirror).toBe('updated');
		remote.pushCommit('later.txt', 'pushed after the mirror was made');
		const second = await clone();
		expect(second.mirror).toBe('updated');
		expect(existsSync(path.join(second.path, 'later.txt'))).toBe(true);
		expect(readdirSync(path.join(cacheDir, 'acme'))).toEqual(['widgets.git']);
	});

	it('gives each session its own folder and refuses to reuse one', async () => {
		const sessionId = randomUUID();
		await clone({ sessionId });
		const error = await clone({ sessionId }).catch((e) => e);
		expect(error).toBeInstanceOf(WorkspaceError);
		expect(error.code).toBe('already_exists');
		expect(existsSync(path.join(workspacesDir, sessionId, '.git'))).toBe(true);
	});

	it('reports a missing repository clearly and leaves no session folder behind', async () => {
		const sessionId = randomUUID();
		const error = await clone({ repository: 'acme/nope', sessionId }).catch((e) => e);
		expect(error).toBeInstanceOf(WorkspaceError);
		expect(error.message).toMatch(/Could not read acme\/nope/);
		expect(existsSync(path.join(workspacesDir, sessionId))).toBe(false);
	});

	it('refuses injected repositories and branches before any git runs', async () => {
		const marker = pwnedMarker();
		const hostile = [
			{ repository: `acme/widgets;touch ${marker}` },
			{ repository: `owner/repo;rm -rf ~` },
			{ repository: `--upload-pack=touch ${marker}` },
			{ repository: `$(touch ${marker})/x` },
			{ repository: '../../etc' },
			{ repository: `ext::sh -c touch% ${marker}` },
			{ branch: `--upload-pack=touch ${marker}` },
			{ branch: `$(touch ${marker})` },
			{ sessionId: '../../etc' },
		];
		for (const override of hostile) {
			const error = await clone(override).catch((e) => e);
			expect(error).toBeInstanceOf(WorkspaceError);
		}
		expect(existsSync(marker)).toBe(false);
		expect(readdirSync(cacheDir)).toEqual(['acme']);
	});

	it('reopens an existing clone and explains a deleted one', async () => {
		const result = await clone();
		await expect(reopenClone(result.path, workspacesDir)).resolves.toBe(result.path);
		await expect(reopenClone(tmp.dir, workspacesDir)).rejects.toMatchObject({
			code: 'outside_roots',
		});
		await import('node:fs/promises').then((fs) => fs.rm(result.path, { recursive: true }));
		await expect(reopenClone(result.path, workspacesDir)).rejects.toMatchObject({
			code: 'not_found',
			message: expect.stringMatching(/no longer exists/),
		});
	});

	describe('over HTTP with a token (git smart-HTTP on loopback)', () => {
		const token = 'ghp_testTOKEN1234567890';
		const encoded = Buffer.from(`x-access-token:${token}`).toString('base64');
		const httpCache = path.join(tmp.dir, 'http-cache');
		const httpWorkspaces = path.join(tmp.dir, 'http-workspaces');
		let server: GitHttpServer;

		beforeAll(async () => {
			// Big enough (about 8 MB of incompressible data) that the mirror's saving shows in the timings.
			makeRemote(remotes, 'acme', 'big', 32, 256 * 1024);
			server = await startGitHttpServer(remotes, token);
		});
		afterAll(() => server.close());

		const httpClone = (extra: Partial<Parameters<typeof cloneGithubRepository>[0]> = {}) =>
			cloneGithubRepository({
				repository: 'https://github.com/acme/big.git',
				sessionId: randomUUID(),
				token,
				remoteBaseUrl: server.baseUrl,
				cacheDir: httpCache,
				workspacesDir: httpWorkspaces,
				...extra,
			});

		it('sends the token as a header and never stores it (timings logged)', async () => {
			const t0 = performance.now();
			const first = await httpClone();
			const t1 = performance.now();
			const second = await httpClone();
			const t2 = performance.now();
			const third = await httpClone({ shallow: false });
			const t3 = performance.now();
			console.log(
				`github clone of acme/big (32 commits, ~8 MB) over loopback HTTP: first (mirror created) ${Math.round(t1 - t0)} ms, ` +
					`second (mirror reused) ${Math.round(t2 - t1)} ms, third (full history, mirror reused) ${Math.round(t3 - t2)} ms`,
			);
			expect([first.mirror, second.mirror, third.mirror]).toEqual([
				'created',
				'updated',
				'updated',
			]);
			expect(first.repository).toBe('acme/big');
			expect(
				server.authorizations.filter(Boolean).every((header) => header === `Basic ${encoded}`),
			).toBe(true);
			expect(server.authorizations.some(Boolean)).toBe(true);

			for (const folder of [first.path, second.path, path.join(httpCache, 'acme', 'big.git')]) {
				const config = readFileSync(
					path.join(folder, existsSync(path.join(folder, '.git')) ? '.git/config' : 'config'),
					'utf8',
				);
				expect(config).not.toContain(token);
				expect(config).not.toContain(encoded);
				expect(config).not.toMatch(/extraheader/i);
			}
			expect(git(first.path, 'remote', 'get-url', 'origin')).toBe(`${server.baseUrl}/acme/big.git`);
		});

		it('with a throttled link (4 MB/s, a plain office line to GitHub) the mirror saves the download, and no command line shows the token', async () => {
			const throttled = await startGitHttpServer(remotes, token, 4 * 1024 * 1024);
			try {
				const options = {
					remoteBaseUrl: throttled.baseUrl,
					cacheDir: path.join(tmp.dir, 'throttled-cache'),
				};
				// While git downloads, read every process's command line as another local user could (ps).
				const gitCommandLines = new Set<string>();
				const watcher = setInterval(() => {
					for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
						try {
							const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
							if (/\bgit\b/.test(cmdline) && cmdline.includes(throttled.baseUrl))
								gitCommandLines.add(cmdline);
						} catch {
							// The process ended while we looked.
						}
					}
				}, 5);
				const t0 = performance.now();
				const first = await httpClone(options).finally(() => clearInterval(watcher));
				const t1 = performance.now();
				const firstBytes = throttled.bytesSent();
				expect([...gitCommandLines].some((line) => line.includes('--config-env=http.'))).toBe(true);
				for (const line of gitCommandLines) {
					expect(line).not.toContain(token);
					expect(line).not.toContain(encoded);
				}
				const second = await httpClone(options);
				const t2 = performance.now();
				const secondBytes = throttled.bytesSent() - firstBytes;
				console.log(
					`github clone of acme/big at 4 MB/s: first (mirror created) ${Math.round(t1 - t0)} ms, ${firstBytes} bytes; ` +
						`second (mirror reused) ${Math.round(t2 - t1)} ms, ${secondBytes} bytes`,
				);
				expect([first.mirror, second.mirror]).toEqual(['created', 'updated']);
				// The mirror saves the download: the second clone fetches next to nothing over the slow link (measured in
				// bytes, not time, which a busy machine would blur).
				expect(secondBytes).toBeLessThan(firstBytes / 20);
			} finally {
				await throttled.close();
			}
		});

		it('refuses a wrong or missing token with a message about access, even when the mirror exists', async () => {
			const wrong = await httpClone({ token: 'ghp_wrong' }).catch((e) => e);
			expect(wrong).toBeInstanceOf(WorkspaceError);
			expect(wrong.code).toBe('auth_failed');
			expect(wrong.message).toMatch(/token has read access/);
			expect(wrong.message).not.toContain('ghp_wrong');
			const none = await httpClone({ token: undefined }).catch((e) => e);
			expect(none.code).toBe('auth_failed');
		});
	});
});
