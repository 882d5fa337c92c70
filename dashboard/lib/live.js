// @ts-check
// Live updates pushed by the service: GET /api/v1/stream (server-sent events) read with fetch, so the credential
// stays in the Authorization header (EventSource cannot send one). A change only names what was written; the view
// re-reads what it shows, so an event can never leave the page showing something the API would not.
// Reconnecting sends the last event id, and the service replays what was missed. While no stream can be opened
// (a proxy that refuses it, the service away) the view polls as before (poller.js) until a stream opens again.
import { startPolling } from './poller.js';

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15_000;
// The service sends a comment every 20 s: silence for longer means the connection is dead without saying so.
const SILENCE_MS = 45_000;

/**
 * @param {{
 *   open: (lastEventId: string | undefined, signal: AbortSignal) => Promise<Response>,
 *   refresh: (pushed: boolean) => Promise<unknown>,
 *   wants?: (change: any) => boolean,
 *   onState: (state: string, err?: unknown) => void,
 *   onTransport?: (transport: 'stream' | 'poll') => void,
 * }} options
 */
export function startLive({ open, refresh, wants = () => true, onState, onTransport = () => {} }) {
	/** @type {string | undefined} */
	let lastEventId;
	let stopped = false;
	let controller;
	let poller;
	let retryTimer;
	let silenceTimer;
	let delay = RETRY_MIN_MS;
	let running = false;
	let dirty = false;

	// Changes arriving while a re-read runs are folded into one more re-read after it: never two at once, never a
	// change left unread.
	async function reread() {
		// A hidden tab keeps its stream (it costs nothing) but reads nothing until it is shown again.
		if (document.visibilityState !== 'visible') return;
		if (running) {
			dirty = true;
			return;
		}
		running = true;
		try {
			do {
				dirty = false;
				await refresh(true);
				if (!stopped) onState('live');
			} while (dirty && !stopped);
		} catch (err) {
			if (!stopped && err?.name !== 'AbortError') onState('error', err);
		} finally {
			running = false;
		}
	}

	function fallBack() {
		if (stopped) return;
		onTransport('poll');
		poller ??= startPolling(() => refresh(false), { onState });
		retryTimer = setTimeout(connect, delay);
		delay = Math.min(delay * 2, RETRY_MAX_MS);
	}

	function handle(event, id, data) {
		if (id) lastEventId = id;
		if (event === 'ready' || event === 'reset') return reread();
		if (event === 'change' && wants(JSON.parse(data))) return reread();
	}

	async function connect() {
		if (stopped) return;
		controller = new AbortController();
		const { signal } = controller;
		const armSilence = () => {
			clearTimeout(silenceTimer);
			silenceTimer = setTimeout(() => controller.abort(), SILENCE_MS);
		};
		try {
			armSilence();
			const res = await open(lastEventId, signal);
			if (!res.ok || !res.body) throw new Error(`the stream answered HTTP ${res.status}`);
			delay = RETRY_MIN_MS;
			poller?.stop();
			poller = undefined;
			onTransport('stream');
			const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
			let buffer = '';
			for (;;) {
				const { value, done } = await reader.read();
				if (done) break;
				armSilence();
				buffer += value;
				let end;
				while ((end = buffer.indexOf('\n\n')) >= 0) {
					const block = buffer.slice(0, end);
					buffer = buffer.slice(end + 2);
					let event = 'message';
					let id;
					let data = '';
					for (const line of block.split('\n')) {
						if (!line || line.startsWith(':')) continue;
						const at = line.indexOf(':');
						const field = at < 0 ? line : line.slice(0, at);
						const text = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
						if (field === 'event') event = text;
						else if (field === 'id') id = text;
						else if (field === 'data') data += text;
					}
					if (data) void handle(event, id, data);
				}
			}
			clearTimeout(silenceTimer);
			fallBack();
		} catch (err) {
			clearTimeout(silenceTimer);
			if (err?.status === 401) return;
			if (!stopped) onState('error', err);
			fallBack();
		}
	}

	function onVisibility() {
		if (stopped || poller) return;
		if (document.visibilityState !== 'visible') onState('paused');
		else {
			// Shown again: one read brings the page up to date whether or not a change came meanwhile.
			void reread();
		}
	}

	document.addEventListener('visibilitychange', onVisibility);
	void connect();
	return {
		stop() {
			stopped = true;
			document.removeEventListener('visibilitychange', onVisibility);
			clearTimeout(retryTimer);
			clearTimeout(silenceTimer);
			controller?.abort();
			poller?.stop();
		},
	};
}
