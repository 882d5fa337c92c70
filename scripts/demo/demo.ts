// `npm start -- --demo`: a session end to end without an Anthropic key. Claude Code runs for real, but it talks to a
// local scripted stand-in of the Anthropic API that follows the [[...]] steps written in the prompt. Never started
// unless asked; the service is told (DEMO_MODE), so the dashboard says so on every page.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startFakeAnthropic, type FakeAnthropic } from '../../test/fakes/anthropic-api';
import type { N8nWorkflow } from '../n8n/n8n-instance';

const run = promisify(execFile);

export const DEMO_WORKFLOW_ID = 'claudeOrchDemo01';
export const DEMO_WEBHOOK_PATH = 'claude/demo';

// What the stand-in does, step by step: each [[...]] is one tool call that the real CLI then runs in the worktree.
export const DEMO_PROMPT = [
	'Add a greeting script to the demo repository, run it and commit it.',
	'[[bash:git log --oneline -1]]',
	'[[write:hello.sh::#!/bin/sh\necho "Hello from Claude Code, started by n8n"\n]]',
	'[[bash:sh hello.sh]]',
	'[[bash:git add hello.sh]]',
	'[[bash:git commit -q -m "Add hello.sh (demo session)"]]',
	"[[text:Added hello.sh, ran it, and committed it on this session's branch.]]",
].join('\n');

export interface Demo {
	/** The stand-in's base URL (ANTHROPIC_BASE_URL for claude under n8n). */
	apiUrl: string;
	repository: string;
	/** What n8n needs so that claude uses the stand-in and keeps its files apart from the user's own ~/.claude. */
	n8nEnv: Record<string, string>;
	workflow: N8nWorkflow;
	close(): Promise<void>;
}

async function git(cwd: string, ...args: string[]): Promise<string> {
	const { stdout } = await run('git', args, { cwd, timeout: 30_000 });
	return stdout.trim();
}

/** A small repository under the allowed root, made once: the demo branches a worktree from it per session. */
export async function ensureDemoRepository(root: string): Promise<string> {
	const repo = path.join(root, 'claude-orchestrator-demo');
	if (fs.existsSync(path.join(repo, '.git'))) return repo;
	fs.mkdirSync(repo, { recursive: true });
	fs.writeFileSync(
		path.join(repo, 'README.md'),
		'# Demo repository\n\nEach demo session works on its own branch (claude/<session>) in its own worktree.\n',
	);
	await git(repo, 'init', '-q', '-b', 'main');
	await git(repo, 'add', 'README.md');
	await git(
		repo,
		'-c',
		'user.name=Claude Orchestrator demo',
		'-c',
		'user.email=demo@localhost',
		'commit',
		'-q',
		'-m',
		'Demo repository',
	);
	return repo;
}

export async function startDemo(opts: { dataDir: string; allowedRoot: string }): Promise<Demo> {
	const repository = await ensureDemoRepository(opts.allowedRoot);
	const configDir = path.join(opts.dataDir, 'demo', 'claude-config');
	fs.mkdirSync(configDir, { recursive: true });
	const api: FakeAnthropic = await startFakeAnthropic();
	const workflow = JSON.parse(
		fs.readFileSync(
			path.join(__dirname, '..', '..', '..', 'scripts', 'demo', 'demo-workflow.json'),
			'utf8',
		),
	) as N8nWorkflow;
	return {
		apiUrl: api.url,
		repository,
		n8nEnv: {
			ANTHROPIC_BASE_URL: api.url,
			ANTHROPIC_API_KEY: 'demo-stand-in-not-a-real-key',
			CLAUDE_CONFIG_DIR: configDir,
			CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
			CLAUDE_CODE_MAX_RETRIES: '1',
			DISABLE_AUTOUPDATER: '1',
			// The demo's commits need an author wherever the user's git identity is unset.
			GIT_AUTHOR_NAME: 'Claude Code (demo)',
			GIT_AUTHOR_EMAIL: 'demo@localhost',
			GIT_COMMITTER_NAME: 'Claude Code (demo)',
			GIT_COMMITTER_EMAIL: 'demo@localhost',
		},
		workflow: { ...workflow, id: DEMO_WORKFLOW_ID },
		close: () => api.close(),
	};
}

export interface DemoRun {
	sessionId: string;
	status: string;
	result: string;
	branch?: string;
	commit?: string;
}

/** Calls the demo workflow's webhook once and reads what the session changed in the repository. */
export async function runDemoSession(n8nUrl: string, demo: Demo): Promise<DemoRun> {
	const res = await fetch(`${n8nUrl}/webhook/${DEMO_WEBHOOK_PATH}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ repository: demo.repository, prompt: DEMO_PROMPT }),
		signal: AbortSignal.timeout(300_000),
	});
	const text = await res.text();
	if (!res.ok) throw new Error(`the demo workflow answered ${res.status}: ${text.slice(0, 300)}`);
	const out = JSON.parse(text) as {
		sessionId?: string;
		status?: string;
		result?: string;
		error?: string;
		workspace?: { branch?: string };
	};
	if (!out.sessionId)
		throw new Error(`the demo workflow returned no session: ${text.slice(0, 300)}`);
	const branch = out.workspace?.branch;
	const commit = branch
		? await git(demo.repository, 'log', '--format=%h %s', '-1', branch).catch(() => undefined)
		: undefined;
	return {
		sessionId: out.sessionId,
		status: out.status ?? 'unknown',
		result: out.result ?? out.error ?? '',
		branch,
		commit,
	};
}
