import { API_REQUEST_EVENT, RUN_ID_RESOURCE_ATTRIBUTE } from '../../../nodes/shared/protocol';
import { badRequest } from '../http/errors';
import { storable } from '../http/validate';

/** One API request of a run, from claude's claude_code.api_request log event. */
export interface ApiRequestCost {
	sessionId: string;
	requestId: string;
	runId: string | null;
	model: string | null;
	costUsd: number;
	inputTokens: number;
	outputTokens: number;
	cacheReadTokens: number;
	cacheCreationTokens: number;
	occurredAt: Date;
}

export interface ParsedLogs {
	costs: ApiRequestCost[];
	/** Records of claude_code.api_request that could not be read (each is reported back, none is stored). */
	rejected: number;
	/** Why the first rejected record was rejected. */
	reason?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// A batch is bounded by the body limit; this bounds the work a batch can ask for on top of that.
const MAX_RECORDS = 10_000;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
	typeof v === 'object' && v !== null && !Array.isArray(v);

function list(parent: Json, key: string, where: string): Json[] {
	const v = parent[key];
	if (v === undefined) return [];
	if (!Array.isArray(v) || !v.every(isObject))
		throw badRequest(`${where}.${key} must be an array of objects (OTLP/HTTP JSON)`);
	return v;
}

/** An OTLP AnyValue as a plain value: int64s arrive as strings in OTLP JSON. */
function anyValue(v: unknown): string | number | boolean | undefined {
	if (!isObject(v)) return undefined;
	if (typeof v.stringValue === 'string') return v.stringValue;
	if (typeof v.doubleValue === 'number') return v.doubleValue;
	if (typeof v.intValue === 'number') return v.intValue;
	if (typeof v.intValue === 'string' && /^-?\d{1,18}$/.test(v.intValue)) return Number(v.intValue);
	if (typeof v.boolValue === 'boolean') return v.boolValue;
	return undefined;
}

function attributes(owner: Json, where: string): Map<string, string | number | boolean> {
	const out = new Map<string, string | number | boolean>();
	for (const a of list(owner, 'attributes', where)) {
		const value = anyValue(a.value);
		if (typeof a.key === 'string' && value !== undefined) out.set(a.key, value);
	}
	return out;
}

const tokens = (attrs: Map<string, unknown>, key: string) => {
	const v = attrs.get(key);
	return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;
};

/**
 * The API request costs in an OTLP/HTTP JSON logs export (ExportLogsServiceRequest). Every other event claude
 * exports (prompts, tool decisions, tool results) is passed over unread. A body that is not a logs export at all is
 * a 400; an api_request record missing what a cost needs is counted as rejected, and the rest is kept.
 */
export function apiRequestCosts(body: unknown): ParsedLogs {
	if (!isObject(body) || !Array.isArray(body.resourceLogs))
		throw badRequest(
			'the body is not an OTLP logs export: expected a JSON object with a resourceLogs array',
		);
	const out: ParsedLogs = { costs: [], rejected: 0 };
	const reject = (reason: string) => {
		out.rejected++;
		out.reason ??= reason;
	};
	let seen = 0;
	for (const resourceLogs of list(body, 'resourceLogs', 'body')) {
		const resource = isObject(resourceLogs.resource)
			? attributes(resourceLogs.resource, 'resource')
			: new Map();
		const runAttr = resource.get(RUN_ID_RESOURCE_ATTRIBUTE);
		const runId =
			typeof runAttr === 'string' && UUID.test(runAttr.toLowerCase())
				? runAttr.toLowerCase()
				: null;
		for (const scopeLogs of list(resourceLogs, 'scopeLogs', 'resourceLogs[]')) {
			for (const record of list(scopeLogs, 'logRecords', 'scopeLogs[]')) {
				if (++seen > MAX_RECORDS)
					throw badRequest(`an export may hold at most ${MAX_RECORDS} log records`);
				const bodyName = anyValue(record.body);
				const attrs = attributes(record, 'logRecords[]');
				if (bodyName !== API_REQUEST_EVENT && attrs.get('event.name') !== 'api_request') continue;
				const sessionId = attrs.get('session.id');
				const requestId = attrs.get('request_id');
				const costUsd = attrs.get('cost_usd');
				if (typeof sessionId !== 'string' || !UUID.test(sessionId.toLowerCase())) {
					reject('an api_request record has no session.id uuid');
					continue;
				}
				if (typeof requestId !== 'string' || !requestId || requestId.length > 200) {
					reject('an api_request record has no request_id (1 to 200 characters)');
					continue;
				}
				if (
					typeof costUsd !== 'number' ||
					!Number.isFinite(costUsd) ||
					costUsd < 0 ||
					costUsd > 1e6
				) {
					reject('an api_request record has no cost_usd (a number from 0 to 1000000)');
					continue;
				}
				const model = attrs.get('model');
				out.costs.push({
					sessionId: sessionId.toLowerCase(),
					// NUL and lone surrogates made storable, as every route's text is (PostgreSQL refuses them).
					requestId: storable(requestId) as string,
					runId,
					model: typeof model === 'string' ? (storable(model.slice(0, 200)) as string) : null,
					costUsd,
					inputTokens: tokens(attrs, 'input_tokens'),
					outputTokens: tokens(attrs, 'output_tokens'),
					cacheReadTokens: tokens(attrs, 'cache_read_tokens'),
					cacheCreationTokens: tokens(attrs, 'cache_creation_tokens'),
					occurredAt: occurredAt(record, attrs),
				});
			}
		}
	}
	return out;
}

/** The event's own time (event.timestamp, else the record's timeUnixNano), else now; never in the future. */
function occurredAt(record: Json, attrs: Map<string, unknown>): Date {
	const now = Date.now();
	const stamp = attrs.get('event.timestamp');
	let ms = typeof stamp === 'string' ? Date.parse(stamp) : NaN;
	if (
		Number.isNaN(ms) &&
		typeof record.timeUnixNano === 'string' &&
		/^\d{1,20}$/.test(record.timeUnixNano)
	)
		ms = Number(BigInt(record.timeUnixNano) / 1_000_000n);
	return new Date(Number.isFinite(ms) && ms > 0 ? Math.min(ms, now) : now);
}
