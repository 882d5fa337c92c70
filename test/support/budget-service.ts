import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../service/src/config';
import { createScratchDatabase } from './scratch-database';
import { startService, type RunningService } from '../../service/src/service';
import { TEST_API_KEY } from './test-service';

/** A clock the test sets: budgets read their periods from it, so a UTC midnight can be crossed on demand. */
export interface TestClock {
	now(): Date;
	set(at: Date | string): void;
	advance(ms: number): void;
}

export function testClock(start: Date | string = new Date()): TestClock {
	let t = new Date(start).getTime();
	return {
		now: () => new Date(t),
		set: (at) => void (t = new Date(at).getTime()),
		advance: (ms) => void (t += ms),
	};
}

export interface BudgetTestService extends RunningService {
	clock: TestClock;
	stop(): Promise<void>;
}

/** The real service with an injected budget clock, on a fresh database of the given kind. */
export async function startBudgetService(
	kind: 'pglite' | 'postgres',
	env: Record<string, string> = {},
	clock = testClock(),
): Promise<BudgetTestService> {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-budget-'));
	const scratch =
		kind === 'postgres' ? await createScratchDatabase(process.env.TEST_DATABASE_URL!) : undefined;
	const config = loadConfig({
		PORT: '0',
		DATA_DIR: dataDir,
		API_KEY: TEST_API_KEY,
		...(scratch ? { DATABASE_URL: scratch.url } : {}),
		...env,
	});
	const service = await startService(config, { now: clock.now });
	return {
		...service,
		clock,
		async stop() {
			await service.close();
			await scratch?.drop();
			fs.rmSync(dataDir, { recursive: true, force: true });
		},
	};
}
