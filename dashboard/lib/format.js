// @ts-check
// Display formats. Every function accepts null/undefined and shows a dash rather than "NaN" or "undefined".

const dash = '—';
const int = new Intl.NumberFormat('en-US');

export const count = (n) => (n === null || n === undefined ? dash : int.format(Number(n)));

export function money(usd) {
	if (usd === null || usd === undefined) return dash;
	const n = Number(usd);
	return n !== 0 && Math.abs(n) < 1 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`;
}

export function duration(ms) {
	if (ms === null || ms === undefined || Number.isNaN(Number(ms))) return dash;
	const n = Number(ms);
	if (n < 1000) return `${Math.round(n)} ms`;
	if (n < 60_000) return `${(n / 1000).toFixed(1)} s`;
	const s = Math.round(n / 1000);
	if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
	return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function ago(iso, now = Date.now()) {
	if (!iso) return dash;
	const sec = Math.round((now - Date.parse(iso)) / 1000);
	if (sec < 5) return 'just now';
	if (sec < 60) return `${sec} s ago`;
	if (sec < 3600) return `${Math.floor(sec / 60)} min ago`;
	if (sec < 86_400) return `${Math.floor(sec / 3600)} h ago`;
	return `${Math.floor(sec / 86_400)} d ago`;
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : dash);
export const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString() : dash);
export const percent = (x) => (x === null || x === undefined ? dash : `${(x * 100).toFixed(1)}%`);
export const shortId = (id) => (id ? String(id).slice(0, 8) : dash);

/** "slack:C123:1700.1" → Slack, "email:<id>" → Email: the thread column names the channel, the key is the tooltip. */
export function threadLabel(key) {
	if (!key) return undefined;
	const kind = key.slice(0, key.indexOf(':'));
	return { slack: 'Slack', email: 'Email' }[kind] ?? kind;
}

export function oneLine(text, max = 160) {
	if (text === null || text === undefined) return '';
	const flat = String(text)
		.slice(0, max * 2)
		.replace(/\s+/g, ' ')
		.trim();
	return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
