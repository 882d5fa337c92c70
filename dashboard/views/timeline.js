// @ts-check
import { badge, h, lazyDetails } from '../lib/dom.js';
import { clock, duration, oneLine, when } from '../lib/format.js';
import { asText, textBlock } from '../lib/text.js';

// The input field that says what a call did, by tool; other tools show their argument names.
const GIST_FIELDS = [
	'command',
	'file_path',
	'path',
	'pattern',
	'url',
	'query',
	'description',
	'prompt',
	'skill',
];

function inputGist(input) {
	if (input === null || input === undefined) return '';
	if (typeof input !== 'object') return oneLine(input, 140);
	for (const key of GIST_FIELDS)
		if (typeof input[key] === 'string') return oneLine(input[key], 140);
	return `{ ${Object.keys(input).slice(0, 6).join(', ')} }`;
}

const pair = (term, value) => (value ? [h('dt', null, term), h('dd', null, value)] : null);

function body(call) {
	const hasResult = call.result !== null && call.result !== undefined;
	return h(
		'div',
		{ class: 'row-body' },
		h(
			'dl',
			{ class: 'meta' },
			pair('Tool use id', call.toolUseId),
			pair('Seen in', call.sources?.join(' + ') || 'nothing yet'),
			pair('Started', call.startedAt && when(call.startedAt)),
			pair('Finished', call.finishedAt && when(call.finishedAt)),
			pair(
				'Note',
				call.truncated &&
					'Input or output was cut at the service size limit (TOOL_OUTPUT_MAX_BYTES).',
			),
		),
		h('h4', null, 'Input'),
		textBlock(asText(call.input ?? null)),
		call.error !== null && call.error !== undefined
			? [
					h('h4', { class: 'bad' }, call.status === 'denied' ? 'Denied' : 'Error'),
					textBlock(call.error, { className: 'error' }),
				]
			: null,
		hasResult
			? [h('h4', null, 'Output'), textBlock(asText(call.result), { className: 'output' })]
			: null,
		!hasResult && call.status === 'running'
			? h('p', { class: 'muted' }, 'No output yet: the call is still running.')
			: null,
	);
}

/** One tool call: time, status, tool, what it was asked, duration; failures and denials stand out. */
export function toolCallRow(call) {
	const at = call.startedAt ?? call.finishedAt;
	return h(
		'li',
		{
			class: `row call s-${call.status}`,
			dataset: { id: call.id, status: call.status, tool: call.tool ?? '' },
		},
		lazyDetails(
			null,
			[
				h('span', { class: 'time', title: when(at) }, clock(at)),
				badge(call.status),
				h('span', { class: 'tool' }, call.tool ?? 'unknown tool'),
				h('span', { class: 'gist' }, inputGist(call.input)),
				h(
					'span',
					{ class: 'dur' },
					call.status === 'running' ? 'running…' : duration(call.durationMs),
				),
			],
			() => body(call),
		),
	);
}

// Everything the row shows, without serialising inputs and outputs that may be large.
export const toolCallSignature = (c) =>
	[
		c.status,
		c.durationMs,
		c.finishedAt,
		c.error?.length,
		c.result === null,
		c.sources?.join(),
		c.truncated,
	].join('|');
export const toolCallIsLive = (c) => c.status === 'running';
