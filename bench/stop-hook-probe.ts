// What does the pinned claude CLI do in `-p` when an HTTP hook answers `continue: false`? Each case runs the real
// CLI against the fake Anthropic API with one HTTP hook per event; the hook answers `continue: false` (with a
// stopReason) on the event the case names, and `{}` otherwise. Reported per case: exit code, whether a result
// line came, which tool calls ran (each writes a file), and how long the process lived after the answer.
// Run: npm run build:bench && node dist-bench/bench/stop-hook-probe.js
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startFakeAnthropic } from '../test/fakes/anthropic-api';
import { isolatedClaudeEnv } from '../test/fakes/claude-cli';

// Run from the repository root (dist-bench has no node_modules of its own).
const CLAUDE =
	process.env.CLAUDE_BIN ?? path.resolve('node_modules/@anthropic-ai/claude-code-linux-x64/claude');

interface Case {
	name: string;
	/** The hook event whose first delivery gets the stop answer. */
	on: string;
	answer: Record<string, unknown>;
}

const STOP = { continue: false, stopReason: 'Stopped by probe from test' };
const CASES: Case[] = [
	{ name: 'PreToolUse continue:false', on: 'PreToolUse', answer: STOP },
	{
		name: 'PreToolUse continue:false + deny',
		on: 'PreToolUse',
		answer: {
			...STOP,
			hookSpecificOutput: {
				hookEventName: 'PreToolUse',
				permissionDecision: 'deny',
				permissionDecisionReason: 'stopped',
			},
		},
	},
	{ name: 'PostToolUse continue:false (after call 1)', on: 'PostToolUse', answer: STOP },
	{ name: 'UserPromptSubmit continue:false', on: 'UserPromptSubmit', answer: STOP },
];
const EVENTS = [
	'UserPromptSubmit',
	'PreToolUse',
	'PostToolUse',
	'PostToolBatch',
	'Stop',
	'SessionEnd',
];

async function runCase(c: Case, apiUrl: string): Promise<string> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stop-probe-'));
	const work = path.join(dir, 'work');
	fs.mkdirSync(work);
	const seen: string[] = [];
	let answeredAt = 0;
	const hooks = http.createServer((req, res) => {
		let body = '';
		req.on('data', (d) => (body += d));
		req.on('end', () => {
			const event = (JSON.parse(body) as { hook_event_name: string }).hook_event_name;
			seen.push(event);
			const hit = event === c.on && answeredAt === 0;
			if (hit) answeredAt = Date.now();
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end(JSON.stringify(hit ? c.answer : {}));
		});
	});
	await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', () => r()));
	const url = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
	const settings = {
		hooks: Object.fromEntries(
			EVENTS.map((e) => [e, [{ hooks: [{ type: 'http', url, timeout: 10 }] }]]),
		),
	};
	const prompt =
		'probe [[bash:echo one > one.txt]] [[bash:echo two > two.txt]] [[bash:echo three > three.txt]]';
	const child = spawn(
		CLAUDE,
		[
			'-p',
			prompt,
			'--output-format',
			'stream-json',
			'--verbose',
			'--settings',
			JSON.stringify(settings),
			'--allowedTools',
			'Bash',
		],
		{ cwd: work, env: isolatedClaudeEnv(dir, apiUrl), stdio: ['ignore', 'pipe', 'pipe'] },
	);
	let out = '';
	child.stdout.on('data', (d) => (out += d));
	const rc = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
	const exitedAt = Date.now();
	hooks.close();
	const result = out
		.split('\n')
		.filter(Boolean)
		.map((l) => JSON.parse(l) as Record<string, unknown>)
		.find((l) => l.type === 'result');
	const ran = ['one', 'two', 'three'].filter((f) => fs.existsSync(path.join(work, `${f}.txt`)));
	fs.rmSync(dir, { recursive: true, force: true });
	return [
		`${c.name}: rc ${rc}`,
		`  tool calls that ran: ${ran.join(', ') || 'none'}`,
		`  exited ${answeredAt ? `${exitedAt - answeredAt} ms after the answer` : '(the event never came)'}`,
		`  result: ${result ? JSON.stringify({ subtype: result.subtype, is_error: result.is_error, stop_reason: result.stop_reason, terminal_reason: result.terminal_reason, result: result.result, total_cost_usd: result.total_cost_usd }) : 'none'}`,
		`  hooks: ${seen.join(', ')}`,
	].join('\n');
}

async function main() {
	const api = await startFakeAnthropic();
	try {
		for (const c of CASES) process.stdout.write((await runCase(c, api.url)) + '\n');
	} finally {
		await api.close();
	}
}

void main();
