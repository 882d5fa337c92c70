import fs from 'node:fs';
import path from 'node:path';
import { serviceWithClaude } from '../../../../test/support/claude-service';
import { makeRepo } from '../../../../test/support/git';
import { startSession } from '../session-run';
import { sleep } from '../../../../test/support/wait';

const kind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`parallel sessions and service restarts (${kind})`, () => {
	const h = serviceWithClaude(kind, 'orch-par');
	let baseRepo: string;
	beforeAll(() => {
		baseRepo = makeRepo(path.join(h.fx.projects, 'app'), '# app\n');
	});
	const options = () => h.fx.options();

	const promptFor = (n: number) =>
		`[[bash:echo session-${n} > who.txt]] [[write:mine-${n}.txt::${n}]] [[read:who.txt]]`;

	it('runs 8 sessions at once in worktrees without mixing files or events', async () => {
		let t0 = Date.now();
		await startSession(h.client, {
			prompt: promptFor(0),
			workspace: { type: 'worktree', baseRepository: baseRepo },
			options: options(),
			deps: h.fx.deps,
		});
		const single = Date.now() - t0;

		t0 = Date.now();
		const outs = await Promise.all(
			Array.from({ length: 8 }, (_, i) =>
				startSession(h.client, {
					prompt: promptFor(i + 1),
					workspace: { type: 'worktree', baseRepository: baseRepo },
					options: options(),
					deps: h.fx.deps,
				}),
			),
		);
		const parallel = Date.now() - t0;
		process.stdout.write(
			`8 worktree sessions at once: ${parallel} ms wall; one session alone: ${single} ms\n`,
		);

		expect(new Set(outs.map((o) => o.workspace.path)).size).toBe(8);
		expect(new Set(outs.map((o) => o.workspace.branch)).size).toBe(8);
		for (const [i, out] of outs.entries()) {
			const n = i + 1;
			expect(out.status).toBe('completed');
			expect(fs.readFileSync(path.join(out.workspace.path, 'who.txt'), 'utf8')).toBe(
				`session-${n}\n`,
			);
			expect(fs.readdirSync(out.workspace.path).filter((f) => f.startsWith('mine-'))).toEqual([
				`mine-${n}.txt`,
			]);
			const logs = await h.client.request<any>('GET', `/api/v1/sessions/${out.sessionId}/logs`);
			expect(logs.items.map((c: any) => c.input?.command ?? c.input?.file_path)).toEqual([
				`echo session-${n} > who.txt`,
				path.join(out.workspace.path, `mine-${n}.txt`),
				path.join(out.workspace.path, 'who.txt'),
			]);
			const events = await h.client.request<any>(
				'GET',
				`/api/v1/sessions/${out.sessionId}/events?limit=200`,
			);
			expect(events.items.every((e: any) => e.payload.session_id === out.sessionId)).toBe(true);
			// What claude reported ran in this session's worktree (the service's own events, such as RunFinished, have no cwd).
			const fromClaude = events.items.filter((e: any) => e.payload.source !== 'service');
			expect(fromClaude.length).toBeGreaterThan(0);
			expect(fromClaude.every((e: any) => e.payload.cwd.startsWith(out.workspace.path))).toBe(true);
		}
	}, 180_000);

	it('loses no tool call when the service goes down in the middle of a run and comes back', async () => {
		const folder = h.fx.folder('restart');
		const run = startSession(h.client, {
			prompt:
				'[[bash:echo one > 1.txt]] [[delay:2500]] [[bash:echo two > 2.txt]] [[write:3.txt::three]] [[read:3.txt]]',
			workspace: { type: 'local', workspacePath: folder },
			options: options(),
			deps: h.fx.deps,
		});
		// Once the first tool call is visible, take the service away for 3 s (hooks and stream writes fail meanwhile).
		let sessionId: string | undefined;
		for (let i = 0; i < 100 && !sessionId; i++) {
			await sleep(100);
			const list = await h.client.request<any>('GET', '/api/v1/sessions?q=delay%3A2500');
			const s = list.items[0];
			if (
				s &&
				(await h.client.request<any>('GET', `/api/v1/sessions/${s.id}/logs`)).items.length > 0
			)
				sessionId = s.id;
		}
		expect(sessionId).toBeDefined();
		await h.svc.restart(3000);
		const out = await run;
		expect(out.status).toBe('completed');
		expect(fs.readFileSync(path.join(folder, '2.txt'), 'utf8')).toBe('two\n');
		const logs = await h.client.request<any>('GET', `/api/v1/sessions/${sessionId}/logs`);
		expect(logs.items.map((c: any) => c.tool)).toEqual(['Bash', 'Bash', 'Write', 'Read']);
		expect(logs.items.map((c: any) => [c.status, c.sources.includes('stream')])).toEqual(
			Array(4).fill(['succeeded', true]),
		);
	}, 120_000);
});
