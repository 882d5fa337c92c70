// @ts-check
import { badge, compactTable, h, lazyDetails } from '../lib/dom.js';
import { ago, oneLine, shortId, when } from '../lib/format.js';
import { asText, textBlock } from '../lib/text.js';

// Approvals: tool calls an approval policy stopped until a person decides (GET /api/v1/approvals). Shown as
// read-only facts; deciding happens in Slack or by email, through the workflow that holds the API key.

/** What the call would do, in one line: the command, the file, or the input as JSON. */
function callGist(a) {
	const input = a.toolInput ?? {};
	const text =
		typeof input.command === 'string'
			? input.command
			: typeof input.file_path === 'string'
				? input.file_path
				: asText(input);
	return oneLine(text, 140);
}

function until(iso, now) {
	if (!iso) return '—';
	const ms = Date.parse(iso) - now;
	if (ms <= 0) return 'expired';
	const min = Math.round(ms / 60_000);
	return min < 60
		? `in ${min} min`
		: min < 2880
			? `in ${Math.round(min / 60)} h`
			: `in ${Math.round(min / 1440)} d`;
}

const deciders = (a) =>
	a.deciders?.length ? a.deciders.join(', ') : 'anyone the workflow passes on';

/** A panel hidden while it has nothing to list; `show` unhides it with the count in its heading. */
function countedPanel(className, body) {
	const heading = h('h3', null);
	const el = h('section', { class: `panel ${className}`, hidden: true }, heading, body);
	const show = (count, title) => {
		el.hidden = count === 0;
		heading.textContent = `${title} (${count})`;
	};
	return { el, show };
}

/**
 * The sessions page's "Waiting for a person" panel: every pending call, newest first, each linked to its session.
 * Hidden while nothing waits.
 */
export function pendingApprovals() {
	const list = h('ul', { class: 'plain approvals-pending' });
	const { el, show } = countedPanel('waiting-panel', list);
	return {
		el,
		update(items) {
			const now = Date.now();
			show(items.length, 'Waiting for a person');
			el.dataset.count = String(items.length);
			list.replaceChildren(
				...items.map((a) =>
					h(
						'li',
						{ class: 'approval-item', dataset: { approval: a.id, session: a.sessionId } },
						h('a', { href: `#/sessions/${a.sessionId}`, class: 'mono' }, shortId(a.sessionId)),
						h('span', { class: 'tool' }, a.toolName),
						h('code', { class: 'gist' }, callGist(a)),
						h(
							'span',
							{ class: 'muted small', title: when(a.requestedAt) },
							`asked ${ago(a.requestedAt, now)}`,
						),
						h(
							'span',
							{ class: 'muted small', title: when(a.expiresAt) },
							`expires ${until(a.expiresAt, now)}`,
						),
						h('span', { class: 'muted small' }, `deciders: ${deciders(a)}`),
					),
				),
			);
		},
	};
}

function decisionText(a) {
	if (a.status === 'pending') return `waiting; expires ${when(a.expiresAt)}`;
	if (a.status === 'expired')
		return a.decidedAt
			? `nobody decided by ${when(a.expiresAt)} (denied)`
			: `nobody decided by ${when(a.expiresAt)} (denied on resume)`;
	return `${a.decidedBy ?? '?'} via ${a.channel ?? '?'}, ${when(a.decidedAt)}${a.note ? `: ${a.note}` : ''}`;
}

/** A session's decision history: each gated call, its status, who decided how and when, and refused attempts. */
export function approvalHistory() {
	const table = compactTable(['Asked', 'Call', 'Rule', 'Status', 'Decision']);
	const body = table.tBodies[0];
	const { el, show } = countedPanel('approvals', table);
	return {
		el,
		update(items) {
			const now = Date.now();
			show(items.length, 'Approvals');
			// Oldest first: the history reads in the order the calls were made.
			body.replaceChildren(
				...[...items].reverse().map((a) =>
					h(
						'tr',
						{ class: `s-${a.status}`, dataset: { approval: a.id, status: a.status } },
						h('td', { class: 'nowrap', title: when(a.requestedAt) }, ago(a.requestedAt, now)),
						h(
							'td',
							{ class: 'approval-call' },
							lazyDetails(
								null,
								[
									h('span', { class: 'tool' }, a.toolName),
									' ',
									h('code', { class: 'gist' }, callGist(a)),
								],
								() =>
									h(
										'div',
										{ class: 'row-body' },
										textBlock(asText(a.toolInput ?? null)),
										h(
											'p',
											{ class: 'muted small mono' },
											`tool_use_id ${a.toolUseId} · approval ${a.id}`,
										),
									),
							),
						),
						h('td', { class: 'mono small' }, a.rule),
						h('td', null, badge(a.status)),
						h(
							'td',
							null,
							decisionText(a),
							a.refusals?.length
								? h(
										'div',
										{ class: 'muted small refusals' },
										`refused: ${a.refusals.map((r) => `${r.by} (${r.channel ?? '?'})`).join(', ')}`,
									)
								: null,
						),
					),
				),
			);
		},
	};
}
