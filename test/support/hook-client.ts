import crypto from 'node:crypto';
import http from 'node:http';

// Hook events as Claude Code posts them: payloads for the service suites, and a plain poster for the suites that
// kill or balance the service under load.

/** One POST per event, fixed 5 s timeout, no retry whatever the answer; the status, or 0 when none came. */
export function postHook(url: string, token: string, body: unknown): Promise<number> {
	const data = JSON.stringify(body);
	return new Promise((resolve) => {
		const req = http.request(`${url}/api/v1/hooks`, {
			method: 'POST',
			agent: false,
			timeout: 5000,
			headers: {
				'content-type': 'application/json',
				'content-length': Buffer.byteLength(data),
				authorization: `Bearer ${token}`,
			},
		});
		req.on('response', (res) => {
			res.resume();
			res.on('end', () => resolve(res.statusCode ?? 0));
		});
		req.on('timeout', () => req.destroy());
		req.on('error', () => resolve(0));
		req.end(data);
	});
}

/** A Bash call's PreToolUse or PostToolUse hook payload, as Claude Code sends it. */
export function bashHookEvent(
	sessionId: string,
	event: 'PreToolUse' | 'PostToolUse',
	toolUseId: string,
) {
	return {
		session_id: sessionId,
		hook_event_name: event,
		tool_name: 'Bash',
		tool_use_id: toolUseId,
		cwd: '/srv/app',
		tool_input: { command: `echo ${toolUseId}` },
		...(event === 'PostToolUse'
			? { tool_response: { stdout: `${toolUseId}\n` }, duration_ms: 12 }
			: {}),
	};
}

/** A PreToolUse of `ls` under a new tool_use_id, with `extra` fields over it. */
export function lsPreToolUse(sessionId: string, extra: Record<string, unknown> = {}) {
	return {
		session_id: sessionId,
		hook_event_name: 'PreToolUse',
		tool_name: 'Bash',
		tool_use_id: `toolu_${crypto.randomUUID()}`,
		tool_input: { command: 'ls' },
		...extra,
	};
}
