// Hand-written n8n contexts for the Claude Hook Trigger, and a real HTTP receiver that runs its webhook():
// what n8n does around the node, without n8n. Used by the node's tests and by the service's delivery suites.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
	IDataObject,
	IHookFunctions,
	IHttpRequestOptions,
	INode,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { ClaudeHookTrigger } from '../../nodes/ClaudeHookTrigger/ClaudeHookTrigger.node';
import type { TriggerStaticData } from '../../nodes/ClaudeHookTrigger/subscription-lifecycle';

const NODE: INode = {
	id: 'b1f1f3a0-0000-4000-8000-000000000001',
	name: 'Claude Hook Trigger',
	type: 'n8n-nodes-claude-orchestrator.claudeHookTrigger',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};

const logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface Captured {
	status?: number;
	body?: unknown;
}

/** An IWebhookFunctions with what webhook() reads: request, headers, body, parameters, static data, response. */
export function webhookContext(opts: {
	headers: Record<string, string | string[] | undefined>;
	rawBody?: Buffer;
	body: IDataObject;
	staticData: TriggerStaticData;
	parameters?: IDataObject;
}): { ctx: IWebhookFunctions; response: Captured } {
	const response: Captured = {};
	const res = {
		status(code: number) {
			response.status = code;
			return res;
		},
		json(body: unknown) {
			response.body = body;
			return res;
		},
	};
	const parameters: IDataObject = { options: {}, ...opts.parameters };
	const ctx = {
		getNode: () => NODE,
		getMode: () => 'webhook',
		getRequestObject: () => ({ rawBody: opts.rawBody, body: opts.body, headers: opts.headers }),
		getResponseObject: () => res,
		getHeaderData: () => opts.headers,
		getBodyData: () => opts.body,
		getWorkflowStaticData: () => opts.staticData,
		getNodeParameter: (name: string, fallback?: unknown) =>
			name in parameters ? parameters[name] : fallback,
		helpers: { returnJsonArray: (items: IDataObject[]) => items.map((json) => ({ json })) },
		logger,
	};
	return { ctx: ctx as unknown as IWebhookFunctions, response };
}

export class HttpError extends Error {
	constructor(
		readonly httpCode: string,
		readonly response: { status: number; data: unknown },
	) {
		super(`Request failed with status code ${httpCode}`);
	}
}

/**
 * An IHookFunctions for webhookMethods, with httpRequestWithAuthentication done as n8n does it for this
 * credential: the Bearer header from `authenticate`, JSON in and out, and a non-2xx thrown with its status.
 */
export function hookContext(opts: {
	webhookUrl: string;
	parameters: IDataObject;
	staticData: TriggerStaticData;
	credentials: { baseUrl: string; apiKey: string };
	workflowId?: string;
	logs?: Array<{ level: string; message: string }>;
}): IHookFunctions {
	const record = (level: string) => (message: string) => opts.logs?.push({ level, message });
	const ctx = {
		getNode: () => NODE,
		getMode: () => 'trigger',
		getActivationMode: () => 'activate',
		getWorkflow: () => ({
			id: opts.workflowId ?? 'wf-hook-trigger-test',
			name: 'test',
			active: true,
		}),
		getWebhookName: () => 'default',
		getNodeWebhookUrl: (name: string) => (name === 'default' ? opts.webhookUrl : undefined),
		getNodeParameter: (name: string, fallback?: unknown) =>
			name in opts.parameters ? opts.parameters[name] : fallback,
		getWorkflowStaticData: () => opts.staticData,
		getCredentials: async (type: string) => {
			if (type !== 'claudeOrchestratorApi') throw new Error(`unexpected credential ${type}`);
			return { ...opts.credentials };
		},
		logger: {
			debug: record('debug'),
			info: record('info'),
			warn: record('warn'),
			error: record('error'),
		},
		helpers: {
			async httpRequestWithAuthentication(
				this: unknown,
				credentialType: string,
				req: IHttpRequestOptions,
			) {
				if (credentialType !== 'claudeOrchestratorApi')
					throw new Error(`unexpected credential ${credentialType}`);
				const url = new URL(req.url);
				for (const [k, v] of Object.entries(req.qs ?? {}))
					if (v !== undefined) url.searchParams.set(k, String(v));
				const res = await fetch(url, {
					method: req.method ?? 'GET',
					headers: {
						Authorization: `Bearer ${opts.credentials.apiKey}`,
						...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
					},
					body: req.body !== undefined ? JSON.stringify(req.body) : undefined,
				});
				const text = await res.text();
				const data = text ? JSON.parse(text) : undefined;
				if (!res.ok) throw new HttpError(String(res.status), { status: res.status, data });
				return data;
			},
		},
	};
	return ctx as unknown as IHookFunctions;
}

