// @ts-check
import { h } from '../lib/dom.js';
import { when } from '../lib/format.js';
import { textBlock } from '../lib/text.js';

/** One message of the conversation: who, through what, when, and the text (long text cut to a preview). */
export function messageRow(message) {
	return h(
		'li',
		{ class: `row message from-${message.direction}`, dataset: { id: message.id } },
		h(
			'div',
			{ class: 'message-head' },
			h('strong', null, message.direction),
			h('span', { class: 'muted' }, ` via ${message.source}`),
			h('span', { class: 'muted time' }, when(message.timestamp)),
		),
		textBlock(message.content ?? ''),
	);
}
