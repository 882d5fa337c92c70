// @ts-check
import { h } from '../lib/dom.js';
import { count } from '../lib/format.js';

// How close (px) the end of the list may come to the viewport before the next page is read.
const AHEAD_PX = 800;

/**
 * Shows a Feed as a list that grows while you scroll: rows are added one page at a time when the end of the
 * list nears the viewport, so a session with 5,000 tool calls paints its first page at once and never puts
 * 5,000 rows into the document before they are wanted.
 *   row(item)        builds one row element;
 *   signature(item)  changes when a re-read row must be rebuilt (cheap: no JSON of big payloads);
 *   isLive(item)     rows that can still change (a running tool call) are re-read while polling.
 */
export function feedList({
	feed,
	row,
	signature = (item) => item.id,
	isLive,
	label,
	empty,
	onFirstPage,
}) {
	const list = h('ol', { class: 'feed', 'aria-label': label });
	const status = h('p', { class: 'feed-status muted small' });
	const more = h(
		'button',
		{ type: 'button', class: 'link', hidden: true, on: { click: () => loadMore() } },
		'Load more',
	);
	const sentinel = h('div', { class: 'sentinel' }, status, more);
	const el = h(
		'section',
		{ class: 'feed-wrap', dataset: { count: '0', done: 'false' } },
		list,
		sentinel,
	);
	const rows = new Map();
	let loading = false;
	let stopped = false;
	let firstPage = true;

	const nearEnd = () => {
		if (!el.isConnected || el.offsetParent === null) return false;
		return sentinel.getBoundingClientRect().top < innerHeight + AHEAD_PX;
	};
	// The observer covers a list shorter than the screen; it only reports changes, so when a page lands while the
	// reader is already at the end (End key, fast scroll) it stays silent: the scroll check covers that.
	const observer = new IntersectionObserver(
		(entries) => entries.some((e) => e.isIntersecting) && loadMore(),
		{
			rootMargin: `${AHEAD_PX}px 0px`,
		},
	);
	let scrollQueued = false;
	const onScroll = () => {
		if (scrollQueued) return;
		scrollQueued = true;
		requestAnimationFrame(() => {
			scrollQueued = false;
			if (nearEnd()) loadMore();
		});
	};

	function place(items) {
		const fresh = document.createDocumentFragment();
		for (const item of items) {
			const sig = signature(item);
			const prev = rows.get(item.id);
			if (prev && prev.sig === sig) continue;
			const node = row(item);
			rows.set(item.id, { el: node, sig });
			if (!prev) fresh.append(node);
			else {
				// An expanded row stays expanded when it is rebuilt with newer data.
				if (prev.el.querySelector(':scope > details')?.open)
					node.querySelector(':scope > details').open = true;
				prev.el.replaceWith(node);
			}
		}
		list.append(fresh);
	}

	function showStatus() {
		el.dataset.count = String(rows.size);
		el.dataset.done = String(feed.done);
		status.textContent =
			!rows.size && feed.done
				? empty
				: `${count(rows.size)} shown${feed.done ? '' : '; more below'}`;
		more.hidden = feed.done;
	}

	async function loadMore() {
		if (loading || stopped || feed.done) return;
		loading = true;
		try {
			place(await feed.more());
			if (stopped) return;
			showStatus();
			if (firstPage) {
				firstPage = false;
				onFirstPage?.();
			}
		} catch (err) {
			if (err?.name !== 'AbortError') {
				status.textContent = `Could not load: ${err.message}`;
				more.hidden = false;
			}
		} finally {
			loading = false;
		}
		// A short page or a tall screen leaves the end in sight: read on, checked after the next layout.
		if (!stopped && !feed.done) requestAnimationFrame(() => nearEnd() && loadMore());
	}

	// Puts rows in the service's order; only rows that are out of place move.
	function reorder() {
		let previous = null;
		for (const item of feed.items()) {
			const node = rows.get(item.id)?.el;
			if (!node) continue;
			const expected = previous ? previous.nextSibling : list.firstChild;
			if (expected !== node) list.insertBefore(node, expected);
			previous = node;
		}
	}

	async function refresh() {
		if (stopped) return;
		if (firstPage) return loadMore();
		const { changed, added } = await feed.refresh(isLive);
		if (stopped) return;
		place([...changed, ...added]);
		if (added.length) reorder();
		showStatus();
		if (!feed.done && nearEnd()) loadMore();
	}

	return {
		el,
		start() {
			observer.observe(sentinel);
			addEventListener('scroll', onScroll, { passive: true });
			return loadMore();
		},
		refresh,
		stop() {
			stopped = true;
			observer.disconnect();
			removeEventListener('scroll', onScroll);
		},
	};
}
