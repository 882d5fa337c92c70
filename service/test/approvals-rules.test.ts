import {
	ApprovalPolicyBody,
	gatingRule,
	mayDecide,
	normaliseDecider,
	OUTSIDE_ALLOWED_TOOLS,
} from '../src/approvals/approval-policy';
import {
	parseRule,
	ruleMatches,
	RuleSyntaxError,
	shellSegments,
	shellSpecifierMatches,
} from '../src/approvals/permission-rule';
import { loadConfig } from '../src/config';

const bash = (command: string) => ({ toolName: 'Bash', toolInput: { command }, cwd: '/srv/repo' });
const gates = (rule: string, call: { toolName: string; toolInput: unknown; cwd?: string }) =>
	ruleMatches(parseRule(rule), call, 'gate');

describe('permission rules as Claude Code writes them', () => {
	it('matches whole tools, every tool, and every tool of an MCP server', () => {
		expect(gates('Bash', bash('anything'))).toBe(true);
		expect(gates('Bash(*)', bash('anything'))).toBe(true);
		expect(gates('Write', bash('x'))).toBe(false);
		expect(gates('*', { toolName: 'WebSearch', toolInput: {} })).toBe(true);
		expect(gates('mcp__github', { toolName: 'mcp__github__create_issue', toolInput: {} })).toBe(
			true,
		);
		expect(gates('mcp__github', { toolName: 'mcp__githubby__x', toolInput: {} })).toBe(false);
		expect(gates('mcp__github__*', { toolName: 'mcp__github__create_issue', toolInput: {} })).toBe(
			true,
		);
		expect(
			gates('mcp__github__get_issue', { toolName: 'mcp__github__create_issue', toolInput: {} }),
		).toBe(false);
	});

	it('reads Bash specifiers: wildcard, trailing " *" with the bare command, legacy prefix, exact', () => {
		expect(shellSpecifierMatches('git push *', 'git push origin main')).toBe(true);
		expect(shellSpecifierMatches('git push *', 'git push')).toBe(true);
		expect(shellSpecifierMatches('git push *', 'git pushy')).toBe(false);
		expect(shellSpecifierMatches('ls*', 'lsof')).toBe(true);
		expect(shellSpecifierMatches('ls *', 'lsof')).toBe(false);
		expect(shellSpecifierMatches('git * main', 'git push origin main')).toBe(true);
		expect(shellSpecifierMatches('git push:*', 'git push --force')).toBe(true);
		expect(shellSpecifierMatches('git push:*', 'git push')).toBe(true);
		expect(shellSpecifierMatches('git push:*', 'git pushx')).toBe(false);
		expect(shellSpecifierMatches('npm test', 'npm test')).toBe(true);
		expect(shellSpecifierMatches('npm test', 'npm test --watch')).toBe(false);
		expect(shellSpecifierMatches('echo \\*', 'echo *')).toBe(true);
		expect(shellSpecifierMatches('echo \\*', 'echo x')).toBe(false);
	});

	it('gates a compound command when any part matches, and allows it only when every part does', () => {
		expect(shellSegments('cd app && git push origin main; echo "a && b" | wc -l')).toEqual([
			'cd app',
			'git push origin main',
			'echo "a && b"',
			'wc -l',
		]);
		expect(gates('Bash(git push *)', bash('cd app && git push origin main'))).toBe(true);
		expect(gates('Bash(rm *)', bash("echo 'rm -rf /'"))).toBe(false);
		const allowLs = parseRule('Bash(ls *)');
		expect(ruleMatches(allowLs, bash('ls -la'), 'allow')).toBe(true);
		expect(ruleMatches(allowLs, bash('ls -la && rm -rf x'), 'allow')).toBe(false);
	});

	it('reads file patterns like gitignore, from the session folder', () => {
		const write = (file_path: string) => ({
			toolName: 'Write',
			toolInput: { file_path, content: '' },
			cwd: '/srv/repo',
		});
		expect(gates('Write(/src/**)', write('/srv/repo/src/a/b.ts'))).toBe(true);
		expect(gates('Write(/src/**)', write('/srv/repo/test/a.ts'))).toBe(false);
		expect(gates('Write(*.env)', write('/srv/repo/deep/prod.env'))).toBe(true);
		expect(gates('Write(./docs/*.md)', write('docs/a.md'))).toBe(true);
		expect(gates('Write(//etc/**)', write('/etc/passwd'))).toBe(true);
		expect(gates('Edit(/src/**)', write('/srv/repo/src/x'))).toBe(false);
	});

	it('reads WebFetch domains', () => {
		const fetchOf = (url: string) => ({ toolName: 'WebFetch', toolInput: { url, prompt: 'x' } });
		expect(gates('WebFetch(domain:example.com)', fetchOf('https://api.example.com/x'))).toBe(true);
		expect(gates('WebFetch(domain:example.com)', fetchOf('https://example.org/'))).toBe(false);
	});

	it('refuses what is not a rule, saying what a rule looks like', () => {
		expect(() => parseRule('Bash(git push *')).toThrow(RuleSyntaxError);
		expect(() => parseRule('rm -rf /')).toThrow(/not a rule/);
		const bad = ApprovalPolicyBody.safeParse({ rules: ['Bash(ok *)', '(x)'] });
		expect(bad.success).toBe(false);
		expect(ApprovalPolicyBody.safeParse({ deciders: ['U1'] }).success).toBe(false);
	});
});

