import crypto from 'node:crypto';
import type { IDataObject } from 'n8n-workflow';
import { signDelivery, SIGNATURE_HEADER, verifyDelivery } from '../../shared/protocol';
import { ClaudeHookTrigger } from '../ClaudeHookTrigger.node';
import { REMEMBERED_DELIVERIES } from '../receive-delivery';
import type { TriggerStaticData } from '../subscription-lifecycle';
import { webhookContext } from '../../../test/support/trigger-receiver';

const SECRET = 'whsec_test-secret-0123456789';

function delivery(overrides: IDataObject = {}): IDataObject {
	return {
		deliveryId: crypto.randomUUID(),
		event: 'PostToolUse',
		sessionId: '945f59de-4380-4001-88ed-13023a157a2e',
		toolName: 'Bash',
		toolUseId: 'toolu_1',
		toolInput: { command: 'echo hello' },
		toolResponse: { stdout: 'hello\n' },
		error: null,
		source: 'hook',
		payload: { hook_event_name: 'PostToolUse', tool_name: 'Bash' },
		session: {
			status: 'running',
			workspace: { type: 'local', path: '/srv/w', branch: null },
			threadKey: 'slack:C1:1.2',
			costUsd: 0.12,
		},
		run: {
			id: 'b7c0a3f2-1d4e-4f5a-8b6c-7d8e9f0a1b2c',
			status: 'running',
			statusMessage: 'slack:C1:1.3',
			toolCalls: 4,
		},
		coalesced: 2,
		occurredAt: '2026-11-24T21:00:00.000Z',
		...overrides,
	};
}

/** Calls webhook() the way n8n does for one HTTP request: raw bytes as sent, parsed body, headers. */
async function call(opts: {
	body: IDataObject;
	raw?: string;
	headers?: Record<string, string>;
	staticData: TriggerStaticData;
	tolerance?: number;
}) {
	const raw = opts.raw ?? JSON.stringify(opts.body);
	const { ctx, response } = webhookContext({
		headers: { 'content-type': 'application/json', ...opts.headers },
		rawBody: Buffer.from(raw),
		body: opts.body,
		staticData: opts.staticData,
		parameters: { options: opts.tolerance ? { toleranceSeconds: opts.tolerance } : {} },
	});
	const result = await new ClaudeHookTrigger().webhook.call(ctx);
	return { result, response };
}

const signed = (body: IDataObject, secret = SECRET, nowMs = Date.now()) => {
	const raw = JSON.stringify(body);
	return { body, raw, headers: { [SIGNATURE_HEADER]: signDelivery(secret, raw, nowMs) } };
};

