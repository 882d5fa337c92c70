// @ts-check
import { badge, h } from '../lib/dom.js';
import { count, money, percent } from '../lib/format.js';
import { startPolling } from '../lib/poller.js';
import { barChart } from './chart.js';
import { glance } from './glance.js';

// The figures move slowly and cover 30 days of rows: every 5 s is live enough.
const POLL_MS = 5000;
const STATUS_ORDER = [
	'running',
	'waiting',
	'waiting_approval',
	'created',
	'completed',
	'failed',
	'timed_out',
	'cancelled',
	'interrupted',
	'stopped',
];

function statusCards(byStatus, total) {
	const statuses = [
		...STATUS_ORDER.filter((s) => s in byStatus),
		...Object.keys(byStatus).filter((s) => !STATUS_ORDER.includes(s)),
	];
	return h(
		'section',
		{ class: 'panel' },
		h('h3', null, `Sessions by status (${count(total)})`),
		h(
			'div',
			{ class: 'cards' },
			statuses.length
				? statuses.map((status) =>
						h(
							'a',
							{
								class: 'card link-card',
								href: `#/sessions?status=${encodeURIComponent(status)}`,
								dataset: { status },
							},
							badge(status),
							h('div', { class: 'card-value' }, count(byStatus[status])),
						),
					)
				: h('p', { class: 'muted' }, 'No sessions yet.'),
		),
	);
}

function render(stats) {
	const t = stats.toolCalls;
	const days = stats.perDay;
	return h(
		'div',
		{ class: 'overview' },
		statusCards(stats.sessionsByStatus, stats.sessionsTotal),
		h(
			'div',
			{ class: 'two-col' },
			h(
				'section',
				{ class: 'panel cost' },
				h('h3', null, `Cost per day, last ${stats.days} days`),
				h('p', { class: 'big' }, money(stats.costUsd)),
				barChart({
					data: days.map((d) => ({ label: d.day, value: d.costUsd, note: `${d.runs} runs` })),
					format: money,
					label: 'Cost per day (UTC)',
				}),
			),
			h(
				'section',
				{ class: 'panel failures' },
				h('h3', null, `Tool-failure rate, last ${stats.days} days`),
				h('p', { class: 'big' }, percent(t.failureRate)),
				h(
					'p',
					{ class: 'muted small' },
					`${count(t.failed)} failed and ${count(t.denied)} denied of ${count(t.total)} finished tool calls.`,
				),
				barChart({
					data: days.map((d) => ({
						label: d.day,
						value: d.toolCalls ? d.toolFailures / d.toolCalls : 0,
						note: `${d.toolFailures} of ${d.toolCalls}`,
					})),
					format: percent,
					label: 'Failed tool calls per day (UTC)',
					className: 'bad-bars',
				}),
			),
		),
		h(
			'p',
			{ class: 'muted small' },
			`Figures as of ${new Date(stats.generatedAt).toLocaleTimeString()}; days are UTC.`,
		),
	);
}

/** #/overview: at a glance (activity, cost, failures and denials over time; waiting; busiest repositories), then sessions per status, cost per day, tool-failure rate. */
export function overviewView(ctx) {
	const el = h('div', { class: 'overview-view' }, h('p', { class: 'muted' }, 'Loading figures…'));
	let range = 'day';
	let drawn;
	const load = async () => {
		const [stats, activity] = await Promise.all([
			ctx.get('/api/v1/stats'),
			ctx.get('/api/v1/stats/activity', { range }),
		]);
		// Charts are rebuilt only when their figures changed: a redraw every 5 s would flicker for nothing.
		const key =
			JSON.stringify(activity.buckets) +
			JSON.stringify(activity.waiting) +
			JSON.stringify(activity.repositories) +
			JSON.stringify(stats.perDay) +
			JSON.stringify(stats.sessionsByStatus);
		if (key === drawn) return;
		drawn = key;
		el.replaceChildren(
			glance(activity, (next) => {
				range = next;
				drawn = undefined;
				load().catch((err) => err?.name !== 'AbortError' && ctx.setLive('error', err));
			}),
			render(stats),
		);
	};
	load().then(
		() => ctx.setLive('live'),
		(err) => err?.name !== 'AbortError' && ctx.setLive('error', err),
	);
	const poller = startPolling(load, { intervalMs: POLL_MS, onState: ctx.setLive });
	return { el, title: 'Overview', stop: () => poller.stop() };
}