export type ReceiverMode =
	/** Run webhook() and answer as n8n does. */
	| 'ok'
	/** Answer 500 without running anything. */
	| 'fail'
	/** Never answer. */
	| 'hang'
	/** Run webhook(), then drop the connection instead of answering: the service must retry, the node must drop the repeat. */
	| 'lose-answer';

/**
 * The node's webhook() behind a real node:http server on 127.0.0.1, answering like n8n's webhook endpoint:
 * its `emitted` list is what the workflow would have been started with.
 */
export class TriggerReceiver {
	readonly node = new ClaudeHookTrigger();
	staticData: TriggerStaticData = {};
	parameters: IDataObject = {};
	mode: ReceiverMode = 'ok';
	/** Applied to the next request only, then back to `mode`. */
	nextMode?: ReceiverMode;
	readonly emitted: IDataObject[] = [];
	readonly requests: Array<{
		deliveryId: string;
		status: number | 'dropped' | 'hung';
		at: number;
	}> = [];
	private server?: http.Server;
	port = 0;

	constructor(readonly webhookPath = `/webhook/${crypto.randomUUID()}/claude-hook`) {}

	get url(): string {
		return `http://127.0.0.1:${this.port}${this.webhookPath}`;
	}

	async start(port = this.port): Promise<void> {
		const server = http.createServer((req, res) => void this.handle(req, res));
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(port, '127.0.0.1', () => resolve());
		});
		this.server = server;
		this.port = (server.address() as AddressInfo).port;
	}

	/** Really down: the port refuses connections until start() again. */
	async stop(): Promise<void> {
		const server = this.server;
		if (!server) return;
		this.server = undefined;
		await new Promise<void>((resolve) => {
			server.close(() => resolve());
			server.closeAllConnections();
		});
	}

	private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		const rawBody = Buffer.concat(chunks);
		const mode = this.nextMode ?? this.mode;
		this.nextMode = undefined;
		const deliveryId = String(req.headers['x-claude-orchestrator-delivery'] ?? '');
		const at = Date.now();
		if (mode === 'hang') {
			this.requests.push({ deliveryId, status: 'hung', at });
			return;
		}
		if (mode === 'fail') {
			this.requests.push({ deliveryId, status: 500, at });
			res
				.writeHead(500, { 'content-type': 'application/json' })
				.end('{"message":"receiver failing on purpose"}');
			return;
		}
		let body: IDataObject;
		try {
			body = JSON.parse(rawBody.toString('utf8')) as IDataObject;
		} catch {
			res.writeHead(400).end();
			return;
		}
		const { ctx, response } = webhookContext({
			headers: req.headers,
			rawBody,
			body,
			staticData: this.staticData,
			parameters: this.parameters,
		});
		const result: IWebhookResponseData = await this.node.webhook.call(ctx);
		for (const item of result.workflowData?.[0] ?? []) this.emitted.push(item.json);
		if (mode === 'lose-answer') {
			this.requests.push({ deliveryId, status: 'dropped', at });
			req.socket.destroy();
			return;
		}
		const status = result.noWebhookResponse ? (response.status ?? 500) : 200;
		this.requests.push({ deliveryId, status, at });
		if (result.noWebhookResponse)
			res
				.writeHead(status, { 'content-type': 'application/json' })
				.end(JSON.stringify(response.body));
		else if (result.webhookResponse !== undefined)
			res
				.writeHead(200, { 'content-type': 'application/json' })
				.end(JSON.stringify(result.webhookResponse));
		else res.writeHead(200).end();
	}
}
