// Runs one headless claude turn to the end: reads the whole stream (DESIGN.md decision 7), feeds the sink
// as it goes, enforces the timeout / cancel with SIGINT → SIGTERM → SIGKILL, and sums it up in a RunOutcome.
import { existsSync } from 'node:fs';
import type { SessionStatus } from '../protocol/sessions';
import type { ProcessLauncher, RunningProcess } from './types';
import { ClaudeNotFoundError } from './errors';
import { describeFailure } from './failure-message';
import {
	StreamParser,
	type DeferredToolUse,
	type PermissionDenial,
	type StreamRecord,
} from './stream-parser';
import {
	DEFAULT_BATCH,
	SinkDelivery,
	type BatchOptions,
	type RunSink,
	type Undelivered,
} from './sink-delivery';

export type {
	RunSink,
	ToolCallUpsert,
	ToolCallStatus,
	BatchOptions,
	Undelivered,
} from './sink-delivery';

export type RunStatus = Extract<
	SessionStatus,
	'completed' | 'failed' | 'timed_out' | 'cancelled' | 'stopped'
>;
type StopReason = 'timed_out' | 'cancelled' | 'stopped';

export interface RunClaudeOptions {
	launcher: ProcessLauncher;
	command: string;
	args: string[];
	cwd: string;
	env: Record<string, string>;
	sink: RunSink;
	timeoutMs: number;
	signal?: AbortSignal;
	/** Someone asked for the run to stop (the session's stop request): ends it as `stopped`, the same way. */
	stopSignal?: AbortSignal;
	batch?: BatchOptions;
	/** How long to wait after SIGINT, and again after SIGTERM, before the next signal. */
	graceMs?: number;
	/** The same for a stop a person asked for, who waits to hear it is done (SIGINT ends claude in ~0.1 s). */
	stopGraceMs?: number;
	/** Upper bound for delivering what is left to the sink once the process has ended. */
	drainMs?: number;
	/** Called once claude has exited, before what is left goes to the sink. */
	onExited?: () => void;
	/** Sees every parsed record (hook lifecycle lines included), synchronously; errors it throws are ignored. */
	onRecord?: (record: StreamRecord) => void;
}

export interface RunOutcome {
	status: RunStatus;
	result: string | undefined;
	isError: boolean;
	subtype: string | undefined;
	terminalReason: string | undefined;
	costUsd: number | undefined;
	usage: Record<string, unknown> | undefined;
	modelUsage: Record<string, unknown> | undefined;
	numTurns: number | undefined;
	durationMs: number | undefined;
	permissionDenials: PermissionDenial[];
	cliVersion: string | undefined;
	exitCode: number | null;
	exitSignal: string | null;
	errorMessage?: string;
	stderrTail: string;
	malformedLines: number;
	/** Every tool_use id the stream showed, in order: the key for reconciling with hook events. */
	toolUseIds: string[];
	undelivered: Undelivered;
	/** How many result lines were printed (a prompted resume of a deferred call prints two; the last one counts). */
	resultCount: number;
	sessionId: string | undefined;
	/** Set when a PreToolUse hook deferred a tool call: resume the session to settle it. */
	deferredToolUse: DeferredToolUse | undefined;
}

export const DEFAULT_GRACE_MS = 3_000;
export const DEFAULT_STOP_GRACE_MS = 1_000;
export const DEFAULT_DRAIN_MS = 5_000;
const STDERR_TAIL_CHARS = 4_000;

/** Resolves true if the process exits within ms, false otherwise; never leaves a timer behind. */
function exitsWithin(exited: Promise<unknown>, ms: number): Promise<boolean> {
	return new Promise((resolve) => {
		const timer = setTimeout(() => resolve(false), ms);
		void exited.then(() => {
			clearTimeout(timer);
			resolve(true);
		});
	});
}

/** SIGINT first: claude then still prints a result line and exits 0. SIGTERM prints none; SIGKILL is the end. */
async function stopProcess(proc: RunningProcess, graceMs: number): Promise<boolean> {
	for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
		proc.signal(signal);
		if (await exitsWithin(proc.exited, graceMs)) return true;
	}
	return false;
}

function launchFailure(error: unknown, options: RunClaudeOptions): Error {
	const code = (error as NodeJS.ErrnoException | undefined)?.code;
	if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') {
		// spawn reports a missing cwd with the same ENOENT as a missing executable.
		if (!existsSync(options.cwd))
			return new Error(`The working directory "${options.cwd}" does not exist.`);
		return new ClaudeNotFoundError(`"${options.command}" could not be started (${code})`);
	}
	return error instanceof Error ? error : new Error(String(error));
}

