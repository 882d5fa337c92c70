// @ts-check
import { badge, h, markPainted } from '../lib/dom.js';
import { ago, count, duration, money, oneLine, shortId, threadLabel, when } from '../lib/format.js';
import { startLive } from '../lib/live.js';
import { pendingApprovals } from './approvals.js';

// The four states people ask about, each standing for the service statuses it covers.
const STATUS_FILTERS = [
	['', 'All statuses'],
	['running', 'Running'],
	['waiting,waiting_approval', 'Waiting'],
	['completed', 'Completed'],
	['stopped', 'Stopped (someone asked)'],
	['failed,timed_out,cancelled,interrupted', 'Failed'],
	['created', 'Created'],
	['external', 'External (own Claude Code)'],
];
const WORKSPACE_FILTERS = [
	['', 'All workspaces'],
	['local', 'Local folder'],
	['worktree', 'Git worktree'],
	['github', 'GitHub clone'],
	['e2b', 'E2B sandbox'],
	['external', 'External'],
];
// One page is one indexed range read (keyset on created_at, id): page 2,000 costs what page 1 costs.
const PAGE_SIZE = 50;
const HOOKS = {
	ok: ['ok', 'Hook events are arriving'],
	none: ['none yet', 'No hook events so far'],
	missing: ['missing', 'The run finished but its hooks never arrived'],
};

// A value from a link (the overview links single statuses) that no option covers gets an option of its own.
function select(options, value, onChange, label) {
	const all = options.some(([v]) => v === value)
		? options
		: [...options, [value, value.replaceAll(',', ', ')]];
	return h(
		'select',
		{ 'aria-label': label, on: { change: (e) => onChange(e.target.value) } },
		all.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
	);
}

/** A running session's duration is the time since it started; a finished one shows what its runs took. */
function sessionDuration(s, now) {
	if (s.status === 'running' && s.startedAt) return duration(now - Date.parse(s.startedAt));
	return s.durationMs ? duration(s.durationMs) : '—';
}

function sessionRow(s, open) {
	const now = Date.now();
	const started = h(
		'td',
		{ class: 'nowrap', title: when(s.startedAt ?? s.createdAt) },
		ago(s.startedAt ?? s.createdAt, now),
	);
	const dur = h('td', { class: 'num nowrap' }, sessionDuration(s, now));
	const activity = h(
		'td',
		{ class: 'nowrap', title: when(s.lastActivityAt) },
		ago(s.lastActivityAt, now),
	);
	const [hooksText, hooksTitle] = HOOKS[s.hooksHealth] ?? [s.hooksHealth, ''];
	const thread = threadLabel(s.threadKey);
	const tr = h(
		'tr',
		{
			class: `session-row s-${s.status}`,
			dataset: { id: s.id, status: s.status },
			on: { click: (e) => e.target.closest('a') || open(s.id) },
		},
		h('td', null, badge(s.status)),
		h(
			'td',
			{ class: 'session-cell' },
			h(
				'a',
				{ href: `#/sessions/${s.id}`, class: 'prompt' },
				oneLine(s.prompt, 90) || '(no prompt)',
			),
			h(
				'div',
				{ class: 'muted small mono' },
				shortId(s.id),
				s.origin === 'external' ? ' · external' : '',
			),
			s.match?.snippet ? matchSnippet(s.match) : null,
		),
		h(
			'td',
			null,
			s.workspace?.type ?? '—',
			s.workspace?.path
				? h('div', { class: 'muted small', title: s.workspace.path }, oneLine(s.workspace.path, 40))
				: null,
		),
		h(
			'td',
			null,
			s.repository ?? '—',
			s.workspace?.branch
				? h('div', { class: 'muted small mono' }, `⎇ ${s.workspace.branch}`)
				: null,
		),
		h(
			'td',
			{ title: s.threadKey ?? '' },
			thread ?? '—',
			thread
				? h(
						'div',
						{ class: 'muted small mono' },
						oneLine(s.threadKey.slice(s.threadKey.indexOf(':') + 1), 28),
					)
				: null,
		),
		started,
		dur,
		h('td', { class: 'num' }, count(s.numTurns)),
		h('td', { class: 'num' }, money(s.costUsd)),
		activity,
		h(
			'td',
			{ class: 'nowrap', title: hooksTitle },
			h('span', { class: `hooks h-${s.hooksHealth}` }, hooksText),
		),
	);
	// Relative times move on between polls even when the row itself did not change.
	const tick = (t) => {
		started.textContent = ago(s.startedAt ?? s.createdAt, t);
		activity.textContent = ago(s.lastActivityAt, t);
		dur.textContent = sessionDuration(s, t);
	};
	return { tr, tick };
}

const MATCH_PLACES = {
	session: () => 'prompt or result',
	message: (m) => `${m.detail ?? ''} message`.trim(),
	tool_call: (m) => `${m.detail ?? 'tool'} call`,
};

/** Where a search matched, with the matching words marked: text nodes and <mark> only, never markup from data. */
function matchSnippet(match) {
	const place = (MATCH_PLACES[match.source] ?? (() => match.source))(match);
	return h(
		'div',
		{ class: 'snippet small', dataset: { source: match.source, ref: match.ref } },
		h('span', { class: 'muted' }, `in ${place}: `),
		match.snippet.map((part) => (part.hit ? h('mark', null, part.text) : part.text)),
	);
}

const rowSignature = (s) =>
	[
		s.status,
		s.updatedAt,
		s.lastActivityAt,
		s.costUsd,
		s.numTurns,
		s.durationMs,
		s.hookEventCount,
		s.hooksHealth,
		s.repository,
		s.threadKey,
		s.match?.source,
		s.match?.ref,
	].join('|');

