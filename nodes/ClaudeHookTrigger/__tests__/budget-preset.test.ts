import crypto from 'node:crypto';
import { api, DATABASE_KINDS } from '../../../test/support/test-service';
import {
	LOOPBACK_DELIVERY_ENV,
	nodeSubscribedReceiver,
	serviceWithReceivers,
} from '../../../test/support/service-sessions';
import { waitFor } from '../../../test/support/wait';

describe.each(DATABASE_KINDS)('Claude Hook Trigger budget presets (%s)', (kind) => {
	const t = serviceWithReceivers(kind, LOOPBACK_DELIVERY_ENV);

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
			const { svc } = t;
			try {
				const { receiver, events } = await nodeSubscribedReceiver(
					svc,
					{ preset, toolFilter: '' },
					t.receivers,
				);
				expect(events).toEqual([event]);

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
				await Promise.all(t.receivers.map((r) => r.stop()));
				await svc.db.query('DELETE FROM budgets');
				await svc.db.query('DELETE FROM sessions');
			}
		},
	);
});
