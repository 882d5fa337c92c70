// What n8n shows when the service fails under Claude Resume: the node's execute() with a hand-made n8n context
// whose HTTP helper behaves like n8n's (a non-2xx is thrown with its status and body), against a real loopback
// server that answers every request 503 with the service's error shape.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
	NodeApiError,
	type IExecuteFunctions,
	type IHttpRequestOptions,
	type INode,
} from 'n8n-workflow';
import { HttpError } from '../../../test/support/trigger-receiver';
import { ClaudeResume } from '../ClaudeResume.node';

const NODE: INode = {
	id: 'r1',
	name: 'Claude Resume',
	type: 'n8n-nodes-claude-orchestrator.claudeResume',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};

const V1_PARAMETERS = {
	resumeBy: 'threadKey',
	threadKey: 'slack:C1:1700000000.000100',
	prompt: 'go on',
	options: {},
};

function executeContext(
	baseUrl: string,
	continueOnFail: boolean,
	typeVersion = 1,
	parameters: Record<string, unknown> = V1_PARAMETERS,
): IExecuteFunctions {
	const ctx = {
		getNode: () => ({ ...NODE, typeVersion }),
		getInputData: () => [{ json: { reply: 'go on' } }],
		getNodeParameter: (name: string, _i: number, fallback?: unknown) =>
			name in parameters ? parameters[name] : fallback,
		continueOnFail: () => continueOnFail,
		getExecutionCancelSignal: () => undefined,
		getCredentials: async (type: string) => {
			if (type === 'claudeOrchestratorApi') return { baseUrl, apiKey: 'k'.repeat(32) };
			throw new Error(`no ${type} credential`);
		},
		helpers: {
			async httpRequestWithAuthentication(_type: string, req: IHttpRequestOptions) {
				const res = await fetch(req.url, { method: req.method ?? 'GET' });
				const data = JSON.parse(await res.text());
				if (!res.ok) throw new HttpError(String(res.status), { status: res.status, data });
				return data;
			},
		},
	};
	return ctx as unknown as IExecuteFunctions;
}

describe('Claude Resume when the service fails', () => {
	let server: http.Server;
	let baseUrl: string;
	beforeAll(async () => {
		server = http.createServer((_req, res) => {
			res.writeHead(503, { 'content-type': 'application/json' });
			res.end(JSON.stringify({ error: 'unavailable', message: 'the database does not answer' }));
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	});
	afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

	it("passes n8n's NodeApiError through with its status, the service's message and the item index", async () => {
		const error = await new ClaudeResume().execute.call(executeContext(baseUrl, false)).then(
			() => undefined,
			(e: unknown) => e,
		);
		expect(error).toBeInstanceOf(NodeApiError);
		const apiError = error as NodeApiError;
		expect(apiError.httpCode).toBe('503');
		expect(apiError.message).toBe('Claude Orchestrator: the database does not answer');
		expect(apiError.description).toBe(
			`GET /api/v1/threads/slack%3AC1%3A1700000000.000100 on ${baseUrl}`,
		);
		expect(apiError.context.itemIndex).toBe(0);
	});

	it.each([
		['threadKey', 'slack:C1:1700000000.000100', '/api/v1/threads/slack%3AC1%3A1700000000.000100'],
		[
			'id',
			'1783e529-b137-4c6a-bc9b-97b1e0374b55',
			'/api/v1/sessions/1783e529-b137-4c6a-bc9b-97b1e0374b55',
		],
		[
			'list',
			'1783e529-b137-4c6a-bc9b-97b1e0374b55',
			'/api/v1/sessions/1783e529-b137-4c6a-bc9b-97b1e0374b55',
		],
	])('version 1.1 looks the session up by its locator (%s)', async (mode, value, route) => {
		const parameters = { session: { __rl: true, mode, value }, prompt: 'go on', options: {} };
		const error = await new ClaudeResume().execute
			.call(executeContext(baseUrl, false, 1.1, parameters))
			.then(
				() => undefined,
				(e: unknown) => e as NodeApiError,
			);
		expect(error?.description).toBe(`GET ${route} on ${baseUrl}`);
	});

	it('with Continue On Fail, the item carries the same message', async () => {
		const [items] = await new ClaudeResume().execute.call(executeContext(baseUrl, true));
		expect(items).toEqual([
			{
				json: { reply: 'go on', error: 'Claude Orchestrator: the database does not answer' },
				pairedItem: { item: 0 },
			},
		]);
	});
});
