import { startTestService, type TestService } from './test-service';

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

export interface BudgetTestService extends TestService {
	clock: TestClock;
}

/** The real service with an injected budget clock, on a fresh database of the given kind. */
export async function startBudgetService(
	kind: 'pglite' | 'postgres',
	env: Record<string, string> = {},
	clock = testClock(),
): Promise<BudgetTestService> {
	return Object.assign(await startTestService(kind, env, clock), { clock });
}
