// A loopback fake of the Anthropic Messages API, good enough for the real `claude` CLI
// (reference/claude-code-cli.md §2, §4). The "model" is scripted by directives in the newest user prompt:
//   [[bash:CMD]] [[write:PATH::CONTENT]] [[read:PATH]]  one tool_use per turn, in order
//   [[bash:A]]+[[bash:B]]  steps joined by `+` are asked for in one turn, as parallel tool calls
//   [[delay:MS]]     sleep before answering the turn it precedes (or the final answer when last)
//   [[error:STATUS]] answer that turn with an HTTP error and an Anthropic-style error body
//   [[text:TEXT]]    the final text, instead of "Done: N tool call(s). Last result: …"
// Progress is read from the request's own messages (never from server state), so many sessions can run at
// once and `--resume` works: the resumed request carries the earlier turns plus the new prompt.
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
	/** The `x-claude-code-session-id` header: the CLI's session uuid. */
	sessionId: string | undefined;
	// The raw request body: tests inspect whatever part of the CLI's request they care about.
	body: any;
	at: number;
}

export interface FakeAnthropic {
	/** Base URL for ANTHROPIC_BASE_URL, e.g. http://127.0.0.1:40123 */
	url: string;
	requests: RecordedRequest[];
	requestsFor(sessionId: string): RecordedRequest[];
	close(): Promise<void>;
}

interface ContentBlock {
	type: string;
	text?: string;
	id?: string;
	name?: string;
	input?: unknown;
	tool_use_id?: string;
	content?: unknown;
	is_error?: boolean;
}

interface ApiMessage {
	role: string;
	content: string | ContentBlock[];
}

type ToolKind = 'bash' | 'write' | 'read';

interface TurnModifiers {
	delayMs: number;
	errorStatus?: number;
}

interface ToolStep extends TurnModifiers {
	kind: ToolKind;
	arg: string;
}

interface Script {
	/** One entry per model turn: the tool calls it asks for together. */
	turns: ToolStep[][];
	final: TurnModifiers;
	textOverride?: string;
}

type Reply =
	| { kind: 'error'; status: number; delayMs: number }
	| {
			kind: 'message';
			content: ContentBlock[];
			stopReason: 'tool_use' | 'end_turn';
			delayMs: number;
	  };

const DIRECTIVE = /\[\[(bash|write|read|delay|error|text):([\s\S]*?)\]\]/g;
const TOOL_NAMES: Record<ToolKind, string> = { bash: 'Bash', write: 'Write', read: 'Read' };

function hex(bytes: number): string {
	return randomBytes(bytes).toString('hex');
}

function blocksOf(message: ApiMessage): ContentBlock[] {
	if (typeof message.content === 'string') return [{ type: 'text', text: message.content }];
	return Array.isArray(message.content) ? message.content : [];
}

function isReminder(text: string): boolean {
	return text.trimStart().startsWith('<system-reminder>');
}

/** A real prompt is a user message with text of its own; tool results (even with a note beside them) are not. */
function promptOf(message: ApiMessage): string | undefined {
	if (message.role !== 'user') return undefined;
	const blocks = blocksOf(message);
	if (blocks.some((b) => b.type === 'tool_result')) return undefined;
	const texts = blocks.filter(
		(b) => b.type === 'text' && typeof b.text === 'string' && !isReminder(b.text),
	);
	return texts.length > 0 ? (texts[texts.length - 1].text as string) : undefined;
}

function findPrompt(messages: ApiMessage[]): { index: number; text: string } | undefined {
	for (let i = messages.length - 1; i >= 0; i--) {
		const text = promptOf(messages[i]);
		if (text !== undefined) return { index: i, text };
	}
	return undefined;
}

function parseScript(prompt: string): Script {
	const turns: ToolStep[][] = [];
	let pending: TurnModifiers = { delayMs: 0 };
	let textOverride: string | undefined;
	let lastEnd = -1;
	for (const match of prompt.matchAll(DIRECTIVE)) {
		const [, kind, arg] = match;
		if (kind === 'delay') pending.delayMs += Number(arg) || 0;
		else if (kind === 'error') pending.errorStatus = Number(arg) || 500;
		else if (kind === 'text') textOverride = arg;
		else {
			const step = { kind: kind as ToolKind, arg, ...pending };
			const joined = turns.length > 0 && prompt.slice(lastEnd, match.index) === '+';
			if (joined) turns[turns.length - 1].push(step);
			else turns.push([step]);
			pending = { delayMs: 0 };
			lastEnd = match.index + match[0].length;
		}
	}
	return { turns, final: pending, textOverride };
}

function toolResultText(block: ContentBlock): string {
	if (typeof block.content === 'string') return block.content;
	if (Array.isArray(block.content)) {
		return (block.content as ContentBlock[])
			.filter((b) => b.type === 'text')
			.map((b) => b.text ?? '')
			.join('\n');
	}
	return '';
}

