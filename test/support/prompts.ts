// The prompts claude sent, read from the request bodies the fake Anthropic API recorded.

type RequestBody = { messages?: Array<{ role: string; content: unknown }> };

const textOf = (b: any) => (typeof b === 'string' ? b : b?.type === 'text' ? String(b.text) : '');

/** The text of the newest user message in one request. */
export function lastUserPrompt(body: RequestBody): string {
	const users = (body.messages ?? []).filter((m) => m.role === 'user');
	const content = users[users.length - 1]?.content;
	const blocks = typeof content === 'string' ? [content] : Array.isArray(content) ? content : [];
	return blocks.map(textOf).join('\n');
}

/** Every user prompt text in one request, in order, without claude's system reminders. */
export function promptsIn(body: RequestBody): string[] {
	return (body.messages ?? [])
		.filter((m) => m.role === 'user')
		.flatMap((m) =>
			typeof m.content === 'string' ? [m.content] : Array.isArray(m.content) ? m.content : [],
		)
		.map(textOf)
		.filter((t) => t && !t.trimStart().startsWith('<system-reminder>'));
}
