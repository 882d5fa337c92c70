// A server-sent events reader over fetch, as the dashboard reads the stream (credential in a header): for the
// stream's tests and for the live-update benchmark.

export interface SseEvent {
	id?: string;
	event: string;
	data: any;
}

export interface SseStream {
	status: number;
	events: SseEvent[];
	/** Resolves with the first event (already received or still to come) for which `match` holds. */
	waitFor(match: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
	/** The change events received so far. */
	changes(): any[];
	/** Whether the server ended the stream. */
	ended: Promise<void>;
	close(): void;
}

export interface StreamOptions {
	/** Called with each event as it arrives. */
	onEvent?: (e: SseEvent) => void;
	/** Keep every event in `events` (default); off for long runs that only count them. */
	keep?: boolean;
}

export async function openStream(
	url: string,
	headers: Record<string, string>,
	opts: StreamOptions = {},
): Promise<SseStream> {
	const controller = new AbortController();
	const res = await fetch(url, {
		headers: { Accept: 'text/event-stream', ...headers },
		signal: controller.signal,
	});
	const events: SseEvent[] = [];
	let wake: Array<() => void> = [];
	const notify = () => {
		const w = wake;
		wake = [];
		for (const f of w) f();
	};
	const ended = (async () => {
		if (!res.ok || !res.body) return;
		const decoder = new TextDecoder();
		let buffer = '';
		try {
			for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
				buffer += decoder.decode(chunk, { stream: true });
				let end: number;
				while ((end = buffer.indexOf('\n\n')) >= 0) {
					const block = buffer.slice(0, end);
					buffer = buffer.slice(end + 2);
					const e: SseEvent = { event: 'message', data: undefined };
					let data = '';
					for (const line of block.split('\n')) {
						if (line.startsWith(':') || !line) continue;
						const at = line.indexOf(':');
						const field = at < 0 ? line : line.slice(0, at);
						const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
						if (field === 'id') e.id = value;
						else if (field === 'event') e.event = value;
						else if (field === 'data') data += value;
					}
					if (!data) continue;
					e.data = JSON.parse(data);
					opts.onEvent?.(e);
					if (opts.keep !== false) events.push(e);
					notify();
				}
			}
		} catch (err) {
			if ((err as Error).name !== 'AbortError') throw err;
		} finally {
			notify();
		}
	})();
	return {
		status: res.status,
		events,
		ended,
		changes: () => events.filter((e) => e.event === 'change').map((e) => e.data),
		async waitFor(match, timeoutMs = 10_000) {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const found = events.find(match);
				if (found) return found;
				const left = deadline - Date.now();
				if (left <= 0)
					throw new Error(
						`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}`,
					);
				await new Promise<void>((resolve) => {
					const t = setTimeout(resolve, left);
					wake.push(() => {
						clearTimeout(t);
						resolve();
					});
				});
			}
		},
		close: () => controller.abort(),
	};
}
