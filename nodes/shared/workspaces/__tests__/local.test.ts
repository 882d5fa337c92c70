import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { WorkspaceError } from '../errors';
import { resolveFolderInRoots } from '../local';
import { tempDir } from '../../../../test/support/temp';

describe('local workspace roots', () => {
	const tmp = tempDir('ws-local');
	const root = path.join(tmp.dir, 'projects');
	const outside = path.join(tmp.dir, 'secret');
	const app = path.join(root, 'app');

	beforeAll(() => {
		mkdirSync(path.join(app, 'src'), { recursive: true });
		mkdirSync(outside, { recursive: true });
		writeFileSync(path.join(root, 'notes.txt'), 'x');
		symlinkSync(outside, path.join(root, 'escape'));
		symlinkSync(app, path.join(root, 'app-link'));
		symlinkSync(root, path.join(tmp.dir, 'root-link'));
	});
	afterAll(() => tmp.remove());

	async function failure(input: string, roots = [root]): Promise<WorkspaceError> {
		const error = await resolveFolderInRoots(input, roots).then(
			() => undefined,
			(e: unknown) => e,
		);
		expect(error).toBeInstanceOf(WorkspaceError);
		return error as WorkspaceError;
	}

	it('accepts a folder inside a root, and the root itself, as real paths', async () => {
		await expect(resolveFolderInRoots(app, [root])).resolves.toBe(app);
		await expect(resolveFolderInRoots(path.join(app, 'src'), [root])).resolves.toBe(
			path.join(app, 'src'),
		);
		await expect(resolveFolderInRoots(root, [root])).resolves.toBe(root);
	});

	it('accepts a symlink that stays inside the root, resolved to its target', async () => {
		await expect(resolveFolderInRoots(path.join(root, 'app-link'), [root])).resolves.toBe(app);
	});

	it('resolves symlinks in the configured roots too', async () => {
		await expect(resolveFolderInRoots(app, [path.join(tmp.dir, 'root-link')])).resolves.toBe(app);
	});

	it('refuses ../../etc and names the allowed roots', async () => {
		const error = await failure('../../etc');
		expect(error.code).toBe('outside_roots');
		expect(error.message).toContain(JSON.stringify(root));
	});

	it('refuses an absolute path that climbs out with ..', async () => {
		const error = await failure(path.join(root, '..', 'secret'));
		expect(error.code).toBe('outside_roots');
		expect(error.message).toMatch(/outside the allowed roots.*projects/);
	});

	it('refuses /etc', async () => {
		expect((await failure('/etc')).code).toBe('outside_roots');
	});

	it('refuses a symlink inside the root that points out of it, and says where it leads', async () => {
		const error = await failure(path.join(root, 'escape'));
		expect(error.code).toBe('outside_roots');
		expect(error.message).toContain(`resolves to ${JSON.stringify(outside)}`);
	});

	it('refuses a prefix look-alike of the root', async () => {
		mkdirSync(`${root}-evil`, { recursive: true });
		expect((await failure(`${root}-evil`)).code).toBe('outside_roots');
	});

	it('refuses files, missing folders and an empty root list', async () => {
		expect((await failure(path.join(root, 'notes.txt'))).message).toMatch(
			/is a file, not a folder/,
		);
		expect((await failure(path.join(root, 'missing'))).code).toBe('not_found');
		expect((await failure(app, [])).message).toMatch(/No allowed workspace roots/);
	});

	it('refuses injection strings without touching the shell', async () => {
		for (const input of [
			'$(id)',
			`${root}/$(id)`,
			`${root}/a;rm -rf ~`,
			'--upload-pack=touch /tmp/pwned',
		]) {
			await failure(input);
		}
	});
});
