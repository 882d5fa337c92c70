// @ts-check
// One of a session's long lists (tool calls, hook events, messages), read page by page over the service's
// opaque cursors. Each page keeps the cursor that produced it and the id of its last row. Live updates re-read
// only the pages that can have changed, so they cost a page or two however long the list is.
// Rows usually arrive at the end, but a list ordered by time (tool calls) can also gain a row inside a page
// that was already read: an earlier page is therefore re-read a little past its end, up to its old last row,
// so that no row falls between two pages.

const API_MAX_LIMIT = 500;
const SLACK = 50;

export class Feed {
	/** load({ limit, cursor }) resolves to { items, nextCursor } from the service. */
	constructor(load, pageSize = 100) {
		this.load = load;
		this.pageSize = pageSize;
		this.pages = [];
		this.done = false;
		this.queue = Promise.resolve();
	}

	// Reading more and refreshing both rewrite `pages`: one at a time keeps the page list consistent.
	serial(fn) {
		const run = this.queue.then(() => fn());
		this.queue = run.catch(() => undefined);
		return run;
	}

	/** Every row read so far, in the service's order. */
	*items() {
		for (const page of this.pages) yield* page.items;
	}

	/** Reads the next page; resolves to its items ([] at the end). */
	more() {
		return this.serial(async () => {
			if (this.done) return [];
			const cursor = this.pages.length ? this.pages[this.pages.length - 1].next : undefined;
			const res = await this.load({ limit: this.pageSize, cursor });
			this.pages.push({
				cursor,
				items: res.items,
				next: res.nextCursor,
				lastId: res.items[res.items.length - 1]?.id,
			});
			this.done = !res.nextCursor;
			return res.items;
		});
	}

	/**
	 * Re-reads the pages that can have changed: the last one once the end was reached (new rows), and up to
	 * `maxLivePages` earlier pages holding a row for which isLive(row) is true (a tool call still running).
	 * Resolves to { changed, added }.
	 */
	refresh(isLive = () => false, maxLivePages = 3) {
		return this.serial(async () => {
			const lastIndex = this.pages.length - 1;
			const live = [];
			this.pages.forEach(
				(page, index) => index < lastIndex && page.items.some(isLive) && live.push(index),
			);
			const chosen = [
				...live.slice(-maxLivePages),
				...(this.done && lastIndex >= 0 ? [lastIndex] : []),
			];
			const changed = [];
			const added = [];
			for (const index of chosen) {
				const page = this.pages[index];
				const last = index === lastIndex;
				const res = await this.load({
					limit: last ? this.pageSize : Math.min(API_MAX_LIMIT, this.pageSize + SLACK),
					cursor: page.cursor,
				});
				let items = res.items;
				if (!last) {
					const end = items.findIndex((it) => it.id === page.lastId);
					if (end >= 0) items = items.slice(0, end + 1);
				}
				const before = new Set(page.items.map((it) => it.id));
				for (const item of items) (before.has(item.id) ? changed : added).push(item);
				page.items = items;
				if (last) {
					page.next = res.nextCursor;
					page.lastId = items[items.length - 1]?.id;
					this.done = !res.nextCursor;
				}
			}
			return { changed, added };
		});
	}
}
