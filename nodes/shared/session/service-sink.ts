import type { RunSink, StreamInit, StreamMessage, ToolCallUpsert } from '../runner';
import type { MessageRequest, RunKind, ToolCallReport, UpdateSessionRequest } from '../protocol';
import type { OrchestratorClient } from './client';

/** Writes what the run's stream shows into the service, where it merges with hook events by tool_use_id. */
export function serviceSink(
	client: OrchestratorClient,
	sessionId: string,
	run: { id: string; kind: RunKind },
): RunSink {
	const base = `/api/v1/sessions/${sessionId}`;
	return {
		async onInit(init: StreamInit) {
			await client.request('PATCH', base, {
				status: 'running',
				...(init.cliVersion ? { cliVersion: init.cliVersion } : {}),
				...(init.model ? { model: init.model } : {}),
			} satisfies UpdateSessionRequest);
			// Claude Code sends no HTTP hook for SessionStart; the stream's init line stands in for it, so the
			// event list is complete and Hook Trigger workflows can react to it.
			await client.request('POST', '/api/v1/hooks', {
				session_id: sessionId,
				hook_event_name: 'SessionStart',
				source: run.kind === 'start' ? 'startup' : 'resume',
				cwd: init.cwd,
				model: init.model,
				permission_mode: init.permissionMode,
				claude_code_version: init.cliVersion,
				recorded_from: 'stream_init',
				run_id: run.id,
			});
		},
		async onMessages(messages: StreamMessage[]) {
			await client.request('POST', `${base}/messages`, {
				messages: messages.map(
					(m) =>
						({
							direction: m.direction,
							content: m.content,
							source: 'stream',
							externalId: m.uuid,
							createdAt: m.createdAt,
						}) satisfies MessageRequest,
				),
			});
		},
		async onToolCalls(calls: ToolCallUpsert[]) {
			await client.request('POST', `${base}/tool-calls`, {
				toolCalls: calls.map(
					(c) =>
						({
							toolUseId: c.toolUseId,
							toolName: c.toolName,
							input: c.input,
							response: c.response,
							status: c.status,
							startedAt: c.startedAt,
							finishedAt: c.finishedAt,
							durationMs: c.durationMs === undefined ? undefined : Math.round(c.durationMs),
							unfinished: c.unfinished,
						}) satisfies ToolCallReport,
				),
			});
		},
	};
}
