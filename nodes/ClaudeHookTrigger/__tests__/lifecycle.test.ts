import crypto from 'node:crypto';
import type { IDataObject } from 'n8n-workflow';
import { api, DATABASE_KINDS, TEST_API_KEY } from '../../../test/support/test-service';
import {
	LOOPBACK_DELIVERY_ENV,
	serviceWithReceivers,
} from '../../../test/support/service-sessions';
import { ClaudeHookTrigger } from '../ClaudeHookTrigger.node';
import type { TriggerStaticData } from '../subscription-lifecycle';
import { hookContext, TriggerReceiver } from '../../../test/support/trigger-receiver';
import { waitFor } from '../../../test/support/wait';

describe.each(DATABASE_KINDS)(
	'Claude Hook Trigger webhook lifecycle against the service (%s)',
	(kind) => {
		const t = serviceWithReceivers(kind, LOOPBACK_DELIVERY_ENV);

		const methods = new ClaudeHookTrigger().webhookMethods.default;
		const context = (
			webhookUrl: string,
			parameters: IDataObject,
			staticData: TriggerStaticData,
			apiKey = TEST_API_KEY,
			logs?: Array<{ level: string; message: string }>,
		) =>
			hookContext({
				webhookUrl,
				parameters,
				staticData,
				credentials: { baseUrl: t.svc.url + '/', apiKey },
				logs,
			});

		it('checkExists → create → checkExists → delete, as n8n calls them on activation and deactivation', async () => {
			const url = `http://127.0.0.1:5678/webhook/${crypto.randomUUID()}/claude-hook`;
			const staticData: TriggerStaticData = {};
			const params = {
				preset: 'custom',
				events: ['PostToolUse', 'PreToolUse'],
				toolFilter: ' Edit|Write ',
				sessionId: '',
				threadKey: '',
				workspaceType: 'worktree',
			};
			const ctx = context(url, params, staticData);

			expect(await methods.checkExists.call(ctx)).toBe(false);
			expect(await methods.create.call(ctx)).toBe(true);
			expect(staticData.subscriptionId).toMatch(/^[0-9a-f-]{36}$/);
			expect(staticData.secret).toMatch(/^whsec_/);
			const registered = await api(
				t.svc,
				'GET',
				`/api/v1/subscriptions/${staticData.subscriptionId}`,
			);
			expect(registered.body).toMatchObject({
				url,
				events: ['PostToolUse', 'PreToolUse'],
				toolFilter: 'Edit|Write',
				sessionId: null,
				threadKey: null,
				workspaceType: 'worktree',
				workflowId: 'wf-hook-trigger-test',
				nodeName: 'Claude Hook Trigger',
			});
			expect(await methods.checkExists.call(ctx)).toBe(true);

			// Parameters changed since: the registration no longer fits, so n8n is told to create it again.
			expect(
				await methods.checkExists.call(context(url, { ...params, toolFilter: 'Bash' }, staticData)),
			).toBe(false);

			expect(await methods.delete.call(ctx)).toBe(true);
			expect(staticData).toEqual({});
			expect(
				(await api(t.svc, 'GET', `/api/v1/subscriptions?url=${encodeURIComponent(url)}`)).body
					.items,
			).toEqual([]);
			expect(await methods.checkExists.call(ctx)).toBe(false);
			// Deleting what is already gone is fine.
			expect(
				await methods.delete.call(
					context(url, params, { subscriptionId: crypto.randomUUID(), secret: 'x' }),
				),
			).toBe(true);
		});

		it('maps presets to events and takes back a URL it registered before (lost static data)', async () => {
			const url = `http://127.0.0.1:5678/webhook/${crypto.randomUUID()}/claude-hook`;
			const first: TriggerStaticData = {};
			expect(
				await methods.create.call(
					context(url, { preset: 'sessionFinished', toolFilter: 'Bash' }, first),
				),
			).toBe(true);
			expect(
				(await api(t.svc, 'GET', `/api/v1/subscriptions/${first.subscriptionId}`)).body,
			).toMatchObject({
				events: ['Stop', 'SessionEnd', 'StopFailure'],
				toolFilter: null, // a tool filter would hide every finishing event
			});

			const second: TriggerStaticData = {};
			const ctx = context(
				url,
				{ preset: 'permissionDenied', sessionId: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11' },
				second,
			);
			expect(await methods.checkExists.call(ctx)).toBe(false);
			expect(await methods.create.call(ctx)).toBe(true);
			expect(second.subscriptionId).toBe(first.subscriptionId);
			expect(second.secret).not.toBe(first.secret);
			expect(
				(await api(t.svc, 'GET', `/api/v1/subscriptions/${second.subscriptionId}`)).body,
			).toMatchObject({
				events: ['PermissionDenied'],
				sessionId: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
			});
			expect(await methods.checkExists.call(ctx)).toBe(true);

			expect(await methods.create.call(context(url, { preset: 'toolFailed' }, second))).toBe(true);
			expect(
				(await api(t.svc, 'GET', `/api/v1/subscriptions/${second.subscriptionId}`)).body.events,
			).toEqual(['PostToolUseFailure']);
			// The service's own event for replies that waited while a turn ran.
			expect(await methods.create.call(context(url, { preset: 'replyQueued' }, second))).toBe(true);
			expect(
				(await api(t.svc, 'GET', `/api/v1/subscriptions/${second.subscriptionId}`)).body.events,
			).toEqual(['ReplyQueued']);
			expect(await methods.delete.call(context(url, {}, second))).toBe(true);
		});

		it('registers the Progress preset with its minimum interval, and registers again when the interval changes', async () => {
			const url = `http://127.0.0.1:5678/webhook/${crypto.randomUUID()}/claude-hook`;
			const staticData: TriggerStaticData = {};
			const params = { preset: 'progress', minIntervalSeconds: 3 };
			expect(await methods.create.call(context(url, params, staticData))).toBe(true);
			expect(
				(await api(t.svc, 'GET', `/api/v1/subscriptions/${staticData.subscriptionId}`)).body,
			).toMatchObject({
				events: ['PostToolUse', 'PostToolUseFailure', 'RunFinished'],
				minIntervalSeconds: 3,
			});
			expect(await methods.checkExists.call(context(url, params, staticData))).toBe(true);
			expect(
				await methods.checkExists.call(
					context(url, { ...params, minIntervalSeconds: 5 }, staticData),
				),
			).toBe(false);
			// 0 is every event: no interval is stored.
			expect(
				await methods.create.call(context(url, { ...params, minIntervalSeconds: 0 }, staticData)),
			).toBe(true);
			expect(
				(await api(t.svc, 'GET', `/api/v1/subscriptions/${staticData.subscriptionId}`)).body
					.minIntervalSeconds,
			).toBeNull();
			await expect(
				methods.create.call(context(url, { ...params, minIntervalSeconds: 2.5 }, staticData)),
			).rejects.toThrow('whole number from 0 to 3600');
			expect(await methods.delete.call(context(url, {}, staticData))).toBe(true);
		});

		it('surfaces what the service refuses and a wrong key, and logs a failed delete', async () => {
			const staticData: TriggerStaticData = {};
			await expect(
				methods.create.call(
					context(
						`http://10.0.0.7/webhook/${crypto.randomUUID()}/claude-hook`,
						{ preset: 'custom', events: ['*'] },
						staticData,
					),
				),
			).rejects.toMatchObject({ httpCode: '400' });
			await expect(
				methods.create.call(
					context('http://127.0.0.1/x', { preset: 'custom', events: [] }, staticData),
				),
			).rejects.toThrow('Choose at least one event');
			await expect(
				methods.checkExists.call(
					context(
						'http://127.0.0.1/x',
						{},
						{ subscriptionId: crypto.randomUUID(), secret: 's' },
						'wrong-key-0123456789',
					),
				),
			).rejects.toMatchObject({ httpCode: '401' });
			const logs: Array<{ level: string; message: string }> = [];
			const kept = { subscriptionId: crypto.randomUUID(), secret: 's' };
			expect(
				await methods.delete.call(
					context('http://127.0.0.1/x', {}, kept, 'wrong-key-0123456789', logs),
				),
			).toBe(false);
			expect(logs).toEqual([expect.objectContaining({ level: 'error' })]);
			expect(kept.subscriptionId).toBeDefined();
		});

		it('keeps working across an n8n restart: a new node instance with the stored static data verifies deliveries', async () => {
			const receiver = new TriggerReceiver();
			t.receivers.push(receiver);
			await receiver.start();
			expect(
				await methods.create.call(
					context(receiver.url, { preset: 'toolFailed' }, receiver.staticData),
				),
			).toBe(true);

			// n8n keeps static data as JSON with the workflow and, on restart, calls neither checkExists nor create.
			const restored = JSON.parse(JSON.stringify(receiver.staticData)) as TriggerStaticData;
			receiver.staticData = restored;
			Object.assign(receiver, { node: new ClaudeHookTrigger() });

			const sessionId = crypto.randomUUID();
			const res = await api(t.svc, 'POST', '/api/v1/hooks', {
				session_id: sessionId,
				hook_event_name: 'PostToolUseFailure',
				tool_name: 'Bash',
				tool_use_id: 'toolu_restart',
				tool_input: { command: 'false' },
				error: 'Exit code 1',
			});
			expect(res.status).toBe(200);
			expect(await waitFor(() => receiver.emitted.length === 1, 10_000)).toBe(true);
			expect(receiver.emitted[0]).toMatchObject({
				event: 'PostToolUseFailure',
				sessionId,
				toolName: 'Bash',
				error: 'Exit code 1',
			});
			expect(receiver.requests.map((r) => r.status)).toEqual([200]);
		});
	},
);