/** The Write/Read tools want absolute paths; the CLI tells the model its cwd in the environment text. */
function workingDirectory(body: { system?: unknown; messages?: unknown }): string | undefined {
	const haystack = JSON.stringify([body.system ?? '', body.messages ?? []]);
	const match = /Primary working directory: ([^\\"]+)/.exec(haystack);
	return match ? match[1].trim() : undefined;
}

function absolute(path: string, cwd: string | undefined): string {
	if (path.startsWith('/') || !cwd) return path;
	return `${cwd.replace(/\/$/, '')}/${path}`;
}

function toolInput(step: ToolStep, cwd: string | undefined): Record<string, string> {
	if (step.kind === 'bash') return { command: step.arg, description: 'fake: run command' };
	if (step.kind === 'read') return { file_path: absolute(step.arg.trim(), cwd) };
	const separator = step.arg.indexOf('::');
	const path = separator === -1 ? step.arg : step.arg.slice(0, separator);
	const content = separator === -1 ? '' : step.arg.slice(separator + 2);
	return { file_path: absolute(path.trim(), cwd), content };
}

function isCompaction(messages: ApiMessage[]): boolean {
	const last = messages[messages.length - 1];
	if (!last || last.role !== 'user') return false;
	return blocksOf(last).some(
		(b) =>
			b.type === 'text' &&
			typeof b.text === 'string' &&
			/create a detailed summary|<summary>/.test(b.text),
	);
}

function decide(body: { messages?: ApiMessage[]; system?: unknown }): Reply {
	const messages = Array.isArray(body.messages) ? body.messages : [];
	if (isCompaction(messages)) {
		const text = `<analysis>fake analysis</analysis>\n<summary>Fake summary of ${messages.length} message(s).</summary>`;
		return {
			kind: 'message',
			content: [{ type: 'text', text }],
			stopReason: 'end_turn',
			delayMs: 0,
		};
	}
	const prompt = findPrompt(messages);
	if (!prompt) {
		return {
			kind: 'message',
			content: [{ type: 'text', text: 'fake: (no prompt)' }],
			stopReason: 'end_turn',
			delayMs: 0,
		};
	}
	const script = parseScript(prompt.text);
	const results = messages
		.slice(prompt.index + 1)
		.filter((m) => m.role === 'user')
		.flatMap((m) => blocksOf(m).filter((b) => b.type === 'tool_result'));

	// The turn that comes next: one per tool-calling answer already in the conversation. (Counted by answers, not
	// results: Claude Code drops a parallel call that was deferred beside another one from the conversation.)
	const turn = messages
		.slice(prompt.index + 1)
		.filter((m) => m.role === 'assistant' && blocksOf(m).some((b) => b.type === 'tool_use')).length;
	const next = script.turns[turn];
	if (next) {
		const [first] = next;
		if (first.errorStatus !== undefined)
			return { kind: 'error', status: first.errorStatus, delayMs: first.delayMs };
		const names = next.map((step) => TOOL_NAMES[step.kind]).join(' + ');
		const content: ContentBlock[] = [
			{ type: 'text', text: `Calling ${names} (step ${turn + 1}/${script.turns.length}).` },
			...next.map((step) => ({
				type: 'tool_use',
				id: `toolu_fake${hex(12)}`,
				name: TOOL_NAMES[step.kind],
				input: toolInput(step, workingDirectory(body)),
			})),
		];
		return { kind: 'message', content, stopReason: 'tool_use', delayMs: first.delayMs };
	}

	const { final } = script;
	if (final.errorStatus !== undefined)
		return { kind: 'error', status: final.errorStatus, delayMs: final.delayMs };
	let text: string;
	if (script.textOverride !== undefined) text = script.textOverride;
	else if (script.turns.length === 0) text = `fake: ${prompt.text.trim()}`;
	else {
		const last = results[results.length - 1];
		const label = last.is_error ? 'Last result (error)' : 'Last result';
		text = `Done: ${results.length} tool call(s). ${label}: ${toolResultText(last)}`;
	}
	return {
		kind: 'message',
		content: [{ type: 'text', text }],
		stopReason: 'end_turn',
		delayMs: final.delayMs,
	};
}

/** Roughly 4 characters per token: enough for the CLI to price the run like a real one. */
function estimateTokens(value: unknown): number {
	return Math.max(1, Math.ceil(JSON.stringify(value ?? '').length / 4));
}

const ERROR_TYPES: Record<number, string> = {
	400: 'invalid_request_error',
	401: 'authentication_error',
	403: 'permission_error',
	404: 'not_found_error',
	413: 'request_too_large',
	429: 'rate_limit_error',
	529: 'overloaded_error',
};

function sendJson(
	res: http.ServerResponse,
	status: number,
	payload: unknown,
	requestId: string,
): void {
	res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId });
	res.end(JSON.stringify(payload));
}

function sendError(
	res: http.ServerResponse,
	status: number,
	message: string,
	requestId: string,
): void {
	const type = ERROR_TYPES[status] ?? 'api_error';
	sendJson(
		res,
		status,
		{ type: 'error', error: { type, message }, request_id: requestId },
		requestId,
	);
}

