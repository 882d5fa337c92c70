import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findClaude } from '../../protocol/claude-cli';
import { ClaudeNotFoundError } from '../errors';

const INSTALL = 'npm install -g @anthropic-ai/claude-code@2.1.331';

describe('findClaude', () => {
	let dir: string;
	beforeAll(() => {
		dir = mkdtempSync(join(tmpdir(), 'cco-find-'));
		for (const sub of ['empty', 'good', 'plain', 'stub']) mkdirSync(join(dir, sub));
		writeFileSync(join(dir, 'good', 'claude'), '#!/bin/sh\necho ok\n');
		chmodSync(join(dir, 'good', 'claude'), 0o755);
		writeFileSync(join(dir, 'plain', 'claude'), 'not executable');
		chmodSync(join(dir, 'plain', 'claude'), 0o644);
		writeFileSync(
			join(dir, 'stub', 'claude'),
			'#!/bin/sh\necho "claude native binary not installed" >&2\nexit 1\n',
		);
		chmodSync(join(dir, 'stub', 'claude'), 0o755);
	});
	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	it('searches PATH in order, skipping entries that are not executable files', () => {
		const PATH = [join(dir, 'empty'), join(dir, 'plain'), join(dir, 'good')].join(':');
		expect(findClaude({ env: { PATH } })).toBe(join(dir, 'good', 'claude'));
	});

	it('uses an explicit path, or looks a bare name up on PATH', () => {
		expect(findClaude({ claudePath: join(dir, 'good', 'claude'), env: { PATH: '' } })).toBe(
			join(dir, 'good', 'claude'),
		);
		expect(findClaude({ claudePath: ' claude ', env: { PATH: join(dir, 'good') } })).toBe(
			join(dir, 'good', 'claude'),
		);
	});

	it('says how to install when claude is not on PATH', () => {
		const find = () => findClaude({ env: { PATH: join(dir, 'empty') } });
		expect(find).toThrow(ClaudeNotFoundError);
		expect(find).toThrow(INSTALL);
		expect(find).toThrow(/no executable "claude" on PATH/);
		expect(find).toThrow(/Node >= 22/);
	});

	it('says how to install when PATH is empty or the explicit path is wrong', () => {
		expect(() => findClaude({ env: {} })).toThrow(
			/PATH is empty.*npm install -g @anthropic-ai\/claude-code@2\.1\.331/,
		);
		expect(() => findClaude({ claudePath: join(dir, 'nope', 'claude') })).toThrow(INSTALL);
		expect(() => findClaude({ claudePath: join(dir, 'plain', 'claude') })).toThrow(
			/not an executable file/,
		);
		expect(() => findClaude({ claudePath: join(dir, 'good') })).toThrow(/not an executable file/);
	});

	it('recognises the stub npm leaves when install scripts were skipped', () => {
		expect(() => findClaude({ env: { PATH: join(dir, 'stub') } })).toThrow(
			/install scripts are disabled.*npm install -g/,
		);
	});

	it('does not let a stub early on PATH hide a real claude later on it', () => {
		expect(findClaude({ env: { PATH: [join(dir, 'stub'), join(dir, 'good')].join(':') } })).toBe(
			join(dir, 'good', 'claude'),
		);
	});

	it('uses the native binary of the platform package when the wrapper is the stub', () => {
		// The layout npm installs: node_modules/.bin/claude → @anthropic-ai/claude-code/bin/claude.exe (the stub),
		// and the real CLI in the optional dependency @anthropic-ai/claude-code-<platform>/claude.
		const nm = join(dir, 'layout', 'node_modules');
		mkdirSync(join(nm, '@anthropic-ai', 'claude-code', 'bin'), { recursive: true });
		mkdirSync(join(nm, '@anthropic-ai', `claude-code-${process.platform}-${process.arch}`), {
			recursive: true,
		});
		mkdirSync(join(nm, '.bin'), { recursive: true });
		const stub = join(nm, '@anthropic-ai', 'claude-code', 'bin', 'claude.exe');
		writeFileSync(stub, '#!/bin/sh\necho "claude native binary not installed" >&2\nexit 1\n');
		chmodSync(stub, 0o755);
		symlinkSync('../@anthropic-ai/claude-code/bin/claude.exe', join(nm, '.bin', 'claude'));
		expect(() => findClaude({ env: { PATH: join(nm, '.bin') } })).toThrow(
			/placeholder.*claude-code-linux-x64\) is not installed/,
		);
		const native = join(
			nm,
			'@anthropic-ai',
			`claude-code-${process.platform}-${process.arch}`,
			'claude',
		);
		writeFileSync(native, '#!/bin/sh\necho 2.1.331\n');
		chmodSync(native, 0o755);
		expect(findClaude({ env: { PATH: join(nm, '.bin') } })).toBe(native);
		expect(findClaude({ claudePath: stub })).toBe(native);
	});
});