describe('Claude Hook Trigger webhook()', () => {
	let staticData: TriggerStaticData;
	beforeEach(() => {
		staticData = { subscriptionId: crypto.randomUUID(), secret: SECRET };
	});

	it('emits one item for a valid delivery, with the event, tool, session summary and delivery id', async () => {
		const body = delivery();
		const { result } = await call({ ...signed(body), staticData });
		expect(result.noWebhookResponse).toBeUndefined();
		expect(result.workflowData).toHaveLength(1);
		expect(result.workflowData![0]).toHaveLength(1);
		// The item's shape, spelled out: the fields the node passes on.
		expect(result.workflowData![0][0].json).toEqual({
			event: 'PostToolUse',
			sessionId: body.sessionId,
			toolName: 'Bash',
			toolUseId: 'toolu_1',
			toolInput: { command: 'echo hello' },
			toolResponse: { stdout: 'hello\n' },
			error: null,
			source: 'hook',
			session: body.session,
			run: body.run,
			coalesced: 2,
			payload: body.payload,
			deliveryId: body.deliveryId,
			occurredAt: body.occurredAt,
		});
	});

	it('refuses an unsigned delivery with 401 and starts nothing', async () => {
		const { result, response } = await call({ body: delivery(), staticData });
		expect(result).toEqual({ noWebhookResponse: true });
		expect(response.status).toBe(401);
		expect(response.body).toMatchObject({ error: 'signature_unsigned' });
		expect(staticData.recentDeliveries).toBeUndefined();
	});

	it('refuses a delivery signed with another secret (forged)', async () => {
		const { result, response } = await call({
			...signed(delivery(), 'whsec_someone-elses-secret-000'),
			staticData,
		});
		expect(result.workflowData).toBeUndefined();
		expect(response).toMatchObject({ status: 401, body: { error: 'signature_forged' } });
	});

	it('refuses a body changed after signing', async () => {
		const s = signed(delivery());
		const tampered = { ...s.body, event: 'Stop' };
		const { result, response } = await call({
			body: tampered,
			raw: JSON.stringify(tampered),
			headers: s.headers,
			staticData,
		});
		expect(result.workflowData).toBeUndefined();
		expect(response).toMatchObject({ status: 401, body: { error: 'signature_forged' } });
	});

	it('refuses a signature with a moved timestamp (the timestamp is part of what is signed)', async () => {
		const s = signed(delivery(), SECRET, Date.now() - 3_600_000);
		const fresh = s.headers[SIGNATURE_HEADER].replace(
			/t=\d+/,
			`t=${Math.floor(Date.now() / 1000)}`,
		);
		const { response } = await call({ ...s, headers: { [SIGNATURE_HEADER]: fresh }, staticData });
		expect(response).toMatchObject({ status: 401, body: { error: 'signature_forged' } });
	});

	it('refuses an expired signature, and one from the future beyond the tolerance', async () => {
		const old = await call({ ...signed(delivery(), SECRET, Date.now() - 301_000), staticData });
		expect(old.response).toMatchObject({ status: 401, body: { error: 'signature_expired' } });
		const future = await call({ ...signed(delivery(), SECRET, Date.now() + 301_000), staticData });
		expect(future.response).toMatchObject({ status: 401, body: { error: 'signature_expired' } });
		// Within a raised tolerance the same age passes.
		const tolerated = await call({
			...signed(delivery(), SECRET, Date.now() - 301_000),
			staticData,
			tolerance: 600,
		});
		expect(tolerated.result.workflowData).toHaveLength(1);
	});

	it('refuses a malformed signature header', async () => {
		for (const header of [
			'v1=abc',
			't=123',
			'garbage',
			`t=${Math.floor(Date.now() / 1000)},v1=zz`,
		]) {
			const { response } = await call({
				body: delivery(),
				headers: { [SIGNATURE_HEADER]: header },
				staticData,
			});
			expect(response).toMatchObject({ status: 401, body: { error: 'signature_malformed' } });
		}
	});

	it('drops a replayed delivery: the same signed request twice starts the workflow once', async () => {
		const s = signed(delivery());
		const first = await call({ ...s, staticData });
		expect(first.result.workflowData).toHaveLength(1);
		const again = await call({ ...s, staticData });
		expect(again.result.workflowData).toBeUndefined();
		expect(again.result.webhookResponse).toMatchObject({
			duplicate: true,
			deliveryId: s.body.deliveryId,
		});
	});

	it('drops a redelivery of the same delivery id signed afresh (a service retry)', async () => {
		const body = delivery();
		expect(
			(await call({ ...signed(body, SECRET, Date.now() - 60_000), staticData })).result
				.workflowData,
		).toHaveLength(1);
		const retry = await call({ ...signed(body), staticData });
		expect(retry.result.workflowData).toBeUndefined();
		expect(retry.result.webhookResponse).toMatchObject({ duplicate: true });
	});

	it('remembers a bounded number of delivery ids', async () => {
		const ids: string[] = [];
		for (let i = 0; i < REMEMBERED_DELIVERIES + 20; i++) {
			const body = delivery();
			ids.push(body.deliveryId as string);
			expect((await call({ ...signed(body), staticData })).result.workflowData).toHaveLength(1);
		}
		expect(staticData.recentDeliveries).toHaveLength(REMEMBERED_DELIVERIES);
		expect(staticData.recentDeliveries!.at(-1)).toBe(ids.at(-1));
	});

	it('refuses everything when it holds no secret (never registered, or deactivated)', async () => {
		const { response } = await call({ ...signed(delivery()), staticData: {} });
		expect(response).toMatchObject({ status: 401, body: { error: 'not_registered' } });
	});

	it('verifies against the parsed body when n8n kept no raw bytes', async () => {
		const s = signed(delivery());
		const { ctx } = webhookContext({ headers: s.headers, body: s.body, staticData });
		const result = await new ClaudeHookTrigger().webhook.call(ctx);
		expect(result.workflowData).toHaveLength(1);
	});

	it('refuses a signed body without a delivery id', async () => {
		const { response } = await call({ ...signed({ event: 'Stop' }), staticData });
		expect(response).toMatchObject({ status: 400 });
	});
});

