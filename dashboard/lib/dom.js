// @ts-check
// Every node is built with DOM APIs and every piece of data enters as a text node: nothing here parses HTML,
// so a tool output or a prompt that contains markup is shown as characters, never run.

const SVG_NS = 'http://www.w3.org/2000/svg';

function setProps(el, props) {
	if (!props) return;
	for (const [key, value] of Object.entries(props)) {
		if (value === undefined || value === null || value === false) continue;
		if (key === 'class') el.setAttribute('class', value);
		else if (key === 'text') el.textContent = String(value);
		else if (key === 'dataset') Object.assign(el.dataset, value);
		else if (key === 'on')
			for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
		else {
			// Handlers only through `on`, styles only through CSS classes, links only inside the app.
			if (/^on/i.test(key) || key === 'style') throw new Error(`refusing attribute ${key}`);
			if (key === 'href' && !String(value).startsWith('#'))
				throw new Error('links stay inside the dashboard');
			el.setAttribute(key, value === true ? '' : String(value));
		}
	}
}

function addChildren(el, children) {
	for (const child of children.flat(Infinity)) {
		if (child === undefined || child === null || child === false) continue;
		el.append(child instanceof Node ? child : String(child));
	}
}

/** h('td', { class: 'num' }, 'text', otherNode): an element whose string children become text nodes. */
export function h(tag, props, ...children) {
	const el = document.createElement(tag);
	setProps(el, props);
	addChildren(el, children);
	return el;
}

/** The same for SVG elements (charts). */
export function s(tag, props, ...children) {
	const el = document.createElementNS(SVG_NS, tag);
	setProps(el, props);
	addChildren(el, children);
	return el;
}

/** A performance mark once the browser has painted what was just inserted (used by the benchmark). */
export function markPainted(name) {
	requestAnimationFrame(() => setTimeout(() => performance.mark(name), 0));
}

/**
 * A <details> row whose body is built the first time it is opened: a list of 5,000 tool calls costs 5,000
 * summaries, and the inputs and outputs behind them cost nothing until someone looks.
 */
export function lazyDetails(props, summary, buildBody) {
	const details = h('details', props, h('summary', null, summary));
	let built = false;
	details.addEventListener('toggle', () => {
		if (!details.open || built) return;
		built = true;
		details.append(buildBody());
	});
	return details;
}

/**
 * A compact table: one header row of column names over the given rows. A table filled later takes no rows and
 * replaces the children of its `tBodies[0]`.
 */
export function compactTable(columns, rows = [], className = '') {
	return h(
		'table',
		{ class: className ? `compact ${className}` : 'compact' },
		h(
			'thead',
			null,
			h(
				'tr',
				null,
				columns.map((c) => h('th', { scope: 'col' }, c)),
			),
		),
		h('tbody', null, rows),
	);
}

/** A status badge; a running one carries the pulsing dot that marks live work. */
export function badge(status) {
	return h(
		'span',
		{ class: `badge s-${status}`, dataset: { status } },
		status === 'running' ? h('span', { class: 'pulse', 'aria-hidden': 'true' }) : null,
		status.replace('_', ' '),
	);
}
