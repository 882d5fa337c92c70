// @ts-check
// Live updates by polling: what a page falls back to while no live stream can be opened (live.js).
// A setTimeout chain, not setInterval: the next poll is armed only after the previous one settled, so requests
// never pile up behind a slow service. Nothing is polled while the tab is hidden; coming back polls at once.

/**
 * @param {() => Promise<unknown>} task
 * @param {{ intervalMs?: number, onState?: (state: string, err?: unknown) => void }} [options]
 */
export function startPolling(task, { intervalMs = 2000, onState = () => {} } = {}) {
	let timer;
	let inFlight = false;
	let stopped = false;
	const visible = () => document.visibilityState === 'visible';

	async function tick() {
		timer = undefined;
		if (stopped || inFlight) return;
		if (!visible()) return onState('paused');
		inFlight = true;
		try {
			await task();
			// A poll that was in flight when the tab was hidden must not mark a paused view live again.
			if (!stopped) onState(visible() ? 'live' : 'paused');
		} catch (err) {
			if (!stopped && err?.name !== 'AbortError') onState('error', err);
		} finally {
			inFlight = false;
			if (!stopped && visible()) timer = setTimeout(tick, intervalMs);
		}
	}

	function onVisibility() {
		if (stopped) return;
		if (visible()) {
			if (!timer && !inFlight) tick();
		} else {
			clearTimeout(timer);
			timer = undefined;
			onState('paused');
		}
	}

	document.addEventListener('visibilitychange', onVisibility);
	timer = setTimeout(tick, intervalMs);
	return {
		stop() {
			stopped = true;
			clearTimeout(timer);
			document.removeEventListener('visibilitychange', onVisibility);
		},
	};
}