/** #/sessions: filters, search, keyset pages, and the current page re-read when the service says something changed. */
export function sessionsView(ctx, query) {
	const filters = {
		status: query.get('status') ?? '',
		workspaceType: query.get('workspaceType') ?? '',
		q: query.get('q') ?? '',
	};
	let cursors = [undefined];
	let nextCursor = null;
	let generation = 0;
	let painted = false;
	const rows = new Map();

	const tbody = h('tbody');
	const empty = h('p', { class: 'empty muted', hidden: true });
	const pageLabel = h('span', { class: 'muted small' });
	const newer = h(
		'button',
		{ type: 'button', disabled: true, on: { click: () => go(cursors.slice(0, -1)) } },
		'← Newer',
	);
	const older = h(
		'button',
		{ type: 'button', disabled: true, on: { click: () => go([...cursors, nextCursor]) } },
		'Older →',
	);
	let typing;
	const search = h('input', {
		type: 'search',
		value: filters.q,
		placeholder: 'Search prompts, messages, tool calls and output',
		'aria-label': 'Search sessions',
		on: {
			input: (e) => {
				clearTimeout(typing);
				typing = setTimeout(() => setFilter('q', e.target.value.trim()), 250);
			},
		},
	});
	const table = h(
		'table',
		{ class: 'sessions' },
		h(
			'thead',
			null,
			h(
				'tr',
				null,
				[
					'Status',
					'Session',
					'Workspace',
					'Repository',
					'Thread',
					'Started',
					'Duration',
					'Turns',
					'Cost',
					'Last activity',
					'Hooks',
				].map((c) => h('th', { scope: 'col' }, c)),
			),
		),
		tbody,
	);
	// Calls that wait for a person, across all sessions: the sessions stopped as waiting_approval and why.
	const waiting = pendingApprovals();
	const el = h(
		'div',
		{ class: 'sessions-view' },
		waiting.el,
		h(
			'div',
			{ class: 'toolbar' },
			search,
			select(STATUS_FILTERS, filters.status, (v) => setFilter('status', v), 'Filter by status'),
			select(
				WORKSPACE_FILTERS,
				filters.workspaceType,
				(v) => setFilter('workspaceType', v),
				'Filter by workspace type',
			),
		),
		h('div', { class: 'table-wrap' }, table),
		empty,
		h('div', { class: 'pager' }, newer, pageLabel, older),
	);

	const open = (id) => (location.hash = `#/sessions/${id}`);

	function setFilter(key, value) {
		if (filters[key] === value) return;
		filters[key] = value;
		// Shareable, and no hashchange: the view stays, only the query changes.
		const qs = new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString();
		history.replaceState(null, '', `#/sessions${qs ? `?${qs}` : ''}`);
		go([undefined]);
	}

	function go(stack) {
		cursors = stack.length ? stack : [undefined];
		rows.clear();
		tbody.replaceChildren();
		load().catch((err) => err?.name !== 'AbortError' && ctx.setLive('error', err));
	}

	async function load() {
		const mine = ++generation;
		const [res, pending] = await Promise.all([
			// The box searches everything, ranked (full text, plus a piece of a repository, thread or id); `q` stays the
			// page's own link parameter.
			ctx.get('/api/v1/sessions', {
				status: filters.status,
				workspaceType: filters.workspaceType,
				search: filters.q,
				limit: PAGE_SIZE,
				cursor: cursors[cursors.length - 1],
			}),
			ctx.get('/api/v1/approvals', { status: 'pending', limit: 20 }),
		]);
		if (mine !== generation) return; // filters or page changed while this was in flight
		waiting.update(pending.items);
		render(res.items);
		nextCursor = res.nextCursor;
		newer.disabled = cursors.length === 1;
		older.disabled = !nextCursor;
		pageLabel.textContent = `Page ${cursors.length}`;
		if (!painted) {
			painted = true;
			markPainted('dashboard:sessions-rendered');
		}
	}

	function render(items) {
		const now = Date.now();
		const seen = new Set();
		const ordered = items.map((s) => {
			seen.add(s.id);
			const sig = rowSignature(s);
			let row = rows.get(s.id);
			if (!row || row.sig !== sig) {
				const built = sessionRow(s, open);
				if (row) row.tr.replaceWith(built.tr);
				row = { ...built, sig };
				rows.set(s.id, row);
			} else row.tick(now);
			return row.tr;
		});
		for (const id of [...rows.keys()]) if (!seen.has(id)) rows.delete(id);
		tbody.replaceChildren(...ordered);
		const filtered = filters.status || filters.workspaceType || filters.q;
		empty.hidden = items.length > 0;
		empty.textContent = filtered
			? 'No sessions match these filters.'
			: 'No sessions yet. Start one with the Claude Session Start node.';
		el.dataset.count = String(items.length);
	}

	load().then(
		() => ctx.setLive('live'),
		(err) => err?.name !== 'AbortError' && ctx.setLive('error', err),
	);
	// Tool calls and messages move a session's row through the session's own change (its activity); approvals
	// change the waiting list above the table.
	const live = startLive({
		open: (lastEventId, signal) => ctx.stream('/api/v1/stream', {}, lastEventId, signal),
		refresh: load,
		wants: (change) => change.kind === 'session' || change.kind === 'approval',
		onState: ctx.setLive,
		onTransport: ctx.setTransport,
	});
	return {
		el,
		title: 'Sessions',
		stop() {
			live.stop();
			clearTimeout(typing);
		},
	};
}
