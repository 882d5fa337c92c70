// @ts-check
import { h, s } from '../lib/dom.js';

const W = 600;
const H = 140;
const PAD = { top: 8, right: 4, bottom: 20, left: 4 };

/**
 * A small bar chart in SVG, one bar per day, drawn with DOM calls: each bar's tooltip is a <title> text node.
 * data: [{ label, value, note }]; format(value) for tooltips and the scale.
 */
export function barChart({ data, format, label, className = '' }) {
	const max = Math.max(0, ...data.map((d) => d.value));
	const innerW = W - PAD.left - PAD.right;
	const innerH = H - PAD.top - PAD.bottom;
	const slot = innerW / Math.max(1, data.length);
	const bars = data.map((d, i) => {
		const height = max > 0 ? (d.value / max) * innerH : 0;
		return s(
			'rect',
			{
				class: 'bar',
				x: (PAD.left + i * slot + slot * 0.15).toFixed(1),
				y: (PAD.top + innerH - height).toFixed(1),
				width: (slot * 0.7).toFixed(1),
				height: Math.max(height, d.value > 0 ? 1 : 0).toFixed(1),
				dataset: { day: d.label, value: String(d.value) },
			},
			s('title', null, `${d.label}: ${format(d.value)}${d.note ? ` (${d.note})` : ''}`),
		);
	});
	const axis = (i, anchor) =>
		data[i]
			? s(
					'text',
					{
						x: (PAD.left + i * slot + slot / 2).toFixed(1),
						y: H - 4,
						'text-anchor': anchor,
						class: 'axis',
					},
					data[i].label.slice(5),
				)
			: null;
	const svg = s(
		'svg',
		{
			viewBox: `0 0 ${W} ${H}`,
			role: 'img',
			'aria-label': label,
			class: `chart ${className}`.trim(),
		},
		s('line', {
			x1: PAD.left,
			x2: W - PAD.right,
			y1: PAD.top + innerH,
			y2: PAD.top + innerH,
			class: 'baseline',
		}),
		bars,
		axis(0, 'start'),
		axis(Math.floor(data.length / 2), 'middle'),
		axis(data.length - 1, 'end'),
	);
	return h(
		'figure',
		{ class: 'chart-wrap' },
		svg,
		h('figcaption', { class: 'muted small' }, `${label} · highest ${format(max)}`),
	);
}
