// runClaude against small real node processes that stand in for claude's process behaviour
// (signals ignored, garbage on stdout, no result line). The real CLI is exercised in the integration suite.
import { LocalLauncher } from '../local-launcher';
import { runClaude, type RunSink } from '../run-claude';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const nullSink: RunSink = {
	onInit: async () => undefined,
	onMessages: async () => undefined,
	onToolCalls: async () => undefined,
};

function runScript(script: string, timeoutMs = 10_000, graceMs = 300) {
	return runClaude({
		launcher: new LocalLauncher(),
		command: process.execPath,
		args: ['-e', script],
		cwd: __dirname,
		env,
		sink: nullSink,
		timeoutMs,
		graceMs,
		drainMs: 500,
	});
}

// The script says it is ready (an init line) once its signal handlers are in place, and the run is cancelled
// then: on a busy machine node can take longer to start than any fixed timeout, and a signal that lands before
// the handlers exist ends the process at once, proving nothing about escalation.
const READY = `console.log(JSON.stringify({ type: 'system', subtype: 'init', session_id: 's', tools: [] }))`;

async function stopWhenReady(script: string, graceMs = 300) {
	const controller = new AbortController();
	let abortedAt = 0;
	const result = await runClaude({
		launcher: new LocalLauncher(),
		command: process.execPath,
		args: ['-e', `${script}; ${READY}`],
		cwd: __dirname,
		env,
		sink: nullSink,
		timeoutMs: 120_000,
		graceMs,
		drainMs: 500,
		signal: controller.signal,
		onRecord: (record) => {
			if (record.type !== 'init') return;
			abortedAt = Date.now();
			controller.abort();
		},
	});
	return { result, stoppedAfterMs: Date.now() - abortedAt };
}

describe('runClaude process handling', () => {
	it('escalates to SIGTERM when SIGINT is ignored', async () => {
		const { result, stoppedAfterMs } = await stopWhenReady(
			"process.on('SIGINT', () => {}); setInterval(() => {}, 1000)",
		);
		expect(result).toMatchObject({ status: 'cancelled', exitCode: null, exitSignal: 'SIGTERM' });
		// SIGINT had its full grace period before SIGTERM was sent (timers never fire early; 5 ms of clock rounding).
		expect(stoppedAfterMs).toBeGreaterThanOrEqual(300 - 5);
	});

	it('escalates to SIGKILL when SIGINT and SIGTERM are ignored', async () => {
		const { result, stoppedAfterMs } = await stopWhenReady(
			"process.on('SIGINT', () => {}); process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)",
		);
		expect(result).toMatchObject({ status: 'cancelled', exitSignal: 'SIGKILL' });
		expect(stoppedAfterMs).toBeGreaterThanOrEqual(2 * 300 - 5);
	});

	it('reports a run without a result line as failed, with the stderr tail, counting malformed lines', async () => {
		const script = `
			console.log('not json');
			console.log('{"type":"system","subtype":"init","claude_code_version":"9.9.9","session_id":"s","tools":[]}');
			console.log('{"type":"assistant","message":{"content":[{"type":"text","text":"half');
			console.error('Error: something broke badly');
			process.exit(3);
		`;
		const result = await runScript(script);
		expect(result).toMatchObject({
			status: 'failed',
			exitCode: 3,
			malformedLines: 2,
			cliVersion: '9.9.9',
			resultCount: 0,
			isError: true,
		});
		expect(result.errorMessage).toMatch(
			/exited with code 3 without printing a result line.*something broke badly/,
		);
		expect(result.stderrTail).toContain('something broke badly');
	});

	it('uses the last of several result lines', async () => {
		const script = `
			console.log(JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'first', total_cost_usd: 0.01, num_turns: 1 }));
			console.log(JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'second', total_cost_usd: 0.02, num_turns: 1 }));
		`;
		const result = await runScript(script);
		expect(result).toMatchObject({
			status: 'completed',
			result: 'second',
			costUsd: 0.02,
			resultCount: 2,
			exitCode: 0,
		});
	});

	it('fails a run whose result is an error even when the exit code is 0', async () => {
		const script = `console.log(JSON.stringify({ type: 'result', subtype: 'error_max_turns', is_error: true, num_turns: 3, errors: [] }));`;
		const result = await runScript(script);
		expect(result).toMatchObject({ status: 'failed', exitCode: 0, subtype: 'error_max_turns' });
		expect(result.errorMessage).toMatch(/after 3 turns.*max turns/);
	});

	it('rejects with a clear message when the working directory does not exist', async () => {
		const attempt = runClaude({
			launcher: new LocalLauncher(),
			command: process.execPath,
			args: ['-e', '0'],
			cwd: '/nonexistent/workspace',
			env,
			sink: nullSink,
			timeoutMs: 1_000,
		});
		await expect(attempt).rejects.toThrow(
			'The working directory "/nonexistent/workspace" does not exist.',
		);
	});
});