describe('signature', () => {
	it('is t=<unix>,v1=<hex hmac-sha256(secret, t.body)>', () => {
		const header = signDelivery('s3cret-s3cret-s3cret', '{"a":1}', 1_700_000_000_000);
		const expected = crypto
			.createHmac('sha256', 's3cret-s3cret-s3cret')
			.update('1700000000.{"a":1}')
			.digest('hex');
		expect(header).toBe(`t=1700000000,v1=${expected}`);
	});

	it('accepts any of several v1 values (secret rotation)', () => {
		const good = signDelivery('new-secret-new-secret', 'body', 1_700_000_000_000);
		const other = signDelivery('old-secret-old-secret', 'body', 1_700_000_000_000).split(',')[1];
		const check = verifyDelivery({
			secret: 'new-secret-new-secret',
			body: 'body',
			header: `${good},${other}`,
			nowMs: 1_700_000_000_000,
		});
		expect(check.ok).toBe(true);
	});
});

describe('Claude Hook Trigger description', () => {
	const d = new ClaudeHookTrigger().description;
	it('follows the trigger conventions n8n 2.41 loads', () => {
		expect(d.name).toBe('claudeHookTrigger');
		expect(d.displayName).toBe('Claude Hook Trigger');
		expect(d.group).toEqual(['trigger']);
		expect(d.inputs).toEqual([]);
		expect(d.outputs).toEqual(['main']);
		expect(d.credentials).toEqual([{ name: 'claudeOrchestratorApi', required: true }]);
		expect(d.webhooks).toEqual([
			// At once, or with Answer After the Workflow Ran once the workflow finished (n8n evaluates the expression).
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode:
					'={{ $parameter["options"]["answerAfterWorkflow"] ? "lastNode" : "onReceived" }}',
				responseData: 'noData',
				path: 'claude-hook',
			},
		]);
		expect(d.icon).toEqual({
			light: 'file:../../icons/claude.svg',
			dark: 'file:../../icons/claude.dark.svg',
		});
		expect(Object.keys(new ClaudeHookTrigger().webhookMethods.default).sort()).toEqual([
			'checkExists',
			'create',
			'delete',
		]);
		const names = d.properties.map((p) => p.name);
		expect(names).toEqual([
			'preset',
			'events',
			'toolFilter',
			'sessionId',
			'threadKey',
			'workspaceType',
			'minIntervalSeconds',
			'options',
		]);
	});

	it('offers every hook event and "any"', () => {
		const events = d.properties.find((p) => p.name === 'events')!;
		const values = (events.options as Array<{ value: string }>).map((o) => o.value);
		expect(values[0]).toBe('*');
		expect(values).toHaveLength(34);
		expect(values).toEqual(
			expect.arrayContaining([
				'PreToolUse',
				'PostToolUseFailure',
				'PermissionDenied',
				'Stop',
				'StopFailure',
				'SessionEnd',
			]),
		);
	});
});
