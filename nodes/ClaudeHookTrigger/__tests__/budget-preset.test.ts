import crypto from 'node:crypto';
import {
	api,
	DATABASE_KINDS,
	startTestService,
	TEST_API_KEY,
	type TestService,
} from '../../../test/support/test-service';
import { ClaudeHookTrigger } from '../ClaudeHookTrigger.node';
import { hookContext, TriggerReceiver } from '../../../test/support/trigger-receiver';
import { waitFor } from '../../../test/support/wait';

describe.each(DATABASE_KINDS)('Claude Hook Trigger budget presets (%s)', (kind) => {
	let svc: TestService;
	beforeAll(async () => {
		svc = await startTestService(kind, {
			DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
			DELIVERY_POLL_INTERVAL_MS: '50',
		});
	});
	afterAll(() => svc?.stop());

	it.each([
		[
			'budgetWarning',
			'BudgetWarning',
			0.85,
			/^Budget warning: 80% used\. The budget for thread slack:C0OPS:1712345678\.000100: \$0\.8500 of \$1\.00 spent in all/,
		],
		[
			'budgetReached',
			'BudgetReached',
			1.25,
			/^Budget reached: new runs under it will not start\. The budget for thread slack:C0OPS:1712345678\.000100: \$1\.25 of \$1\.00 spent in all; it does not reset/,
		],
	])(
		'"%s" registers for %s and starts the workflow with the thread and the message',
		async (preset, event, cost, message) => {
			const receiver = new TriggerReceiver();
			await receiver.start();
			try {
				const ctx = hookContext({
					webhookUrl: receiver.url,
					parameters: { preset, toolFilter: '' },
					staticData: receiver.staticData,
					credentials: { baseUrl: svc.url, apiKey: TEST_API_KEY },
				});
				expect(await new ClaudeHookTrigger().webhookMethods.default.create.call(ctx)).toBe(true);
				expect(
					(await api(svc, 'GET', `/api/v1/subscriptions/${receiver.staticData.subscriptionId}`))
						.body.events,
				).toEqual([event]);

				const threadKey = 'slack:C0OPS:1712345678.000100';
				await api(svc, 'PUT', '/api/v1/budgets', {
					scope: 'thread',
					scopeValue: threadKey,
					limitUsd: 1,
				});
				const id = crypto.randomUUID();
				await api(svc, 'POST', '/api/v1/sessions', { id, threadKey });
				await api(svc, 'PUT', `/api/v1/sessions/${id}/runs/${crypto.randomUUID()}`, {
					kind: 'start',
					status: 'completed',
					costUsd: cost,
				});

				expect(await waitFor(() => receiver.emitted.length >= 1, 10_000)).toBe(true);
				expect(receiver.emitted[0]).toMatchObject({
					event,
					source: 'service',
					sessionId: id,
					session: { threadKey },
					payload: { thread_key: threadKey, limit_usd: 1 },
				});
				expect((receiver.emitted[0] as any).payload.message).toMatch(message);
			} finally {
				await receiver.stop();
				await svc.db.query('DELETE FROM budgets');
				await svc.db.query('DELETE FROM sessions');
			}
		},
	);
});
