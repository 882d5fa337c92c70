import { execFileSync } from 'node:child_process';
import { WorkspaceError } from '../errors';
import {
	validateAbsolutePath,
	validateBranch,
	validateRemoteBaseUrl,
	validateRepository,
	validateSandboxId,
	validateSandboxPath,
	validateSessionId,
	validateToken,
} from '../validate';

// Hostile inputs every validator must refuse (the strings the brief names, plus their relatives).
const INJECTIONS = [
	'owner/repo;rm -rf ~',
	'--upload-pack=touch /tmp/pwned',
	'../../etc',
	'$(id)',
	'`id`',
	'a && id',
	'a|id',
	'a\nid',
	"a'b",
	'a"b',
	'a b',
	'',
	' ',
];

function refuses(fn: () => unknown, message?: RegExp): void {
	let thrown: unknown;
	try {
		fn();
	} catch (error) {
		thrown = error;
	}
	expect(thrown).toBeInstanceOf(WorkspaceError);
	if (message) expect((thrown as Error).message).toMatch(message);
}

describe('validateRepository', () => {
	it.each([
		['octo-org/my.repo_1', 'octo-org/my.repo_1'],
		['owner/repo.git', 'owner/repo'],
		['https://github.com/owner/repo', 'owner/repo'],
		['https://github.com/owner/repo.git', 'owner/repo'],
		['https://github.com/owner/repo/', 'owner/repo'],
		['a/b', 'a/b'],
		['owner/.github', 'owner/.github'],
	])('accepts %s as %s', (input, expected) => {
		expect(validateRepository(input).fullName).toBe(expected);
	});

	it.each([
		...INJECTIONS,
		'owner/repo/extra',
		'owner',
		'-owner/repo',
		'owner-/repo',
		'owner/-repo',
		'owner/..',
		'owner/a..b',
		'../repo',
		'owner/repo#x',
		'own er/repo',
		'http://github.com/owner/repo',
		'https://gitlab.com/owner/repo',
		'https://github.com.evil.com/owner/repo',
		'https://token@github.com/owner/repo',
		'https://github.com/owner/repo?x=1',
		'https://github.com/owner/repo/tree/main',
		'git@github.com:owner/repo.git',
		'ssh://git@github.com/owner/repo',
		'ext::sh -c touch% /tmp/pwned',
		'file:///etc/passwd',
		'a'.repeat(40) + '/repo',
		'owner/' + 'r'.repeat(101),
	])('refuses %j', (input) => {
		refuses(() => validateRepository(input));
	});

	it('says what is wrong and how to write it', () => {
		refuses(
			() => validateRepository('owner/repo;rm -rf ~'),
			/name "repo;rm -rf ~".*";" is not allowed/,
		);
		refuses(() => validateRepository('https://token@github.com/o/r'), /GitHub token field/);
		refuses(() => validateRepository('owner'), /owner\/repo/);
	});
});

describe('validateBranch', () => {
	it.each([
		'main',
		'feature/x-1',
		'claude/1234abcd',
		'release/v1.2.3',
		'fix+tweak',
		'user@topic',
		'issue#12',
	])('accepts %s', (name) => {
		expect(validateBranch(name)).toBe(name);
	});

	it.each([
		...INJECTIONS,
		'-b',
		'--upload-pack=x',
		'a..b',
		'a@{1}',
		'@',
		'HEAD',
		'a~1',
		'a^',
		'a:b',
		'a?',
		'a*',
		'a[b',
		'a\\b',
		'a\tb',
		'a\x7f',
		'.hidden',
		'a/.hidden',
		'a.lock',
		'a/b.lock/c',
		'a/',
		'/a',
		'a//b',
		'a.',
		'x'.repeat(201),
		'ü',
	])('refuses %j', (name) => {
		refuses(() => validateBranch(name));
	});

	it('agrees with git check-ref-format on everything it accepts', () => {
		for (const name of ['main', 'feature/x-1', 'a+b', 'user@topic', 'issue#12', 'v1.2.3']) {
			expect(() =>
				execFileSync('git', ['check-ref-format', '--branch', name], { stdio: 'ignore' }),
			).not.toThrow();
		}
	});

	it('names the rule that was broken', () => {
		refuses(() => validateBranch('--upload-pack=touch /tmp/pwned'), /must not start with "-"/);
		refuses(() => validateBranch('$(id)'), /contains "\$"/);
		refuses(() => validateBranch('x.lock'), /\.lock/);
	});
});

describe('other validators', () => {
	it('session ids are filename-safe', () => {
		expect(validateSessionId('3f1c2a9e-1b2c-4d5e-8f90-123456789abc')).toBe(
			'3f1c2a9e-1b2c-4d5e-8f90-123456789abc',
		);
		for (const bad of [...INJECTIONS, '-x', '.x', 'a/b', 'a'.repeat(129)])
			refuses(() => validateSessionId(bad));
	});

	it('sandbox ids', () => {
		expect(validateSandboxId('i1a2b3c4d5')).toBe('i1a2b3c4d5');
		for (const bad of INJECTIONS) refuses(() => validateSandboxId(bad));
	});

	it('absolute paths: refuses relative ones and control characters', () => {
		expect(validateAbsolutePath('/tmp/x/../y', 'Folder')).toBe('/tmp/y');
		refuses(() => validateAbsolutePath('../../etc', 'Folder'), /absolute/);
		refuses(() => validateAbsolutePath('/tmp/a\nb', 'Folder'), /control/);
		refuses(() => validateAbsolutePath('', 'Folder'), /empty/);
	});

	it('sandbox paths: absolute, no .. parts', () => {
		expect(validateSandboxPath('/home/user/workspace')).toBe('/home/user/workspace');
		for (const bad of ['../../etc', '/home/../etc', 'relative', '/a\nb', ''])
			refuses(() => validateSandboxPath(bad));
	});

	it('tokens cannot break the header line', () => {
		expect(validateToken('ghp_abcDEF123', 'GitHub token')).toBe('ghp_abcDEF123');
		for (const bad of ['ghp_x\r\nX-Evil: 1', 'with space', 'ü', ''])
			refuses(() => validateToken(bad, 'GitHub token'));
	});

	it('remote base URLs: https, http or file, no credentials', () => {
		expect(validateRemoteBaseUrl('https://github.com/')).toBe('https://github.com');
		expect(validateRemoteBaseUrl('file:///tmp/remotes')).toBe('file:///tmp/remotes');
		for (const bad of [
			'ext::sh -c id',
			'ssh://github.com',
			'https://u:p@github.com',
			'not a url',
			'https://github.com?x',
		]) {
			refuses(() => validateRemoteBaseUrl(bad));
		}
	});
});
