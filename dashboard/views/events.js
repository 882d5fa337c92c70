// @ts-check
import { h, lazyDetails } from '../lib/dom.js';
import { clock, oneLine, when } from '../lib/format.js';
import { asText, textBlock } from '../lib/text.js';

const TROUBLE = new Set(['PostToolUseFailure', 'PermissionDenied', 'StopFailure']);

// A few words from the payload that say what the event was about.
function gist(event) {
	const p = event.payload ?? {};
	const text =
		p.message ?? p.prompt ?? p.reason ?? p.error ?? p.source ?? p.trigger ?? p.notification_type;
	if (typeof text === 'string') return oneLine(text, 140);
	return event.toolUseId ?? '';
}

/** One raw hook event as Claude Code posted it; the payload is rendered when the row is opened. */
export function hookEventRow(event) {
	return h(
		'li',
		{
			class: `row event${TROUBLE.has(event.event) ? ' trouble' : ''}`,
			dataset: { id: event.id, event: event.event },
		},
		lazyDetails(
			null,
			[
				h('span', { class: 'seq muted' }, `#${event.id}`),
				h('span', { class: 'time', title: when(event.receivedAt) }, clock(event.receivedAt)),
				h('span', { class: 'event-name' }, event.event),
				h('span', { class: 'tool' }, event.toolName ?? ''),
				h('span', { class: 'gist' }, gist(event)),
			],
			() => h('div', { class: 'row-body' }, textBlock(asText(event.payload))),
		),
	);
}