function durationBetween(startedAt: string | undefined, finishedAt: string): number | undefined {
	if (!startedAt) return undefined;
	const ms = Date.parse(finishedAt) - Date.parse(startedAt);
	return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

export async function runClaude(options: RunClaudeOptions): Promise<RunOutcome> {
	const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
	const parser = new StreamParser();
	const delivery = new SinkDelivery(options.sink, options.batch ?? DEFAULT_BATCH);
	const toolUseIds: string[] = [];
	const startedAt = new Map<string, string>();
	let stderrTail = '';

	const handleLine = (line: string) => {
		for (const record of parser.feed(line)) {
			try {
				options.onRecord?.(record);
			} catch {
				// An observer's bug must not break the run.
			}
			if (record.type === 'init') delivery.init(record.init);
			else if (record.type === 'message') delivery.message(record.message);
			else if (record.type === 'tool_start') {
				const { call } = record;
				if (!startedAt.has(call.toolUseId)) toolUseIds.push(call.toolUseId);
				startedAt.set(call.toolUseId, call.startedAt);
				delivery.toolCall({ ...call, status: 'running' });
			} else if (record.type === 'tool_finish') {
				const { call } = record;
				delivery.toolCall({
					toolUseId: call.toolUseId,
					response: call.response,
					isError: call.isError,
					status: call.isError ? 'failed' : 'succeeded',
					finishedAt: call.finishedAt,
					durationMs: durationBetween(startedAt.get(call.toolUseId), call.finishedAt),
				});
			}
		}
	};

	// A holder, not a plain variable: the timer and abort callbacks set it, which TypeScript's narrowing can't see.
	const stopState: { reason?: StopReason } = {
		reason: options.signal?.aborted
			? 'cancelled'
			: options.stopSignal?.aborted
				? 'stopped'
				: undefined,
	};
	let exit: { code: number | null; signal: string | null } = { code: null, signal: null };

	if (!stopState.reason) {
		let proc: RunningProcess;
		try {
			proc = await options.launcher.launch({
				command: options.command,
				args: options.args,
				cwd: options.cwd,
				env: options.env,
			});
		} catch (error) {
			throw launchFailure(error, options);
		}
		proc.onLine(handleLine);
		proc.onStderr((chunk) => {
			stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
		});

		let stopping: Promise<boolean> | undefined;
		let stopRequested!: () => void;
		const stopped = new Promise<undefined>((resolve) => {
			stopRequested = () => resolve(undefined);
		});
		const stop = (reason: StopReason) => {
			if (stopping) return;
			stopState.reason = reason;
			stopping = stopProcess(
				proc,
				reason === 'stopped' ? (options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS) : graceMs,
			);
			stopRequested();
		};
		const timer = setTimeout(() => stop('timed_out'), options.timeoutMs);
		const onAbort = () => stop('cancelled');
		const onStop = () => stop('stopped');
		options.signal?.addEventListener('abort', onAbort, { once: true });
		options.stopSignal?.addEventListener('abort', onStop, { once: true });
		// The launch may have raced an abort that fired before the listener existed.
		if (options.signal?.aborted) onAbort();
		if (options.stopSignal?.aborted) onStop();

		try {
			const first = await Promise.race([proc.exited, stopped]);
			if (first) exit = first;
			// Stopping: wait for the signal sequence; a process that survives even SIGKILL is left with no exit code.
			else if (stopping && (await stopping)) exit = await proc.exited;
		} finally {
			clearTimeout(timer);
			options.signal?.removeEventListener('abort', onAbort);
			options.stopSignal?.removeEventListener('abort', onStop);
		}
		// After a stop, take down whatever claude left in its group (tool shells, MCP servers).
		if (stopState.reason) proc.signal('SIGKILL');
	}

	const last = parser.lastResult;
	let status: RunStatus;
	if (stopState.reason) status = stopState.reason;
	else status = exit.code === 0 && last !== undefined && !last.isError ? 'completed' : 'failed';

	let errorMessage: string | undefined;
	if (status === 'timed_out') {
		errorMessage = `claude did not finish within ${options.timeoutMs} ms and was stopped. Raise the timeout or narrow the task.`;
	} else if (status === 'cancelled') {
		errorMessage = 'The run was cancelled and claude was stopped.';
	} else if (status === 'stopped') {
		errorMessage = 'Someone asked for the run to stop, and claude was stopped.';
	} else if (status === 'failed') {
		errorMessage = describeFailure({
			result: last,
			exitCode: exit.code,
			exitSignal: exit.signal,
			stderrTail,
		});
	}

	// A call that never got its result will not get one now; don't leave it "running" forever.
	if (status !== 'completed') {
		const finishedAt = new Date().toISOString();
		for (const call of delivery.toolCalls()) {
			if (call.status !== 'running' || call.toolUseId === last?.deferredToolUse?.id) continue;
			delivery.toolCall({
				toolUseId: call.toolUseId,
				status: 'failed',
				isError: true,
				unfinished: true,
				response: { content: `The tool call did not finish: the run ended as ${status}.` },
				finishedAt,
				durationMs: durationBetween(call.startedAt, finishedAt),
			});
		}
	}

	// Not for a process given up on (it survived SIGKILL): what it was writing may not be complete.
	if (exit.code !== null || exit.signal !== null) options.onExited?.();
	const undelivered = await delivery.finish(options.drainMs ?? DEFAULT_DRAIN_MS);

	const outcome: RunOutcome = {
		status,
		result: last?.result,
		// A stop was asked for: ending is what should happen (the CLI's SIGINT result says error_during_execution).
		isError: status === 'stopped' ? false : status !== 'completed' || (last?.isError ?? false),
		subtype: last?.subtype,
		terminalReason: last?.terminalReason,
		costUsd: last?.totalCostUsd,
		usage: last?.usage,
		modelUsage: last?.modelUsage,
		numTurns: last?.numTurns,
		durationMs: last?.durationMs,
		permissionDenials: last?.permissionDenials ?? [],
		cliVersion: parser.init?.cliVersion,
		exitCode: exit.code,
		exitSignal: exit.signal,
		stderrTail,
		malformedLines: parser.malformedLines,
		toolUseIds,
		undelivered,
		resultCount: parser.results.length,
		sessionId: last?.sessionId ?? parser.init?.sessionId,
		deferredToolUse: last?.deferredToolUse,
	};
	if (errorMessage) outcome.errorMessage = errorMessage;
	return outcome;
}
