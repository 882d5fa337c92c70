import { api, DATABASE_KINDS } from '../../../test/support/test-service';
import {
	LOOPBACK_DELIVERY_ENV,
	newSession,
	nodeSubscribedReceiver,
	serviceWithReceivers,
} from '../../../test/support/service-sessions';
import { waitFor, sleep } from '../../../test/support/wait';

describe.each(DATABASE_KINDS)('Claude Hook Trigger approval presets (%s)', (kind) => {
	const t = serviceWithReceivers(kind, LOOPBACK_DELIVERY_ENV);

	it('registers for ApprovalRequested and starts the workflow once per gated call, with what a message needs', async () => {
		const { svc } = t;
		const { receiver, events } = await nodeSubscribedReceiver(
			svc,
			{ preset: 'approvalRequested', toolFilter: '' },
			t.receivers,
		);
		expect(events).toEqual(['ApprovalRequested']);

		const threadKey = 'slack:C0OPS:1712345678.000100';
		const id = await newSession(svc, { workspacePath: '/srv/repo', threadKey });
		await api(svc, 'PUT', `/api/v1/sessions/${id}/approval-policy`, {
			rules: ['Bash(git push *)'],
			deciders: ['U0ALICE'],
		});
		const pre = (command: string, toolUseId: string) =>
			api(svc, 'POST', '/api/v1/hooks', {
				session_id: id,
				hook_event_name: 'PreToolUse',
				tool_name: 'Bash',
				tool_input: { command },
				tool_use_id: toolUseId,
			});
		await pre('git status', 'toolu_1');
		await pre('git push origin main', 'toolu_2');
		await pre('git push origin main', 'toolu_2'); // the resumed run asks again before anyone decided
		await api(svc, 'POST', '/api/v1/hooks', { session_id: id, hook_event_name: 'Stop' });

		expect(await waitFor(() => receiver.emitted.length >= 1, 10_000)).toBe(true);
		await sleep(300);
		expect(receiver.emitted).toHaveLength(1);
		const [approval] = (await api(svc, 'GET', `/api/v1/approvals?sessionId=${id}`)).body.items;
		expect(receiver.emitted[0]).toMatchObject({
			event: 'ApprovalRequested',
			source: 'service',
			sessionId: id,
			toolName: 'Bash',
			toolUseId: 'toolu_2',
			toolInput: { command: 'git push origin main' },
			session: { threadKey },
			payload: {
				approval_id: approval.id,
				thread_key: threadKey,
				deciders: ['U0ALICE'],
				expires_at: expect.any(String),
			},
		});
	});

	it('"Approval Decided" starts the workflow with the outcome, to update the message that asked', async () => {
		const { svc } = t;
		const { receiver: decided, events } = await nodeSubscribedReceiver(
			svc,
			{ preset: 'approvalDecided', toolFilter: '' },
			t.receivers,
		);
		expect(events).toEqual(['ApprovalDecided']);

		const id = await newSession(svc, { workspacePath: '/srv/repo' });
		await api(svc, 'PUT', `/api/v1/sessions/${id}/approval-policy`, {
			rules: ['Bash(make deploy)'],
		});
		await api(svc, 'POST', '/api/v1/hooks', {
			session_id: id,
			hook_event_name: 'PreToolUse',
			tool_name: 'Bash',
			tool_input: { command: 'make deploy' },
			tool_use_id: 'toolu_d',
		});
		const [approval] = (await api(svc, 'GET', `/api/v1/approvals?sessionId=${id}`)).body.items;
		expect(
			(
				await api(svc, 'POST', `/api/v1/approvals/${approval.id}/decision`, {
					decision: 'deny',
					decidedBy: 'U0BOB',
					channel: 'slack',
				})
			).status,
		).toBe(200);

		expect(await waitFor(() => decided.emitted.length >= 1, 10_000)).toBe(true);
		await sleep(300);
		expect(decided.emitted).toHaveLength(1);
		expect(decided.emitted[0]).toMatchObject({
			event: 'ApprovalDecided',
			sessionId: id,
			toolUseId: 'toolu_d',
			payload: {
				approval_id: approval.id,
				status: 'denied',
				decided_by: 'U0BOB',
				channel: 'slack',
			},
		});
	});
});
