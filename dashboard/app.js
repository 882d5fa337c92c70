// @ts-check
// Entry point: sign-in gate, hash routing, the live indicator. Read-only: every request is a GET (lib/api.js).
import { ApiError, checkToken, createApi } from './lib/api.js';
import { forgetToken, readToken, signInView } from './lib/auth.js';
import { budgetsView } from './views/budgets.js';
import { overviewView } from './views/overview.js';
import { sessionView } from './views/session.js';
import { sessionsView } from './views/sessions.js';

const main = document.getElementById('main');
const live = document.getElementById('live');
const banner = document.getElementById('banner');
const signOutButton = document.getElementById('sign-out');
let view;
let controller;

const api = createApi({
	token: readToken,
	onUnauthorized: () => signOut('The service no longer accepts this token. Sign in again.'),
});

/** live: up to date just now; paused: tab hidden, nothing is polled; error: the last poll failed, retrying. */
function setLive(state, err) {
	live.dataset.state = state;
	if (state === 'live') {
		live.textContent = `Live · ${new Date().toLocaleTimeString()}`;
		banner.hidden = true;
	} else if (state === 'paused') live.textContent = 'Paused while hidden';
	else if (state === 'error') {
		if (err instanceof ApiError && err.status === 401) return;
		live.textContent = 'Reconnecting…';
		banner.textContent = `Could not refresh: ${err?.message ?? err}. Trying again every few seconds.`;
		banner.hidden = false;
	} else live.textContent = '';
}

/** stream: changes are pushed as they happen; poll: no stream could be opened, the page is re-read every 2 s. */
function setTransport(transport) {
	live.dataset.transport = transport;
	live.title =
		transport === 'stream'
			? 'Changes are pushed by the service as they happen'
			: 'No live connection: re-reading every 2 s';
}

function stopView() {
	view?.stop();
	controller?.abort();
	view = undefined;
}

function signOut(message) {
	forgetToken();
	stopView();
	route(message);
}

/** @type {Array<[RegExp, string, (ctx: any, m: RegExpExecArray, q: URLSearchParams) => any]>} */
const ROUTES = [
	[
		/^\/sessions\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i,
		'sessions',
		(ctx, m, q) => sessionView(ctx, m[1].toLowerCase(), q),
	],
	[/^\/sessions$/, 'sessions', (ctx, _m, q) => sessionsView(ctx, q)],
	[/^\/overview$/, 'overview', (ctx) => overviewView(ctx)],
	[/^\/budgets$/, 'budgets', (ctx) => budgetsView(ctx)],
];

function route(message) {
	stopView();
	banner.hidden = true;
	if (!readToken()) {
		setLive('idle');
		delete live.dataset.transport;
		signOutButton.hidden = true;
		view = signInView({ check: checkToken, message, onSignedIn: () => route() });
		main.replaceChildren(view.el);
		document.title = 'Sign in · Claude Orchestrator';
		return;
	}
	signOutButton.hidden = false;
	if (!demoChecked) void showDemoNotice();
	const [path, qs] = location.hash.slice(1).split('?');
	const found = ROUTES.find(([re]) => re.test(path));
	if (!found) {
		history.replaceState(null, '', '#/sessions');
		return route();
	}
	const [re, nav, make] = found;
	const m = /** @type {RegExpExecArray} */ (re.exec(path));
	// Aborting on leave drops answers meant for a page no longer shown.
	controller = new AbortController();
	const { signal } = controller;
	const ctx = {
		get: (p, params) => api.get(p, params, signal),
		download: api.download,
		stream: (p, params, lastEventId, streamSignal) =>
			api.stream(p, params, lastEventId, streamSignal),
		setLive,
		setTransport,
	};
	view = make(ctx, m, new URLSearchParams(qs ?? ''));
	main.replaceChildren(view.el);
	document.title = `${view.title} · Claude Orchestrator`;
	for (const a of document.querySelectorAll(/** @type {'a'} */ ('[data-nav]')))
		a.classList.toggle('current', a.dataset.nav === nav);
}

/** `npm start -- --demo`: every page says that claude talks to a scripted stand-in, not to Anthropic. */
let demoChecked = false;
async function showDemoNotice() {
	demoChecked = true;
	// Through the one API client, like every request of the dashboard (the token in its header).
	const health = await api.get('/api/v1/health').catch(() => ({}));
	document.getElementById('demo-notice').hidden = health?.demo !== true;
}

signOutButton.addEventListener('click', () => signOut());
window.addEventListener('hashchange', () => route());
route();
