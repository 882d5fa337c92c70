import crypto from 'node:crypto';

/** JSON with object keys sorted at every level: the same call gives the same text whatever order its keys came in. */
export function canonicalJson(value: unknown): string {
	if (value === undefined) return 'null';
	if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
	const entries = Object.keys(value)
		.filter((k) => (value as Record<string, unknown>)[k] !== undefined)
		.sort()
		.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
	return `{${entries.join(',')}}`;
}

/**
 * What a person approves: this tool with this input. The resumed run's PreToolUse for the same tool_use_id must
 * carry the same digest, or the approval does not answer it (a changed command is a new question).
 */
export const callDigest = (toolName: string, toolInput: unknown): string =>
	crypto
		.createHash('sha256')
		.update(canonicalJson({ tool: toolName, input: toolInput ?? null }))
		.digest('hex');
