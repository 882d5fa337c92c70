import type { OrchestratorClient } from '../../nodes/shared/session/client';
import { fetchClient } from '../../nodes/shared/session/fetch-client';
import { resumeSession, startSession } from '../../nodes/shared/session/session-run';
import { claudeFixture, toolCalls, type ClaudeFixture } from './claude-fixture';
import { startTestService, type TestService } from './test-service';
import { waitUntil } from './wait';

// A real service and the real claude CLI (against the fake API) for the suites that drive whole turns, and the
// steps those suites take before they act on a turn that is still running.

export interface ServiceWithClaude {
	svc: TestService;
	fx: ClaudeFixture;
	/** The nodes' client of the service, with the API key. */
	client: OrchestratorClient;
}

/**
 * Starts both before the describe block's tests and stops them after; the fields are set once beforeAll ran.
 * `env` is the service's (a short lease, for example).
 */
export function serviceWithClaude(
	kind: 'pglite' | 'postgres',
	prefix: string,
	env: Record<string, string> = {},
): ServiceWithClaude {
	const h = {} as ServiceWithClaude;
	beforeAll(async () => {
		[h.svc, h.fx] = await Promise.all([startTestService(kind, env), claudeFixture(prefix)]);
		h.client = fetchClient(h.svc.url, h.svc.apiKey);
	}, 180_000);
	afterAll(async () => {
		await h.svc?.stop();
		await h.fx?.close();
	});
	return h;
}

/** Starts a session's first turn in a worktree of a new repository; the turn's promise is not awaited. */
export function startWorktreeTurn(h: ServiceWithClaude, sessionId: string, prompt: string) {
	const repo = h.fx.repo('app');
	const run = startSession(h.client, {
		sessionId,
		prompt,
		workspace: { type: 'worktree', baseRepository: repo.path },
		options: h.fx.options(),
		deps: h.fx.deps,
	});
	return { repo, run };
}

/** The session's next turn, with the suite's options and folders. */
export function resumeTurn(h: ServiceWithClaude, sessionId: string, prompt: string) {
	return resumeSession(h.client, { sessionId, prompt, options: h.fx.options(), deps: h.fx.deps });
}

/** Whether at least `n` of the session's tool calls succeeded within a minute. */
export async function succeededCalls(
	client: OrchestratorClient,
	sessionId: string,
	n: number,
): Promise<boolean> {
	return waitUntil(
		async () =>
			(await toolCalls(client, sessionId).catch(() => [])).filter((c) => c.status === 'succeeded')
				.length >= n,
		60_000,
	);
}
