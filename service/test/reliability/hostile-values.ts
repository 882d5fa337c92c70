import fc from 'fast-check';

// Generators of hostile input for the fuzz suites: wrong types, deep nesting, huge and malformed strings,
// keys that pollute prototypes, and JSON bodies built as bytes so they can carry invalid UTF-8.

/** Marks a spot where encodeBody() puts an invalid UTF-8 byte sequence (a private-use character otherwise). */
export const INVALID_UTF8 = '\uE000';

export const INVALID_UTF8_SEQUENCES: number[][] = [
	[0xff], // never valid
	[0x80], // continuation byte alone
	[0xc3], // lead byte with nothing after
	[0xc0, 0xaf], // overlong "/"
	[0xe0, 0x80, 0xaf], // overlong
	[0xed, 0xa0, 0x80], // a UTF-16 surrogate encoded as UTF-8
	[0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
	[0xf8, 0x88, 0x80, 0x80, 0x80], // five-byte form
];

export const SQL_AND_HTML = [
	"'; DROP TABLE sessions; --",
	"1' OR '1'='1",
	'"); DELETE FROM hook_events; --',
	"\\'; SELECT pg_sleep(10); --",
	'$1 $$ $tag$ ::jsonb',
	'<script>alert(document.cookie)</script>',
	'<img src=x onerror=alert(1)>',
	'"><svg onload=alert(1)>',
	'{{constructor.constructor("alert(1)")()}}',
	'%s %d %n %x',
	'${jndi:ldap://127.0.0.1/x}',
	'\\u0000 \\x00 %00',
	'_% \\',
];

const HOSTILE_STRINGS = [
	'',
	' ',
	'\u0000',
	'a\u0000b',
	'\ud800',
	'x\udfffy',
	'\ud83d',
	'\uffff\ufffe',
	'\u202e\u2066',
	'\r\nX-Injected: 1\r\n\r\n',
	'../../etc/passwd',
	'/etc/shadow',
	'owner/repo;rm -rf ~',
	'--upload-pack=touch /tmp/pwned',
	'$(touch /tmp/pwned)',
	'`id`',
	'__proto__',
	'constructor',
	'NaN',
	'-1',
	'1e309',
	'0000-01-01T00:00:00Z',
	'2020-01-01T00:00:00+99:99',
	'2020-02-30T00:00:00Z',
	'9999-12-31T23:59:59.999999999Z',
	'-infinity',
	'00000000-0000-0000-0000-000000000000',
	'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
	'slack:C1:1.2',
	'http://169.254.169.254/latest/meta-data/',
	INVALID_UTF8,
	`a${INVALID_UTF8}b`,
	...SQL_AND_HTML,
];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
	{ weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
	{ weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
	{ weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
	// Huge: past column and field limits, under the 2 MB body limit; and one past it (413).
	{
		weight: 1,
		arbitrary: fc
			.constantFrom(300, 5_000, 70_000, 300_000, 1_100_000, 2_500_000)
			.map((n) => 'x'.repeat(n)),
	},
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
	fc.constantFrom(
		0,
		-0,
		-1,
		0.5,
		1e-320,
		2 ** 31,
		-(2 ** 31) - 1,
		2 ** 53 + 2,
		1e20,
		1e300,
		-1e300,
		Number.MAX_VALUE,
	),
	fc.double({ noNaN: true, noDefaultInfinity: true }),
	fc.integer(),
);

/** Keys that poison objects built carelessly, plus the field names the routes read. */
export const FIELD_NAMES = [
	'session_id',
	'hook_event_name',
	'tool_name',
	'tool_use_id',
	'prompt_id',
	'duration_ms',
	'cwd',
	'tool_input',
	'tool_response',
	'session',
	'sessionId',
	'tool',
	'input',
	'result',
	'duration',
	'message',
	'title',
	'type',
	'error',
	'reason',
	'id',
	'prompt',
	'status',
	'workspaceType',
	'workspacePath',
	'workspaceBranch',
	'sandboxId',
	'repository',
	'model',
	'cliVersion',
	'threadKey',
	'metadata',
	'isError',
	'subtype',
	'terminalReason',
	'errorMessage',
	'hooksMissing',
	'kind',
	'costUsd',
	'usage',
	'modelUsage',
	'numTurns',
	'durationMs',
	'permissionDenials',
	'exitCode',
	'startedAt',
	'endedAt',
	'messages',
	'direction',
	'content',
	'source',
	'externalId',
	'createdAt',
	'toolCalls',
	'toolUseId',
	'toolName',
	'response',
	'finishedAt',
	'url',
	'events',
	'toolFilter',
	'secret',
	'workflowId',
	'nodeName',
	'owner',
	'ttlSeconds',
	'decision',
	'rules',
	'mode',
	'note',
	'input_tokens',
	'output_tokens',
	'projectType',
	'githubRepo',
	'initialPrompt',
	'projectPath',
];
export const POLLUTING_KEYS = [
	'__proto__',
	'constructor',
	'prototype',
	'__defineGetter__',
	'hasOwnProperty',
	'toString',
	'valueOf',
];

export const hostileKey: fc.Arbitrary<string> = fc.oneof(
	{ weight: 3, arbitrary: fc.constantFrom(...FIELD_NAMES) },
	{ weight: 2, arbitrary: fc.constantFrom(...POLLUTING_KEYS) },
	{ weight: 1, arbitrary: hostileString.filter((s) => s.length < 200) },
);

/** An object with exactly these own keys, `__proto__` included as a plain own property (as JSON.parse makes it). */
export function objectOf(pairs: Array<[string, unknown]>): Record<string, unknown> {
	const o: Record<string, unknown> = {};
	for (const [k, v] of pairs)
		Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
	return o;
}

/** Arrays or objects nested `depth` levels deep. */
export function nested(depth: number, leaf: unknown = 1): unknown {
	let v: unknown = leaf;
	for (let i = 0; i < depth; i++) v = i % 2 ? [v] : objectOf([['a', v]]);
	return v;
}

export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
	value: fc.oneof(
		{ depthSize: 'small', withCrossShrink: true },
		{ weight: 4, arbitrary: hostileString },
		{ weight: 2, arbitrary: hostileNumber },
		{ weight: 1, arbitrary: fc.constantFrom(true, false, null) },
		{ weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
		{
			weight: 1,
			arbitrary: fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 4 }).map(objectOf),
		},
		{ weight: 1, arbitrary: fc.constantFrom(65, 200, 3000).map((d) => nested(d)) },
	),
})).value;

