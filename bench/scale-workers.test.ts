import { runScale } from './scale-workers';

// `npm run bench:scale`: see scale-workers.ts. No jest config has bench/ among its roots: only that script runs it.
it('measures completed runs per minute with one and with two queue-mode workers', async () => {
	const results = await runScale();
	expect(results.map((r) => r.workers)).toEqual([1, 2]);
	for (const r of results) expect(r.completed).toBeGreaterThan(0);
}, 3_600_000);
