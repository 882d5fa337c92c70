// @ts-check
import { badge, compactTable, h, lazyDetails } from '../lib/dom.js';
import { ago, count, duration, money, oneLine, threadLabel, when } from '../lib/format.js';
import { asText, textBlock } from '../lib/text.js';

const HOOKS = { ok: 'arriving', none: 'none yet', missing: 'never arrived' };

const card = (label, value, note, className = '') =>
	h(
		'div',
		{ class: `card ${className}`.trim() },
		h('div', { class: 'card-label' }, label),
		h('div', { class: 'card-value' }, value),
		note ? h('div', { class: 'card-note muted small' }, note) : null,
	);

const pairs = (rows) =>
	h(
		'dl',
		{ class: 'facts' },
		rows
			.filter(([, v]) => v !== undefined && v !== null && v !== '')
			.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
	);

const num = (v) => (typeof v === 'number' ? v : Number(v ?? 0) || 0);

/** Tokens and cost by model, summed over runs (the CLI reports modelUsage per run). */
function byModel(runs) {
	const models = new Map();
	for (const run of runs) {
		for (const [model, u] of Object.entries(run.modelUsage ?? {})) {
			const m = models.get(model) ?? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cost: 0 };
			m.input += num(u.inputTokens);
			m.output += num(u.outputTokens);
			m.cacheRead += num(u.cacheReadInputTokens);
			m.cacheWrite += num(u.cacheCreationInputTokens);
			m.cost += num(u.costUSD);
			models.set(model, m);
		}
	}
	return models;
}

function tokensPanel(s, runs) {
	const u = s.usage ?? {};
	const total =
		num(u.inputTokens) +
		num(u.outputTokens) +
		num(u.cacheReadInputTokens) +
		num(u.cacheCreationInputTokens);
	const models = byModel(runs);
	const line = (name, i, o, r, w, c) =>
		h(
			'tr',
			null,
			h('th', { scope: 'row' }, name),
			[i, o, r, w].map((n) => h('td', { class: 'num' }, count(n))),
			h('td', { class: 'num' }, money(c)),
		);
	return h(
		'section',
		{ class: 'panel tokens' },
		h('h3', null, 'Cost and tokens'),
		compactTable(
			['', 'Input', 'Output', 'Cache read', 'Cache write', 'Cost'],
			[
				...[...models].map(([model, m]) =>
					line(model, m.input, m.output, m.cacheRead, m.cacheWrite, m.cost),
				),
				line(
					'Session total',
					u.inputTokens,
					u.outputTokens,
					u.cacheReadInputTokens,
					u.cacheCreationInputTokens,
					s.costUsd,
				),
			],
		),
		h(
			'p',
			{ class: 'muted small' },
			`${count(total)} tokens in all over ${count(s.runCount)} run${s.runCount === 1 ? '' : 's'}.`,
		),
	);
}

function workspacePanel(s) {
	const w = s.workspace ?? {};
	return h(
		'section',
		{ class: 'panel workspace' },
		h('h3', null, 'Workspace'),
		pairs([
			['Type', w.type],
			['Path', w.path],
			['Repository', s.repository],
			['Branch', w.branch],
			['Sandbox', w.sandboxId],
			['Thread', s.threadKey ? `${threadLabel(s.threadKey)} · ${s.threadKey}` : undefined],
			['Model', s.model],
			['CLI', s.cliVersion],
			['Origin', s.origin === 'external' ? 'external (someone’s own Claude Code)' : 'orchestrator'],
		]),
	);
}

/** Denials of every run (each run reports its own); a session without runs shows what it holds itself. */
function denialsPanel(s, runs) {
	const denials = runs.length
		? runs.flatMap((r) => r.permissionDenials ?? [])
		: (s.permissionDenials ?? []);
	const item = (d) => {
		const tool = d?.tool_name ?? d?.toolName ?? 'unknown tool';
		const input = d?.tool_input ?? d?.toolInput;
		return h(
			'li',
			{ class: 'denial' },
			lazyDetails(
				null,
				[
					h('span', { class: 'tool' }, tool),
					h('span', { class: 'gist muted' }, oneLine(asText(input ?? ''), 120)),
				],
				() =>
					h(
						'div',
						{ class: 'row-body' },
						pairs([['Tool use id', d?.tool_use_id ?? d?.toolUseId]]),
						textBlock(asText(d)),
					),
			),
		);
	};
	return h(
		'section',
		{ class: `panel denials${denials.length ? ' has-denials' : ''}` },
		h('h3', null, `Permission denials (${denials.length})`),
		denials.length
			? h('ul', { class: 'plain' }, denials.slice(0, 200).map(item))
			: h('p', { class: 'muted' }, 'None.'),
		denials.length > 200
			? h('p', { class: 'muted small' }, `First 200 of ${denials.length} shown.`)
			: null,
	);
}

