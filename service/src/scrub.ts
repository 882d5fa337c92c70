// Everything stored from the outside world passes through here first: secrets are masked, text PostgreSQL
// cannot hold (NUL, lone surrogates) is replaced, and oversized strings are cut with an explicit marker.

// Every pattern runs in time linear in the text: scrubbing sees up to BODY_LIMIT_BYTES of anyone's input on the
// event loop. (A lazy BEGIN…END pattern took 5.6 s on 540 KB of BEGIN lines; private keys are cut in code below.)
const SECRET_PATTERNS: Array<[RegExp, string]> = [
	[/\bsk-ant-[A-Za-z0-9_-]{10,}/g, '[REDACTED:anthropic-key]'],
	[/\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}/g, '[REDACTED:api-key]'],
	[/\bgithub_pat_[A-Za-z0-9_]{20,}/g, '[REDACTED:github-token]'],
	[/\bgh[pousr]_[A-Za-z0-9]{20,}/g, '[REDACTED:github-token]'],
	[/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, '[REDACTED:aws-access-key]'],
	[/\bxox[abposr]-[A-Za-z0-9-]{10,}/g, '[REDACTED:slack-token]'],
	[/\bxapp-[A-Za-z0-9-]{10,}/g, '[REDACTED:slack-token]'],
	[/\bht1\.[0-9a-f-]{36}\.[A-Za-z0-9_-]{20,}/g, '[REDACTED:hook-token]'],
	[/\bht2\.[0-9A-Fa-f-]{36}\.\d+\.\d+\.[A-Za-z0-9_-]{20,}/g, '[REDACTED:hook-token]'],
	[/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, '[REDACTED:jwt]'],
	[/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{12,}/gi, '$1 [REDACTED]'],
	[/(:\/\/[^\s:/@]+:)[^\s@/]+@/g, '$1[REDACTED]@'],
];

/**
 * A value after a name that says it is secret, in env files, configs, headers, query strings and JSON:
 * aws_secret_access_key =, "SecretAccessKey":, "SessionToken":, MY_SERVICE_TOKEN=, client_secret:, password=
 * (not max_tokens: 4096). A name only starts where an identifier starts, so each character is looked at a
 * bounded number of times; the name is then judged on its own.
 */
const NAMED_VALUE = /(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]+)(["']?\s*[:=]\s*["']?)([^\s"'&,;]{4,})/g;
const SECRET_NAME =
	/secret|passw(?:or)?d|pwd|api[_-]?key|access[_-]?key|private[_-]?key|token(?!s(?![a-z]))/i;

const KEY_BEGIN = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----/g;
const KEY_END = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----/g;

/** PEM private keys, BEGIN to END; one whose END was cut off (truncated output) is masked to the end of the text. */
function maskPrivateKeys(text: string): string {
	if (!text.includes('PRIVATE KEY-----')) return text;
	let out = '';
	let from = 0;
	KEY_BEGIN.lastIndex = 0;
	for (let begin = KEY_BEGIN.exec(text); begin; begin = KEY_BEGIN.exec(text)) {
		KEY_END.lastIndex = KEY_BEGIN.lastIndex;
		const end = KEY_END.exec(text);
		out += text.slice(from, begin.index) + '[REDACTED:private-key]';
		from = end ? end.index + end[0].length : text.length;
		KEY_BEGIN.lastIndex = from;
		if (!end) break;
	}
	return out + text.slice(from);
}

/** Object keys whose string values are secrets whatever they look like. */
const SECRET_KEY =
	/^(?:.*[_-])?(?:password|passwd|secret|client_secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|authorization|token|auth[_-]?token|access[_-]?token|refresh[_-]?token|session[_-]?token)$/i;

export const MAX_DEPTH = 64;

export interface ScrubResult<T> {
	value: T;
	truncated: boolean;
}

// Every pattern above needs one of these fragments; most strings have none and skip the full scan.
const MAY_HOLD_SECRET =
	/PRIVATE KEY|sk-|github_pat_|gh[pousr]_|AKIA|ASIA|xox|xapp-|ht1\.|eyJ|bearer|basic|:\/\/|pass|pwd|secret|key|token/i;

export function scrubText(text: string): string {
	let out = text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
	if (!out.isWellFormed()) out = out.toWellFormed();
	if (!MAY_HOLD_SECRET.test(out)) return out;
	out = maskPrivateKeys(out);
	for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
	return out.replace(NAMED_VALUE, (match, name: string, separator: string) =>
		SECRET_NAME.test(name) ? `${name}${separator}[REDACTED]` : match,
	);
}

export function capText(text: string, maxBytes: number): ScrubResult<string> {
	const bytes = Buffer.byteLength(text);
	if (bytes <= maxBytes) return { value: text, truncated: false };
	const kept = Buffer.from(text)
		.subarray(0, maxBytes)
		.toString('utf8')
		.replace(/\uFFFD$/, '');
	return {
		value: `${kept}\n…[truncated: ${bytes} bytes in total, first ${maxBytes} kept]`,
		truncated: true,
	};
}

/** Returns a scrubbed deep copy. Uses Object.fromEntries so keys such as `__proto__` stay plain data. */
export function scrubValue<T>(value: T, maxStringBytes: number): ScrubResult<T> {
	let truncated = false;
	const visit = (v: unknown, depth: number): unknown => {
		if (typeof v === 'string') {
			const capped = capText(scrubText(v), maxStringBytes);
			truncated ||= capped.truncated;
			return capped.value;
		}
		if (v === null || typeof v !== 'object') return v;
		if (depth >= MAX_DEPTH) return '[REDACTED:too-deep]';
		if (Array.isArray(v)) return v.map((item) => visit(item, depth + 1));
		return Object.fromEntries(
			Object.entries(v).map(([k, item]) => [
				scrubText(k),
				typeof item === 'string' && SECRET_KEY.test(k) && item.length > 0
					? '[REDACTED]'
					: visit(item, depth + 1),
			]),
		);
	};
	return { value: visit(value, 0) as T, truncated };
}

/** Depth of nested arrays/objects, stopping early once past `limit`. */
export function depthExceeds(value: unknown, limit = MAX_DEPTH): boolean {
	const stack: Array<[unknown, number]> = [[value, 0]];
	while (stack.length) {
		const [v, d] = stack.pop()!;
		if (v === null || typeof v !== 'object') continue;
		if (d >= limit) return true;
		for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
	}
	return false;
}
