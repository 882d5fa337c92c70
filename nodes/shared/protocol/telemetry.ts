// Claude Code's own OpenTelemetry log events, which the runner points at the service. One of them,
// claude_code.api_request, carries the exact cost of each API request as the CLI computes it, while the run goes
// on: its stream and its hooks report cost only when the run ends (reference/claude-code-cli.md §7).

/** Where claude's OTLP/HTTP JSON log export goes (OTEL_EXPORTER_OTLP_LOGS_ENDPOINT), under the service's URL. */
export const TELEMETRY_LOGS_PATH = '/api/v1/telemetry/logs';

/** The resource attribute naming the run the events belong to (set with OTEL_RESOURCE_ATTRIBUTES). */
export const RUN_ID_RESOURCE_ATTRIBUTE = 'claude_orchestrator.run_id';

/** The log event of one API request: cost_usd, tokens, model, request_id. */
export const API_REQUEST_EVENT = 'claude_code.api_request';
