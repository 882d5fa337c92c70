import { RUN_ID_RESOURCE_ATTRIBUTE } from '../protocol';

/**
 * Telemetry the user configured for claude themselves (their own collector): theirs stays as it is, and the run's
 * cost so far is then not reported (a Hook Trigger delivery says `costUsd: null` until the run ends).
 */
const USER_TELEMETRY = [
	'CLAUDE_CODE_ENABLE_TELEMETRY',
	'OTEL_LOGS_EXPORTER',
	'OTEL_METRICS_EXPORTER',
	'OTEL_EXPORTER_OTLP_ENDPOINT',
	'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT',
];

// The header value goes into OTEL_EXPORTER_OTLP_LOGS_HEADERS as `key=value` pairs separated by commas: a token
// is only put there if nothing in it could be read as a separator.
const HEADER_SAFE = /^[A-Za-z0-9._~-]+$/;

/**
 * The environment that makes claude export its log events to the service (OTLP over HTTP with JSON), signed with the
 * run's hook token, so the service learns each API request's cost as it happens. Only logs: no metrics, and
 * claude sends prompt text and tool details only when OTEL_LOG_USER_PROMPTS / OTEL_LOG_TOOL_DETAILS are set,
 * which this leaves alone. Measured on the pinned CLI: a batch a second, nothing added to a run's time; a
 * service that does not answer delays claude's exit by at most the export timeout set here.
 */
export function costTelemetryEnv(
	env: Record<string, string | undefined>,
	run: { endpoint: string; hookToken: string; runId: string },
): Record<string, string> {
	if (USER_TELEMETRY.some((name) => env[name]?.trim())) return {};
	if (!HEADER_SAFE.test(run.hookToken)) return {};
	const attribute = `${RUN_ID_RESOURCE_ATTRIBUTE}=${encodeURIComponent(run.runId)}`;
	const resource = env.OTEL_RESOURCE_ATTRIBUTES?.trim();
	return {
		CLAUDE_CODE_ENABLE_TELEMETRY: '1',
		OTEL_LOGS_EXPORTER: 'otlp',
		OTEL_METRICS_EXPORTER: 'none',
		OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json',
		OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: run.endpoint,
		OTEL_EXPORTER_OTLP_LOGS_HEADERS: `Authorization=Bearer ${run.hookToken}`,
		// A progress message a second is what a chat thread can show; the default is five seconds.
		OTEL_LOGS_EXPORT_INTERVAL: '1000',
		// A slow service must not hold claude's exit: its last batch is sent on the way out (a value set is kept).
		OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: env.OTEL_EXPORTER_OTLP_LOGS_TIMEOUT?.trim() || '2000',
		OTEL_RESOURCE_ATTRIBUTES: resource ? `${resource},${attribute}` : attribute,
	};
}
