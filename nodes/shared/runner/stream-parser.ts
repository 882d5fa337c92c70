// Turns `claude -p --output-format stream-json --verbose` output, one line at a time, into typed records
// (reference/claude-code-cli.md §7). Pure: no I/O, never throws on input, so a garbled line cannot end a run.

export interface StreamInit {
	cliVersion?: string;
	model?: string;
	cwd?: string;
	permissionMode?: string;
	sessionId?: string;
	tools: string[];
}

export interface StreamMessage {
	uuid: string;
	direction: 'assistant';
	content: string;
	createdAt: string;
	/** Set for text forwarded from a subagent (--forward-subagent-text). */
	parentToolUseId?: string;
}

export interface ToolCallStart {
	toolUseId: string;
	toolName: string;
	input: unknown;
	startedAt: string;
}

export interface ToolCallResponse {
	/** The tool_result content as text (what the model saw). */
	content: string;
	/** The CLI's structured result (stdout/stderr, file info…), when the line carries one. */
	toolUseResult?: unknown;
}

export interface ToolCallFinish {
	toolUseId: string;
	response: ToolCallResponse;
	isError: boolean;
	finishedAt: string;
}

export interface PermissionDenial {
	tool_name?: string;
	tool_use_id?: string;
	tool_input?: unknown;
}

export interface DeferredToolUse {
	id: string;
	name: string;
	input: unknown;
}

export interface StreamResult {
	result?: string;
	isError: boolean;
	subtype?: string;
	terminalReason?: string;
	stopReason?: string;
	totalCostUsd?: number;
	usage?: Record<string, unknown>;
	modelUsage?: Record<string, unknown>;
	numTurns?: number;
	durationMs?: number;
	permissionDenials: PermissionDenial[];
	apiErrorStatus?: number | null;
	errors?: string[];
	deferredToolUse?: DeferredToolUse;
	sessionId?: string;
}

export interface HookLifecycle {
	phase: 'started' | 'response';
	hookId?: string;
	hookName?: string;
	hookEvent?: string;
	outcome?: string;
	exitCode?: number;
	output?: string;
}

export type StreamRecord =
	| { type: 'init'; init: StreamInit }
	| { type: 'message'; message: StreamMessage }
	| { type: 'tool_start'; call: ToolCallStart }
	| { type: 'tool_finish'; call: ToolCallFinish }
	| { type: 'result'; result: StreamResult }
	| { type: 'hook'; hook: HookLifecycle };

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
	return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function contentBlocks(message: unknown): Json[] {
	if (!isObject(message)) return [];
	const { content } = message;
	if (typeof content === 'string') return [{ type: 'text', text: content }];
	return Array.isArray(content) ? content.filter(isObject) : [];
}

/** tool_result content is a string or a list of blocks; keep the text and name what is not text. */
function resultText(content: unknown): string {
	if (typeof content === 'string') return content;
	if (!Array.isArray(content)) return '';
	return content
		.filter(isObject)
		.map((block) =>
			block.type === 'text' ? (str(block.text) ?? '') : `[${str(block.type) ?? 'block'}]`,
		)
		.join('\n');
}

export class StreamParser {
	/** Lines that were not JSON objects with a "type" (garbled, truncated, or stray text on stdout). */
	malformedLines = 0;
	/** Non-blank lines seen. */
	lines = 0;
	init?: StreamInit;
	/** Every result line, in order: a resumed run that settles a deferred tool call prints two. */
	readonly results: StreamResult[] = [];

	get lastResult(): StreamResult | undefined {
		return this.results[this.results.length - 1];
	}

	feed(rawLine: string): StreamRecord[] {
		const line = rawLine.trim();
		if (line.length === 0) return [];
		this.lines++;
		let parsed: unknown;
		try {
			parsed = JSON.parse(line);
		} catch {
			this.malformedLines++;
			return [];
		}
		if (!isObject(parsed) || typeof parsed.type !== 'string') {
			this.malformedLines++;
			return [];
		}
		try {
			return this.dispatch(parsed);
		} catch {
			// A well-formed line of an unexpected shape is still not worth failing a run over.
			this.malformedLines++;
			return [];
		}
	}

	private dispatch(line: Json): StreamRecord[] {
		switch (line.type) {
			case 'system':
				return this.system(line);
			case 'assistant':
				return this.assistant(line);
			case 'user':
				return this.user(line);
			case 'result':
				return [{ type: 'result', result: this.result(line) }];
			default:
				return [];
		}
	}

