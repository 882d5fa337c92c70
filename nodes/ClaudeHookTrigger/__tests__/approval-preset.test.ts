import crypto from 'node:crypto';
import { api, DATABASE_KINDS, startTestService, TEST_API_KEY, type TestService } from '../../../service/test/harness';
import { ClaudeHookTrigger } from '../ClaudeHookTrigger.node';
import { hookContext, TriggerReceiver, waitFor } from './trigger-harness';

describe.each(DATABASE_KINDS)('Claude Hook Trigger "Approval Requested" (%s)', (kind) => {
	let svc: TestService;
	const receiver = new TriggerReceiver();
	beforeAll(async () => {
		svc = await startTestService(kind, { DELIVERY_ALLOWED_HOSTS: '127.0.0.1', DELIVERY_POLL_INTERVAL_MS: '50' });
		await receiver.start();
	});
	afterAll(async () => {
		await receiver.stop();
		await svc?.stop();
	});

	it('registers for ApprovalRequested and starts the workflow once per gated call, with what a message needs', async () => {
		const methods = new ClaudeHookTrigger().webhookMethods.default;
		const ctx = hookContext({
			webhookUrl: receiver.url,
			parameters: { preset: 'approvalRequested', toolFilter: '' },
			staticData: receiver.staticData,
			credentials: { baseUrl: svc.url, apiKey: TEST_API_KEY },
		});
		expect(await methods.create.call(ctx)).toBe(true);
		expect((await api(svc, 'GET', `/api/v1/subscriptions/${receiver.staticData.subscriptionId}`)).body.events).toEqual(['ApprovalRequested']);

		const id = crypto.randomUUID();
		const threadKey = 'slack:C0OPS:1712345678.000100';
		await api(svc, 'POST', '/api/v1/sessions', { id, workspaceType: 'local', workspacePath: '/srv/repo', threadKey });
		await api(svc, 'PUT', `/api/v1/sessions/${id}/approval-policy`, { rules: ['Bash(git push *)'], deciders: ['U0ALICE'] });
		const pre = (command: string, toolUseId: string) =>
			api(svc, 'POST', '/api/v1/hooks', { session_id: id, hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command }, tool_use_id: toolUseId });
		await pre('git status', 'toolu_1');
		await pre('git push origin main', 'toolu_2');
		await pre('git push origin main', 'toolu_2'); // the resumed run asks again before anyone decided
		await api(svc, 'POST', '/api/v1/hooks', { session_id: id, hook_event_name: 'Stop' });

		expect(await waitFor(() => receiver.emitted.length >= 1, 10_000)).toBe(true);
		await new Promise((r) => setTimeout(r, 300));
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
			payload: { approval_id: approval.id, thread_key: threadKey, deciders: ['U0ALICE'], expires_at: expect.any(String) },
		});
	});
});