function runsPanel(runs) {
	const now = Date.now();
	const rows = runs.map((r, i) =>
		h(
			'tr',
			{ class: `s-${r.status}` },
			h('td', { class: 'num' }, String(i + 1)),
			h('td', null, r.kind),
			h('td', null, badge(r.status)),
			h('td', { class: 'nowrap', title: when(r.startedAt) }, ago(r.startedAt, now)),
			h(
				'td',
				{ class: 'num' },
				r.endedAt || r.durationMs
					? duration(r.durationMs)
					: duration(now - Date.parse(r.startedAt)),
			),
			h('td', { class: 'num' }, count(r.numTurns)),
			h('td', { class: 'num' }, money(r.costUsd)),
			h('td', { class: 'num' }, r.exitCode ?? '—'),
			h(
				'td',
				{ class: r.isError ? 'bad' : '' },
				[r.subtype, r.terminalReason].filter(Boolean).join(' · ') || '—',
			),
		),
	);
	return h(
		'section',
		{ class: 'panel runs' },
		h('h3', null, `Runs (${runs.length})`),
		runs.length
			? compactTable(
					['#', 'Kind', 'Status', 'Started', 'Duration', 'Turns', 'Cost', 'Exit', 'Outcome'],
					rows,
				)
			: h('p', { class: 'muted' }, 'No runs reported yet.'),
	);
}

function outcomePanel(s) {
	if (!s.result && !s.errorMessage && !s.subtype) return null;
	return h(
		'section',
		{ class: `panel outcome${s.isError ? ' bad-panel' : ''}` },
		h('h3', null, s.isError ? 'Error' : 'Result'),
		pairs([
			['Subtype', s.subtype],
			['Terminal reason', s.terminalReason],
		]),
		s.errorMessage ? textBlock(s.errorMessage, { className: 'error' }) : null,
		s.result ? textBlock(s.result) : null,
	);
}

function headPanel(s) {
	const now = Date.now();
	const t = s.totals ?? {};
	const running = s.status === 'running';
	return h(
		'div',
		null,
		h(
			'div',
			{ class: 'title-row' },
			badge(s.status),
			h('h1', null, 'Session ', h('span', { class: 'mono' }, s.id)),
		),
		h(
			'div',
			{ class: 'cards' },
			card('Cost', money(s.costUsd)),
			card('Turns', count(s.numTurns)),
			card(
				'Duration',
				running && s.startedAt ? duration(now - Date.parse(s.startedAt)) : duration(s.durationMs),
				running ? 'since start' : `${count(s.runCount)} run(s)`,
			),
			card(
				'Tool calls',
				count(t.toolCalls),
				t.toolErrors ? `${count(t.toolErrors)} failed or denied` : 'no failures',
				t.toolErrors ? 'warn' : '',
			),
			card(
				'Hook events',
				count(s.hookEventCount),
				`hooks ${HOOKS[s.hooksHealth] ?? s.hooksHealth}`,
				s.hooksHealth === 'missing' ? 'warn' : '',
			),
			card('Messages', count(t.messages)),
			card('Started', s.startedAt ? ago(s.startedAt, now) : '—', when(s.startedAt ?? s.createdAt)),
			card('Last activity', ago(s.lastActivityAt, now), when(s.lastActivityAt)),
		),
	);
}

const promptPanel = (s) =>
	s.prompt ? h('section', { class: 'panel' }, h('h3', null, 'Prompt'), textBlock(s.prompt)) : null;

/**
 * The head of #/sessions/<id>: identity, figures, cost and tokens, workspace, prompt, outcome, denials, runs.
 * Panels that someone may have opened (long text, a denial) are rebuilt only when their data changed, so a
 * poll never folds up what a reader is looking at; the rest is rebuilt on every poll to keep times current.
 */
export function sessionSummary() {
	/** @type {Array<[string, (s: any, runs: any[]) => any, ((s: any, runs: any[]) => string)?]>} */
	const specs = [
		['head', headPanel],
		['money', (s, runs) => h('div', { class: 'two-col' }, tokensPanel(s, runs), workspacePanel(s))],
		['prompt', promptPanel, (s) => s.prompt],
		[
			'outcome',
			outcomePanel,
			(s) => [s.result, s.errorMessage, s.subtype, s.terminalReason, s.isError].join('\u0000'),
		],
		[
			'denials',
			denialsPanel,
			(s, runs) =>
				JSON.stringify(runs.length ? runs.map((r) => r.permissionDenials) : s.permissionDenials),
		],
		['runs', (s, runs) => runsPanel(runs)],
	];
	const panels = specs.map(([name, build, key]) => ({
		name,
		build,
		key,
		slot: h('div', { class: `slot-${name}` }),
		last: undefined,
	}));
	const el = h(
		'div',
		{ class: 'summary' },
		panels.map((p) => p.slot),
	);
	return {
		el,
		update(s, runs) {
			for (const p of panels) {
				if (p.key) {
					const key = p.key(s, runs);
					if (key === p.last) continue;
					p.last = key;
				}
				p.slot.replaceChildren(p.build(s, runs) ?? '');
			}
		},
	};
}
