// @ts-check
// The overview's "at a glance": activity, cost, failures and denials over time (uPlot, served by the service
// from its own node_modules: no request leaves it), the sessions waiting for a person, the busiest repositories.
import { badge, compactTable, h } from '../lib/dom.js';
import { ago, count, money, oneLine, shortId } from '../lib/format.js';

const COLORS = {
	toolCalls: '#4c6ef5',
	sessions: '#12b886',
	cost: '#7048e8',
	failures: '#fa5252',
	denials: '#fd7e14',
};

/** A bucket's label on the x axis: the hour (UTC) for a day, the date for 30 days. */
const label = (unit, t) => (unit === 'hour' ? `${t.slice(11, 13)}:00` : t.slice(5, 10));

/**
 * One bar chart: `series` are [name, key, color]; several series stand side by side in each bucket. What was
 * drawn is written on the figure (data-bars: bars per series that are not zero; data-ticks: the axis labels
 * uPlot drew) so it can be read back without scraping the canvas.
 */
function barChart(activity, { title, series, format = count, name }) {
	const uPlot = /** @type {any} */ (globalThis).uPlot;
	const { buckets, unit } = activity;
	const labels = buckets.map((b) => label(unit, b.t));
	const figure = h('figure', {
		class: 'glance-chart',
		dataset: { chart: name, buckets: String(buckets.length) },
	});
	const caption = h('figcaption', { class: 'small' }, title);
	if (!uPlot) {
		figure.append(caption, h('p', { class: 'muted small' }, 'The chart library did not load.'));
		return figure;
	}
	const size = series.length === 1 ? 0.7 : 0.4;
	const drawnTicks = [];
	const opts = {
		width: 400,
		height: 170,
		legend: { show: true, live: false },
		cursor: { show: true, drag: { x: false, y: false } },
		scales: {
			x: { time: false, range: [-0.5, buckets.length - 0.5] },
			y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
		},
		axes: [
			{
				// Every label would crowd the axis: about eight of them, at whole buckets.
				splits: () =>
					buckets.map((_, i) => i).filter((i) => i % Math.ceil(buckets.length / 8) === 0),
				values: (_u, splits) => {
					const shown = splits.map((i) => labels[i] ?? '');
					drawnTicks.splice(0, drawnTicks.length, ...shown);
					return shown;
				},
			},
			{ values: (_u, splits) => splits.map((v) => format(v)), size: 72 },
		],
		series: [
			{
				label: unit === 'hour' ? 'Hour (UTC)' : 'Day (UTC)',
				value: (_u, i) => (i == null ? '' : labels[i]),
			},
			...series.map(([seriesLabel, , color], i) => ({
				label: seriesLabel,
				stroke: color,
				fill: color,
				width: 0,
				points: { show: false },
				value: (_u, v) => (v == null ? '—' : format(v)),
				// Two series stand side by side: the first ends at the bucket's middle, the second starts there.
				paths: uPlot.paths.bars({
					size: [size, 60],
					align: series.length === 1 ? 0 : i === 0 ? -1 : 1,
				}),
			})),
		],
		hooks: {
			draw: [
				() => {
					figure.dataset.bars = series
						.map(([, key]) => buckets.filter((b) => b[key] > 0).length)
						.join(',');
					figure.dataset.ticks = drawnTicks.join('|');
					figure.dataset.drawn = 'true';
				},
			],
		},
	};
	const data = [buckets.map((_, i) => i), ...series.map(([, key]) => buckets.map((b) => b[key]))];
	const holder = h('div', { class: 'glance-plot' });
	figure.append(caption, holder);
	// Built once the figure is in the document (the caller inserts it right after this returns).
	let built = false;
	const build = () => {
		if (built || !figure.isConnected) return;
		built = true;
		// As wide as its place in the grid, measured now that it has one.
		new uPlot({ ...opts, width: Math.max(260, holder.clientWidth) }, data, holder);
	};
	queueMicrotask(build);
	requestAnimationFrame(build);
	return figure;
}

function waitingPanel(waiting) {
	return h(
		'section',
		{ class: 'panel waiting', dataset: { count: String(waiting.count) } },
		h('h3', null, `Waiting for a person (${count(waiting.count)})`),
		waiting.sessions.length
			? h(
					'ul',
					{ class: 'plain' },
					waiting.sessions.map((s) =>
						h(
							'li',
							{ dataset: { id: s.id } },
							badge(s.status),
							' ',
							h('a', { href: `#/sessions/${s.id}` }, oneLine(s.prompt, 70) || shortId(s.id)),
							h(
								'span',
								{ class: 'muted small' },
								` · ${s.pendingApprovals ? `${count(s.pendingApprovals)} approval(s) pending · ` : ''}${ago(s.lastActivityAt, Date.now())}`,
							),
						),
					),
				)
			: h('p', { class: 'muted' }, 'Nothing is waiting.'),
	);
}

function repositoriesPanel(repositories) {
	return h(
		'section',
		{ class: 'panel repositories' },
		h('h3', null, 'Busiest repositories'),
		repositories.length
			? compactTable(
					['Repository', 'Sessions', 'Failed', 'Cost'],
					repositories.map((r) =>
						h(
							'tr',
							{ dataset: { repository: r.repository } },
							h('td', null, r.repository),
							h('td', { class: 'num' }, count(r.sessions)),
							h('td', { class: 'num' }, count(r.failed)),
							h('td', { class: 'num' }, money(r.costUsd)),
						),
					),
				)
			: h('p', { class: 'muted' }, 'No sessions with a repository in this range.'),
	);
}

/** The whole section for one range ('day' or 'month'), with the switch between them. */
export function glance(activity, onRange) {
	const span = activity.range === 'day' ? 'per hour, last 24 hours' : 'per day, last 30 days';
	const totals = activity.buckets.reduce(
		(t, b) => ({
			toolCalls: t.toolCalls + b.toolCalls,
			cost: t.cost + b.costUsd,
			failures: t.failures + b.failures,
			denials: t.denials + b.denials,
		}),
		{ toolCalls: 0, cost: 0, failures: 0, denials: 0 },
	);
	const rangeButton = (range, text) =>
		h(
			'button',
			{
				type: 'button',
				class: 'link',
				'aria-pressed': String(activity.range === range),
				dataset: { range },
				on: { click: () => onRange(range) },
			},
			text,
		);
	return h(
		'section',
		{ class: 'glance', dataset: { range: activity.range } },
		h(
			'div',
			{ class: 'glance-head' },
			h('h2', null, 'At a glance'),
			rangeButton('day', 'Last 24 hours'),
			rangeButton('month', 'Last 30 days'),
		),
		h(
			'div',
			{ class: 'glance-grid' },
			barChart(activity, {
				name: 'activity',
				title: `Activity ${span}: ${count(totals.toolCalls)} tool calls`,
				series: [
					['Tool calls', 'toolCalls', COLORS.toolCalls],
					['Sessions started', 'sessions', COLORS.sessions],
				],
			}),
			barChart(activity, {
				name: 'cost',
				title: `Cost ${span}: ${money(totals.cost)}`,
				series: [['Cost', 'costUsd', COLORS.cost]],
				format: money,
			}),
			barChart(activity, {
				name: 'failures',
				title: `Failures and denials ${span}: ${count(totals.failures)} failed, ${count(totals.denials)} denied`,
				series: [
					['Failed', 'failures', COLORS.failures],
					['Denied', 'denials', COLORS.denials],
				],
			}),
			waitingPanel(activity.waiting),
			repositoriesPanel(activity.repositories),
		),
	);
}
