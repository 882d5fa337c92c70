// @ts-check
import { h, markPainted } from '../lib/dom.js';
import { Feed } from '../lib/feed.js';
import { count } from '../lib/format.js';
import { startLive } from '../lib/live.js';
import { approvalHistory } from './approvals.js';
import { messageRow } from './conversation.js';
import { hookEventRow } from './events.js';
import { feedList } from './feed-list.js';
import { sessionSummary } from './session-summary.js';
import { toolCallIsLive, toolCallRow, toolCallSignature } from './timeline.js';

// Pages of 100: the first page paints fast even when rows carry large inputs; more arrive as you scroll.
const PAGE_SIZE = 100;
// While polling, lists are re-read when the session changed, and at least this often (every Nth poll) in case it did
// not say so. A change pushed by the stream re-reads at once.
const REREAD_EVERY = 5;

const TABS = [
	{
		key: 'timeline',
		label: 'Tool calls',
		total: (s) => s.totals?.toolCalls,
		path: 'logs',
		row: toolCallRow,
		signature: toolCallSignature,
		isLive: toolCallIsLive,
		empty: 'No tool calls yet.',
	},
	{
		key: 'conversation',
		label: 'Conversation',
		total: (s) => s.totals?.messages,
		path: 'messages',
		row: messageRow,
		empty: 'No messages yet.',
	},
	{
		key: 'events',
		label: 'Hook events',
		total: (s) => s.hookEventCount,
		path: 'events',
		row: hookEventRow,
		empty: 'No hook events yet.',
	},
];

// What changes whenever anything in the session does: hook events, runs, messages, tool calls.
const changeKey = (s) =>
	[
		s.status,
		s.updatedAt,
		s.lastActivityAt,
		s.hookEventCount,
		s.totals?.toolCalls,
		s.totals?.toolErrors,
		s.totals?.messages,
	].join('|');

/** #/sessions/<id>[?tab=conversation|events]: the summary, then one list at a time, all kept live. */
export function sessionView(ctx, id, query) {
	const base = `/api/v1/sessions/${id}`;
	const summary = sessionSummary();
	const approvals = approvalHistory();
	const lists = new Map();
	const tabButtons = new Map();
	let active = TABS.find((t) => t.key === query.get('tab')) ?? TABS[0];
	let session;
	let runs = [];
	let loaded = false;
	let lastKey;
	let quietPolls = 0;

	const tabBar = h('div', { class: 'tabs', role: 'tablist' });
	const panel = h('div', { class: 'tab-panel', role: 'tabpanel' });
	const notice = h('p', { class: 'muted' }, 'Loading session…');
	// Everything the service holds about the session, transcript included: POST /api/v1/sessions/import loads it elsewhere.
	const downloadButton = h(
		'button',
		{
			type: 'button',
			class: 'download',
			on: {
				click: () =>
					void ctx
						.download(`${base}/export`, `session-${id}.json`)
						.catch((err) => (downloadButton.title = err.message)),
			},
		},
		'Download session (JSON)',
	);
	const el = h(
		'div',
		{ class: 'session-view' },
		h(
			'p',
			{ class: 'back' },
			h('a', { href: '#/sessions' }, '← All sessions'),
			' ',
			downloadButton,
		),
		notice,
		summary.el,
		approvals.el,
		tabBar,
		panel,
	);

	for (const tab of TABS) {
		const button = h(
			'button',
			{ type: 'button', role: 'tab', dataset: { tab: tab.key }, on: { click: () => show(tab) } },
			tab.label,
		);
		tabButtons.set(tab.key, button);
		tabBar.append(button);
	}

	function listFor(tab) {
		let list = lists.get(tab.key);
		if (!list) {
			const feed = new Feed(
				({ limit, cursor }) => ctx.get(`${base}/${tab.path}`, { limit, cursor }),
				PAGE_SIZE,
			);
			list = feedList({
				feed,
				row: tab.row,
				signature: tab.signature,
				isLive: tab.isLive,
				label: tab.label,
				empty: tab.empty,
				onFirstPage: () => markPainted(`dashboard:${tab.key}-rendered`),
			});
			list.el.dataset.list = tab.key;
			lists.set(tab.key, list);
			list.start();
		}
		return list;
	}

	function show(tab) {
		active = tab;
		for (const [key, button] of tabButtons)
			button.setAttribute('aria-selected', String(key === tab.key));
		// Built on first view, then kept: switching back keeps scroll position and what was opened.
		panel.replaceChildren(listFor(tab).el);
		history.replaceState(null, '', `#/sessions/${id}${tab === TABS[0] ? '' : `?tab=${tab.key}`}`);
	}

	function labelTabs() {
		for (const tab of TABS) {
			const n = tab.total(session);
			tabButtons.get(tab.key).textContent =
				n === undefined ? tab.label : `${tab.label} (${count(n)})`;
		}
	}

	async function poll(pushed = false) {
		if (!loaded) return load();
		// A pushed change is known to be there: the open list is read alongside the session, not after it.
		const [s] = await Promise.all([
			ctx.get(base),
			pushed ? lists.get(active.key)?.refresh() : undefined,
		]);
		session = s;
		const key = changeKey(session);
		const changed = pushed || key !== lastKey;
		lastKey = key;
		const reread = !pushed && (changed || ++quietPolls % REREAD_EVERY === 0);
		// Runs and the open list are read side by side: a new event shows one round trip after it is noticed.
		const [newRuns, newApprovals] = await Promise.all([
			changed ? ctx.get(`${base}/runs`) : undefined,
			changed ? ctx.get('/api/v1/approvals', { sessionId: id, limit: 200 }) : undefined,
			reread ? lists.get(active.key)?.refresh() : undefined,
		]);
		if (newRuns) runs = newRuns.items;
		if (newApprovals) approvals.update(newApprovals.items);
		summary.update(session, runs);
		labelTabs();
		el.dataset.status = session.status;
	}

	async function first() {
		try {
			const [s, r, a] = await Promise.all([
				ctx.get(base),
				ctx.get(`${base}/runs`),
				ctx.get('/api/v1/approvals', { sessionId: id, limit: 200 }),
			]);
			session = s;
			runs = r.items;
			approvals.update(a.items);
			loaded = true;
			lastKey = changeKey(s);
			notice.remove();
			summary.update(s, runs);
			el.dataset.status = s.status;
			labelTabs();
			show(active);
		} catch (err) {
			if (err?.name === 'AbortError') return;
			notice.textContent =
				err.status === 404
					? `There is no session ${id}.`
					: `Could not load the session: ${err.message}`;
			if (err.status === 404) live.stop();
			throw err;
		}
	}

	// The first load is retried by the poller if the service was away, never run twice at once.
	let loading;
	const load = () => (loading ??= first().finally(() => (loading = undefined)));
	const live = startLive({
		open: (lastEventId, signal) =>
			ctx.stream('/api/v1/stream', { sessionId: id }, lastEventId, signal),
		refresh: poll,
		onState: ctx.setLive,
		onTransport: ctx.setTransport,
	});
	load().then(
		() => ctx.setLive('live'),
		(err) => err?.name !== 'AbortError' && err.status !== 404 && ctx.setLive('error', err),
	);
	return {
		el,
		title: `Session ${id.slice(0, 8)}`,
		stop() {
			live.stop();
			for (const list of lists.values()) list.stop();
		},
	};
}