	private system(line: Json): StreamRecord[] {
		if (line.subtype === 'init') {
			this.init = {
				cliVersion: str(line.claude_code_version),
				model: str(line.model),
				cwd: str(line.cwd),
				permissionMode: str(line.permissionMode),
				sessionId: str(line.session_id),
				tools: Array.isArray(line.tools)
					? line.tools.filter((t): t is string => typeof t === 'string')
					: [],
			};
			return [{ type: 'init', init: this.init }];
		}
		if (line.subtype === 'hook_started' || line.subtype === 'hook_response') {
			return [
				{
					type: 'hook',
					hook: {
						phase: line.subtype === 'hook_started' ? 'started' : 'response',
						hookId: str(line.hook_id),
						hookName: str(line.hook_name),
						hookEvent: str(line.hook_event),
						outcome: str(line.outcome),
						exitCode: num(line.exit_code),
						output: str(line.output),
					},
				},
			];
		}
		return [];
	}

	private timestamp(line: Json): string {
		return str(line.timestamp) ?? new Date().toISOString();
	}

	private assistant(line: Json): StreamRecord[] {
		const records: StreamRecord[] = [];
		const createdAt = this.timestamp(line);
		const lineUuid =
			str(line.uuid) ?? str((line.message as Json | undefined)?.id) ?? `line-${this.lines}`;
		const parentToolUseId = str(line.parent_tool_use_id);
		let textIndex = 0;
		for (const block of contentBlocks(line.message)) {
			if (block.type === 'text') {
				const text = str(block.text) ?? '';
				if (text.length === 0) continue;
				// The CLI prints one line per block, so a second text block in one line is rare; keep ids unique anyway.
				const uuid = textIndex === 0 ? lineUuid : `${lineUuid}:${textIndex}`;
				textIndex++;
				const message: StreamMessage = { uuid, direction: 'assistant', content: text, createdAt };
				if (parentToolUseId) message.parentToolUseId = parentToolUseId;
				records.push({ type: 'message', message });
			} else if (block.type === 'tool_use') {
				const toolUseId = str(block.id);
				if (!toolUseId) continue;
				records.push({
					type: 'tool_start',
					call: {
						toolUseId,
						toolName: str(block.name) ?? 'unknown',
						input: block.input ?? {},
						startedAt: createdAt,
					},
				});
			}
		}
		return records;
	}

	private user(line: Json): StreamRecord[] {
		const finishedAt = this.timestamp(line);
		const results = contentBlocks(line.message).filter((block) => block.type === 'tool_result');
		// tool_use_result describes the line's one tool result; with several it cannot be attributed.
		const structured = results.length === 1 ? line.tool_use_result : undefined;
		return results.flatMap((block): StreamRecord[] => {
			const toolUseId = str(block.tool_use_id);
			if (!toolUseId) return [];
			const response: ToolCallResponse = { content: resultText(block.content) };
			if (structured !== undefined) response.toolUseResult = structured;
			return [
				{
					type: 'tool_finish',
					call: { toolUseId, response, isError: block.is_error === true, finishedAt },
				},
			];
		});
	}

	private result(line: Json): StreamResult {
		const deferred = isObject(line.deferred_tool_use) ? line.deferred_tool_use : undefined;
		const result: StreamResult = {
			result: str(line.result),
			isError: line.is_error === true,
			subtype: str(line.subtype),
			terminalReason: str(line.terminal_reason),
			stopReason: str(line.stop_reason),
			totalCostUsd: num(line.total_cost_usd),
			usage: isObject(line.usage) ? line.usage : undefined,
			modelUsage: isObject(line.modelUsage) ? line.modelUsage : undefined,
			numTurns: num(line.num_turns),
			durationMs: num(line.duration_ms),
			permissionDenials: Array.isArray(line.permission_denials)
				? line.permission_denials.filter(isObject)
				: [],
			apiErrorStatus: line.api_error_status === null ? null : num(line.api_error_status),
			errors: Array.isArray(line.errors) ? line.errors.map(String) : undefined,
			sessionId: str(line.session_id),
		};
		if (deferred && typeof deferred.id === 'string') {
			result.deferredToolUse = {
				id: deferred.id,
				name: str(deferred.name) ?? 'unknown',
				input: deferred.input,
			};
		}
		this.results.push(result);
		return result;
	}
}