function writeEvent(res: http.ServerResponse, event: string, data: unknown): void {
	res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function streamMessage(
	res: http.ServerResponse,
	message: Record<string, unknown>,
	content: ContentBlock[],
	stopReason: string,
	usage: { input_tokens: number; output_tokens: number },
	requestId: string,
): void {
	res.writeHead(200, {
		'content-type': 'text/event-stream; charset=utf-8',
		'cache-control': 'no-cache',
		'request-id': requestId,
	});
	const startUsage = {
		input_tokens: usage.input_tokens,
		output_tokens: 1,
		cache_creation_input_tokens: 0,
		cache_read_input_tokens: 0,
	};
	writeEvent(res, 'message_start', {
		type: 'message_start',
		message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: startUsage },
	});
	content.forEach((block, index) => {
		if (block.type === 'tool_use') {
			writeEvent(res, 'content_block_start', {
				type: 'content_block_start',
				index,
				content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
			});
			// Split the JSON like the real API does, so the CLI's partial-JSON assembly is exercised.
			const json = JSON.stringify(block.input);
			const cut = Math.ceil(json.length / 2);
			for (const part of [json.slice(0, cut), json.slice(cut)]) {
				writeEvent(res, 'content_block_delta', {
					type: 'content_block_delta',
					index,
					delta: { type: 'input_json_delta', partial_json: part },
				});
			}
		} else {
			writeEvent(res, 'content_block_start', {
				type: 'content_block_start',
				index,
				content_block: { type: 'text', text: '' },
			});
			writeEvent(res, 'content_block_delta', {
				type: 'content_block_delta',
				index,
				delta: { type: 'text_delta', text: block.text ?? '' },
			});
		}
		writeEvent(res, 'content_block_stop', { type: 'content_block_stop', index });
	});
	writeEvent(res, 'message_delta', {
		type: 'message_delta',
		delta: { stop_reason: stopReason, stop_sequence: null },
		usage: { ...startUsage, output_tokens: usage.output_tokens },
	});
	writeEvent(res, 'message_stop', { type: 'message_stop' });
	res.end();
}

export async function startFakeAnthropic(opts: { port?: number } = {}): Promise<FakeAnthropic> {
	const requests: RecordedRequest[] = [];
	const timers = new Set<NodeJS.Timeout>();

	const sleep = (ms: number, res: http.ServerResponse) =>
		new Promise<boolean>((resolve) => {
			if (ms <= 0) return resolve(true);
			const timer = setTimeout(() => {
				timers.delete(timer);
				resolve(true);
			}, ms);
			timers.add(timer);
			// A client that hangs up (the CLI was cancelled) ends the wait: nothing left to answer.
			res.once('close', () => {
				clearTimeout(timer);
				timers.delete(timer);
				resolve(false);
			});
		});

	const handle = async (req: http.IncomingMessage, res: http.ServerResponse, raw: string) => {
		const requestId = `req_fake${hex(12)}`;
		const path = (req.url ?? '').split('?')[0];
		if (req.method !== 'POST' || path !== '/v1/messages') {
			return sendError(res, 404, `fake: no route for ${req.method} ${path}`, requestId);
		}
		let body: { stream?: boolean; model?: string; messages?: ApiMessage[]; system?: unknown };
		try {
			body = JSON.parse(raw);
		} catch {
			return sendError(res, 400, 'fake: request body is not JSON', requestId);
		}
		const header = req.headers['x-claude-code-session-id'];
		requests.push({ sessionId: Array.isArray(header) ? header[0] : header, body, at: Date.now() });

		const reply = decide(body);
		if (!(await sleep(reply.delayMs, res))) return;
		if (reply.kind === 'error')
			return sendError(res, reply.status, `fake ${reply.status}`, requestId);

		const message = {
			id: `msg_fake${hex(12)}`,
			type: 'message',
			role: 'assistant',
			model: body.model ?? 'claude-fake',
		};
		const usage = {
			input_tokens: estimateTokens([body.system, body.messages]),
			output_tokens: estimateTokens(reply.content) + 8,
		};
		if (body.stream)
			return streamMessage(res, message, reply.content, reply.stopReason, usage, requestId);
		sendJson(
			res,
			200,
			{
				...message,
				content: reply.content,
				stop_reason: reply.stopReason,
				stop_sequence: null,
				usage: { ...usage, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
			},
			requestId,
		);
	};

	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((error: unknown) => {
				if (!res.headersSent) sendError(res, 500, `fake: ${String(error)}`, 'req_fake_internal');
				else res.destroy();
			});
		});
	});

	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
	});
	const { port } = server.address() as AddressInfo;

	return {
		url: `http://127.0.0.1:${port}`,
		requests,
		requestsFor: (sessionId) => requests.filter((r) => r.sessionId === sessionId),
		close: () =>
			new Promise<void>((resolve) => {
				for (const timer of timers) clearTimeout(timer);
				timers.clear();
				server.close(() => resolve());
				server.closeAllConnections();
			}),
	};
}
