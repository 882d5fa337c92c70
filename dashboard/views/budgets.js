// @ts-check
import { compactTable, h } from '../lib/dom.js';
import { count, money, shortId, when } from '../lib/format.js';
import { startPolling } from '../lib/poller.js';
import { barChart } from './chart.js';

// Spending moves slowly; every 5 s is live enough (as the overview).
const POLL_MS = 5000;
// Per-day charts for the biggest spenders only: a long tail of small repositories would bury the page.
const CHARTS = 5;

const PERIOD = { lifetime: 'lifetime', day: 'per UTC day', month: 'per UTC month' };

function whose(b) {
	if (b.scope === 'all') return 'all sessions';
	if (b.scopeValue === null) return `each ${b.scope}`;
	return `${b.scope} ${b.scopeValue}`;
}

function spentCell(b) {
	if (b.each) return h('td', { class: 'muted' }, 'per ' + b.scope);
	const used = Math.min(1, b.spentUsd / b.limitUsd);
	const state = b.spentUsd >= b.limitUsd ? 'over' : used * 100 >= b.warningPercent ? 'warn' : 'ok';
	return h(
		'td',
		{ class: 'budget-spent', dataset: { state } },
		h('meter', {
			min: 0,
			max: b.limitUsd,
			value: Math.min(b.spentUsd, b.limitUsd),
			high: (b.limitUsd * b.warningPercent) / 100,
			optimum: 0,
			title: `${(used * 100).toFixed(1)}%`,
		}),
		` ${money(b.spentUsd)} of ${money(b.limitUsd)}`,
	);
}

function budgetsTable(items) {
	if (!items.length)
		return h(
			'p',
			{ class: 'muted' },
			'No budgets. Set one with PUT /api/v1/budgets or BUDGET_* variables (see the README).',
		);
	return compactTable(
		['Budget', 'Period', 'Spent', 'Held by running runs', 'Remaining', 'Resets', 'Runs held back'],
		items.map((b) =>
			h(
				'tr',
				{ dataset: { budget: b.id } },
				h(
					'td',
					null,
					b.name ? h('strong', null, b.name) : null,
					b.name ? ' ' : null,
					h('span', { class: 'mono small' }, whose(b)),
				),
				h('td', null, PERIOD[b.period] ?? b.period),
				spentCell(b),
				h('td', null, b.each ? '—' : `${money(b.heldUsd)} (${count(b.runningRuns)} runs)`),
				h('td', null, money(b.remainingUsd)),
				h('td', { class: 'nowrap' }, b.resetsAt ? when(b.resetsAt) : 'never'),
				h('td', { class: 'num' }, count(b.heldBackRuns)),
			),
		),
		'budgets-table',
	);
}

/** The last `days` UTC days, oldest first, as YYYY-MM-DD (days with no cost get a zero bar). */
function dayLabels(since, days) {
	const start = Date.parse(since);
	return Array.from({ length: days }, (_, i) =>
		new Date(start + i * 86_400_000).toISOString().slice(0, 10),
	);
}

function perDayCharts(rows, key, labels, what) {
	const totals = new Map();
	for (const r of rows) totals.set(r[key], (totals.get(r[key]) ?? 0) + r.costUsd);
	const biggest = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, CHARTS);
	if (!biggest.length) return [h('p', { class: 'muted' }, 'Nothing spent in this time.')];
	return biggest.map(([name, total]) => {
		const byDay = new Map(rows.filter((r) => r[key] === name).map((r) => [r.day, r.costUsd]));
		return h(
			'div',
			{ class: 'cost-series', dataset: { [key]: name } },
			h('h4', null, `${name || `(no ${what})`}: ${money(total)}`),
			barChart({
				data: labels.map((d) => ({ label: d, value: byDay.get(d) ?? 0 })),
				format: money,
				label: `Cost per day (UTC), ${name || `no ${what}`}`,
			}),
		);
	});
}

function topSessions(items) {
	if (!items.length)
		return h('p', { class: 'muted' }, 'No session has spent anything in this time.');
	return compactTable(
		['Session', 'Repository', 'Thread', 'Status', 'Runs', 'Cost'],
		items.map((s) =>
			h(
				'tr',
				{ dataset: { session: s.id } },
				h('td', null, h('a', { href: `#/sessions/${s.id}`, class: 'mono' }, shortId(s.id))),
				h('td', { class: 'mono small' }, s.repository ?? '—'),
				h('td', { class: 'mono small' }, s.threadKey ?? '—'),
				h('td', null, s.status),
				h('td', { class: 'num' }, count(s.runs)),
				h('td', { class: 'num' }, money(s.costUsd)),
			),
		),
		'top-sessions',
	);
}

function render(budgets, costs) {
	const labels = dayLabels(costs.since, costs.days);
	return h(
		'div',
		{ class: 'budgets' },
		h(
			'section',
			{ class: 'panel budgets-panel' },
			h('h3', null, `Budgets (${budgets.items.length})`),
			budgetsTable(budgets.items),
		),
		h(
			'div',
			{ class: 'two-col' },
			h(
				'section',
				{ class: 'panel cost-by-repository' },
				h('h3', null, `Cost per day by repository, last ${costs.days} days`),
				perDayCharts(costs.byRepository, 'repository', labels, 'repository'),
			),
			h(
				'section',
				{ class: 'panel cost-by-model' },
				h('h3', null, `Cost per day by model, last ${costs.days} days`),
				perDayCharts(costs.byModel, 'model', labels, 'model'),
			),
		),
		h(
			'section',
			{ class: 'panel' },
			h('h3', null, 'Most expensive sessions'),
			topSessions(costs.topSessions),
		),
		h(
			'p',
			{ class: 'muted small' },
			`Figures as of ${new Date(budgets.now).toLocaleTimeString()}; days and periods are UTC.`,
		),
	);
}

/** #/budgets: each budget against its limit, and where the money went. */
export function budgetsView(ctx) {
	const el = h('div', { class: 'budgets-view' }, h('p', { class: 'muted' }, 'Loading budgets…'));
	const load = async () => {
		const [budgets, costs] = await Promise.all([
			ctx.get('/api/v1/budgets'),
			ctx.get('/api/v1/budgets/costs'),
		]);
		el.replaceChildren(render(budgets, costs));
	};
	load().then(
		() => ctx.setLive('live'),
		(err) => err?.name !== 'AbortError' && ctx.setLive('error', err),
	);
	const poller = startPolling(load, { intervalMs: POLL_MS, onState: ctx.setLive });
	return { el, title: 'Budgets', stop: () => poller.stop() };
}
