import { readFileSync } from 'node:fs';
import { LineSplitter } from '../line-splitter';
import { LocalLauncher } from '../local-launcher';
import { sleep } from '../../../../test/support/wait';

const NODE = process.execPath;
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

/** kill(pid, 0) also succeeds for a zombie, and this VM's init reaps orphans lazily: look at the state too. */
function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
	} catch {
		return false;
	}
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
	} catch {
		return false;
	}
}

describe('LineSplitter', () => {
	it('joins partial chunks, strips \\r\\n, splits multi-byte characters safely and emits a last line without newline', () => {
		const lines: string[] = [];
		const splitter = new LineSplitter((line) => lines.push(line));
		const euro = Buffer.from('€');
		splitter.push(Buffer.from('{"a":'));
		splitter.push(Buffer.from('1}\r\nsecond '));
		splitter.push(Buffer.concat([Buffer.from('line '), euro.subarray(0, 1)]));
		splitter.push(Buffer.concat([euro.subarray(1), Buffer.from('\n\n')]));
		splitter.push(Buffer.from('tail'));
		splitter.end();
		expect(lines).toEqual(['{"a":1}', 'second line €', '', 'tail']);
	});
});

describe('LocalLauncher', () => {
	const launcher = new LocalLauncher();

	it('streams stdout lines from a real process, including a line of several MB and a final line without newline', async () => {
		const script = `
			const big = 'x'.repeat(5 * 1024 * 1024);
			process.stdout.write('one\\r\\ntw');
			setTimeout(() => {
				process.stdout.write('o\\n' + big + '\\n');
				process.stderr.write('warn!');
				process.stdout.write('last');
			}, 20);
		`;
		const proc = await launcher.launch({
			command: NODE,
			args: ['-e', script],
			cwd: __dirname,
			env,
		});
		// Listening late on purpose: output that arrived before onLine() is held, not dropped.
		await sleep(100);
		const lines: string[] = [];
		let stderr = '';
		proc.onLine((line) => lines.push(line));
		proc.onStderr((chunk) => (stderr += chunk));
		expect(await proc.exited).toEqual({ code: 0, signal: null });
		expect(lines.map((line) => (line.length > 100 ? `big:${line.length}` : line))).toEqual([
			'one',
			'two',
			`big:${5 * 1024 * 1024}`,
			'last',
		]);
		expect(stderr).toBe('warn!');
	});

	it('passes arguments without a shell, and uses the given cwd and env only', async () => {
		const proc = await launcher.launch({
			command: NODE,
			args: [
				'-e',
				'console.log(JSON.stringify([process.argv[1], process.cwd(), process.env.ONLY, process.env.HOME]))',
				'$(echo no) ; `x` "q"',
			],
			cwd: '/tmp',
			env: { ...env, ONLY: 'yes' },
		});
		const lines: string[] = [];
		proc.onLine((line) => lines.push(line));
		await proc.exited;
		expect(JSON.parse(lines[0])).toEqual(['$(echo no) ; `x` "q"', '/tmp', 'yes', null]);
	});

	it('signals the whole process group, and ignores a group that is already gone', async () => {
		// The parent starts a grandchild in the same group and prints its pid; SIGTERM to the group stops both.
		const script = `
			const { spawn } = require('node:child_process');
			const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
			console.log(child.pid);
			setInterval(() => {}, 1000);
		`;
		const proc = await launcher.launch({
			command: NODE,
			args: ['-e', script],
			cwd: __dirname,
			env,
		});
		const grandchild = await new Promise<number>((resolve) =>
			proc.onLine((line) => resolve(Number(line))),
		);
		expect(isAlive(grandchild)).toBe(true);
		proc.signal('SIGTERM');
		expect((await proc.exited).signal).toBe('SIGTERM');
		for (let i = 0; i < 50 && isAlive(grandchild); i++) await sleep(20);
		expect(isAlive(grandchild)).toBe(false);
		expect(() => proc.signal('SIGKILL')).not.toThrow();
	});

	it('rejects when the executable does not exist', async () => {
		await expect(
			launcher.launch({ command: '/nonexistent/claude', args: [], cwd: __dirname, env }),
		).rejects.toMatchObject({ code: 'ENOENT' });
	});
});
