import crypto from 'node:crypto';
import {
	api,
	DATABASE_KINDS,
	startTestService,
	type TestService,
} from '../../test/support/test-service';

async function session(svc: TestService, body: Record<string, unknown>) {
	const res = await api(svc, 'POST', '/api/v1/sessions', body);
	expect(res.status).toBe(201);
	return res.body.id as string;
}

async function toolCall(
	svc: TestService,
	sessionId: string,
	n: number,
	response: unknown,
	input: unknown = { command: `step ${n}` },
) {
	const base = {
		session_id: sessionId,
		cwd: '/srv/work/repo',
		tool_name: 'Bash',
		tool_use_id: `toolu_search_${n}`,
		tool_input: input,
	};
	expect(
		(await api(svc, 'POST', '/api/v1/hooks', { ...base, hook_event_name: 'PreToolUse' })).status,
	).toBe(200);
	expect(
		(
			await api(svc, 'POST', '/api/v1/hooks', {
				...base,
				hook_event_name: 'PostToolUse',
				tool_response: response,
				duration_ms: 4,
			})
		).status,
	).toBe(200);
}

const text = (snippet: Array<{ text: string; hit: boolean }>) =>
	snippet.map((p) => (p.hit ? `[${p.text}]` : p.text)).join('');

describe.each(DATABASE_KINDS)('GET /api/v1/sessions?search= (%s)', (kind) => {
	let svc: TestService;
	const ids: Record<string, string> = {};
	const search = async (query: string) => {
		const res = await api(svc, 'GET', `/api/v1/sessions?${query}`);
		expect(res.status).toBe(200);
		return res.body as { items: any[]; nextCursor: string | null };
	};

	beforeAll(async () => {
		svc = await startTestService(kind);
		ids.output = await session(svc, {
			prompt: 'Run the test suite',
			workspaceType: 'local',
			repository: 'acme/widgets',
		});
		ids.quiet = await session(svc, { prompt: 'Tidy the changelog', workspaceType: 'local' });
		ids.message = await session(svc, { prompt: 'Ship it', workspaceType: 'worktree' });
		// The word only in one tool's output, on a line of its own after others.
		await toolCall(svc, ids.output, 1, {
			stdout:
				'collecting tests\n3 passed\nFAILED tests/test_zanzibar.py::test_quokkaframe - AssertionError\n1 failed',
			exitCode: 1,
		});
		await toolCall(svc, ids.quiet, 2, { stdout: 'nothing to see here' });
		const posted = await api(svc, 'POST', `/api/v1/sessions/${ids.message}/messages`, {
			messages: [
				{
					direction: 'assistant',
					content: 'The deployment pipelines were failing because the registry token expired.',
				},
			],
		});
		expect(posted.status).toBe(201);
		for (let i = 0; i < 5; i++) {
			ids[`ranked${i}`] = await session(svc, {
				prompt: `Chore ${i}`,
				workspaceType: i % 2 ? 'local' : 'e2b',
			});
			// Session ranked4 mentions the word most often, ranked0 least.
			await toolCall(svc, ids[`ranked${i}`], 100 + i, {
				stdout: `${'marmalade '.repeat(i + 1)}and other words ${'filler '.repeat(20)}`,
			});
		}
	});
	afterAll(() => svc?.stop());

	it('finds the one session whose tool output holds a word, with the snippet around it', async () => {
		const page = await search('search=quokkaframe');
		expect(page.items.map((s) => s.id)).toEqual([ids.output]);
		const { match } = page.items[0];
		expect(match).toMatchObject({ source: 'tool_call', detail: 'Bash' });
		expect(match.rank).toBeGreaterThan(0);
		expect(text(match.snippet)).toContain('test_[quokkaframe]');
		expect(match.snippet.filter((p: any) => p.hit).map((p: any) => p.text)).toEqual([
			'quokkaframe',
		]);
		const logs = await api(svc, 'GET', `/api/v1/sessions/${ids.output}/logs`);
		expect(match.ref).toBe(String(logs.body.items[0].id));
	});

	it('matches word forms in messages, and says where the match is', async () => {
		const page = await search(`search=${encodeURIComponent('failed deployment')}`);
		expect(page.items.map((s) => s.id)).toEqual([ids.message]);
		expect(page.items[0].match).toMatchObject({ source: 'message', detail: 'assistant' });
		expect(text(page.items[0].match.snippet)).toMatch(/\[deployment\] pipelines were \[failing\]/);
	});

	it('ranks by relevance and pages by keyset without losing or repeating a session', async () => {
		const all = await search('search=marmalade&limit=50');
		expect(all.items.map((s) => s.id)).toEqual([4, 3, 2, 1, 0].map((i) => ids[`ranked${i}`]));
		const seen: string[] = [];
		let cursor: string | null = null;
		do {
			const page: { items: any[]; nextCursor: string | null } = await search(
				`search=marmalade&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
			);
			expect(page.items.length).toBeLessThanOrEqual(2);
			seen.push(...page.items.map((s) => s.id));
			cursor = page.nextCursor;
		} while (cursor);
		expect(seen).toEqual(all.items.map((s) => s.id));
	});

	it('combines with the status and workspace filters', async () => {
		const e2b = await search('search=marmalade&workspaceType=e2b');
		expect(e2b.items.map((s) => s.id)).toEqual([4, 2, 0].map((i) => ids[`ranked${i}`]));
		expect((await search('search=marmalade&status=completed')).items).toEqual([]);
		expect(
			(await search('search=marmalade&status=created&workspaceType=local')).items.map((s) => s.id),
		).toEqual([3, 1].map((i) => ids[`ranked${i}`]));
	});

	it('still finds a session by a piece of its repository or id, ranked after full-text matches', async () => {
		const byRepo = await search('search=acme%2Fwid');
		expect(byRepo.items.map((s) => s.id)).toEqual([ids.output]);
		expect(byRepo.items[0].match).toMatchObject({ source: 'session', rank: 0, snippet: null });
		expect((await search(`search=${ids.quiet.slice(0, 13)}`)).items.map((s) => s.id)).toEqual([
			ids.quiet,
		]);
		expect((await search('search=nothingmatchesthisword')).items).toEqual([]);
	});

	it('refuses a list cursor used for a search, and an empty search, with a 400', async () => {
		const listCursor = Buffer.from(
			JSON.stringify({ t: '2026-01-01 00:00:00+00', id: crypto.randomUUID() }),
		).toString('base64url');
		const bad = await api(svc, 'GET', `/api/v1/sessions?search=marmalade&cursor=${listCursor}`);
		expect(bad.status).toBe(400);
		expect(bad.body.message).toMatch(/cursor/);
		const empty = await api(svc, 'GET', '/api/v1/sessions?search=%20%20');
		expect(empty.status).toBe(400);
		expect(empty.body.message).toMatch(/search/);
	});
});
