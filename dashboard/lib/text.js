// @ts-check
import { h } from './dom.js';

// Long text (tool output, payloads, prompts) is cut to a preview; "Show all" puts the whole text into the same
// <pre> as one text node. Nothing is parsed as HTML, and a 1 MB output costs nothing until someone asks for it.
const PREVIEW_CHARS = 2000;
const count = new Intl.NumberFormat('en-US');

/** A value as text: strings as they are, anything else as indented JSON. */
export function asText(value) {
	if (value === undefined) return '';
	if (typeof value === 'string') return value;
	try {
		return JSON.stringify(value, null, 2);
	} catch {
		return String(value);
	}
}

export function textBlock(text, { className = '', preview = PREVIEW_CHARS } = {}) {
	const pre = h('pre', { class: `text ${className}`.trim() });
	if (text.length <= preview) {
		pre.textContent = text;
		return pre;
	}
	pre.textContent = text.slice(0, preview);
	const note = h(
		'span',
		{ class: 'muted small' },
		`Showing ${count.format(preview)} of ${count.format(text.length)} characters. `,
	);
	const button = h(
		'button',
		{
			type: 'button',
			class: 'link show-all',
			on: {
				click: () => {
					pre.textContent = text;
					cut.remove();
				},
			},
		},
		'Show all',
	);
	const cut = h('p', { class: 'cut' }, note, button);
	return h('div', { class: 'text-block' }, pre, cut);
}