describe('approval policy', () => {
	const policy = ApprovalPolicyBody.parse({
		rules: ['Bash(git push *)', 'Write'],
		deciders: ['<@u0alice>', 'Bob <Bob@Example.COM>', 'U0CAROL'],
	});

	it('says which rule gates a call', () => {
		expect(gatingRule(policy, bash('git push origin main'))).toBe('Bash(git push *)');
		expect(gatingRule(policy, { toolName: 'Write', toolInput: { file_path: '/x' } })).toBe('Write');
		expect(gatingRule(policy, bash('git status'))).toBeUndefined();
	});

	it('gates anything outside the allowed tools when asked to', () => {
		const p = ApprovalPolicyBody.parse({
			outsideAllowedTools: true,
			allowedTools: ['Read', 'Bash(ls *)'],
		});
		expect(gatingRule(p, { toolName: 'Read', toolInput: { file_path: '/x' } })).toBeUndefined();
		expect(gatingRule(p, bash('ls -la'))).toBeUndefined();
		expect(gatingRule(p, bash('ls; curl evil'))).toBe(OUTSIDE_ALLOWED_TOOLS);
		expect(gatingRule(p, { toolName: 'Edit', toolInput: { file_path: '/x' } })).toBe(
			OUTSIDE_ALLOWED_TOOLS,
		);
	});

	it('names deciders by Slack id or email address, however they were written', () => {
		expect(policy.deciders).toEqual(['U0ALICE', 'bob@example.com', 'U0CAROL']);
		expect(normaliseDecider('<@U0ALICE|alice>')).toBe('U0ALICE');
		expect(mayDecide(policy.deciders, 'BOB@example.com')).toBe(true);
		expect(mayDecide(policy.deciders, 'Bob <bob@example.com>')).toBe(true);
		expect(mayDecide(policy.deciders, 'U0EVE')).toBe(false);
		expect(mayDecide([], 'anyone')).toBe(true);
	});
});

describe('APPROVAL_TTL', () => {
	it('takes seconds or a unit, defaults to a day, and refuses nonsense', () => {
		expect(loadConfig({}).approvalTtlMs).toBe(86_400_000);
		expect(loadConfig({ APPROVAL_TTL: '90' }).approvalTtlMs).toBe(90_000);
		expect(loadConfig({ APPROVAL_TTL: '30m' }).approvalTtlMs).toBe(1_800_000);
		expect(loadConfig({ APPROVAL_TTL: '7d' }).approvalTtlMs).toBe(7 * 86_400_000);
		expect(() => loadConfig({ APPROVAL_TTL: 'soon' })).toThrow(/APPROVAL_TTL/);
	});
});