/** A JSON body as bytes: the private-use marker becomes an invalid UTF-8 sequence. */
export function encodeBody(
	value: unknown,
	invalidSeq: number[] = INVALID_UTF8_SEQUENCES[0],
): Buffer {
	const text =
		typeof value === 'string' && value.startsWith('\u0001raw:')
			? value.slice(5)
			: (JSON.stringify(value) ?? 'null');
	const marker = Buffer.from(INVALID_UTF8);
	const bytes = Buffer.from(text);
	const parts: Buffer[] = [];
	let from = 0;
	for (let i = bytes.indexOf(marker); i >= 0; i = bytes.indexOf(marker, from)) {
		parts.push(bytes.subarray(from, i), Buffer.from(invalidSeq));
		from = i + marker.length;
	}
	parts.push(bytes.subarray(from));
	return Buffer.concat(parts);
}

/** Raw text sent as is (malformed JSON and friends): wrap with raw() so encodeBody does not stringify it. */
export const raw = (text: string) => `\u0001raw:${text}`;

export const malformedBody: fc.Arbitrary<string> = fc.constantFrom(
	raw('{'),
	raw('{"a":'),
	raw('[1,2'),
	raw('{"a":1,}'),
	raw("{'a':1}"),
	raw('NaN'),
	raw('{"a":NaN}'),
	raw('{"a":1e999999}'),
	raw(`{"a":"${INVALID_UTF8}"}`),
	raw(`${INVALID_UTF8}{}`),
	raw('\uFEFF{}'),
	raw('null'),
	raw('"string"'),
	raw('12'),
	raw('true'),
	raw(''),
	raw(' '),
	raw('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'),
	raw(`${'['.repeat(100_000)}${']'.repeat(100_000)}`),
	raw(`{"a":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`),
);
