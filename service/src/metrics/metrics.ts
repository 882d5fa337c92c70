// Prometheus text exposition, kept by hand: a handful of counters and one latency histogram.
const BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 2500];

export class Metrics {
	private hookEvents = new Map<string, number>();
	private http = new Map<string, number>();
	private latency = { buckets: BUCKETS_MS.map(() => 0), sum: 0, count: 0 };

	hookEvent(eventName: string, outcome: 'stored' | 'duplicate' | 'queued', ms: number) {
		const key = `event="${eventName}",outcome="${outcome}"`;
		this.hookEvents.set(key, (this.hookEvents.get(key) ?? 0) + 1);
		BUCKETS_MS.forEach((b, i) => {
			if (ms <= b) this.latency.buckets[i]++;
		});
		this.latency.sum += ms;
		this.latency.count++;
	}

	httpResponse(method: string, status: number) {
		const key = `method="${method}",status="${status}"`;
		this.http.set(key, (this.http.get(key) ?? 0) + 1);
	}

	render(
		gauges: Record<string, number>,
		labelled: Record<string, Array<[string, number]>> = {},
	): string {
		const lines: string[] = [];
		const counter = (name: string, help: string, values: Map<string, number>) => {
			lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
			for (const [labels, v] of values) lines.push(`${name}{${labels}} ${v}`);
		};
		counter(
			'orchestrator_hook_events_total',
			'Hook events received, by event name and outcome.',
			this.hookEvents,
		);
		counter('orchestrator_http_responses_total', 'HTTP responses by method and status.', this.http);
		lines.push(
			'# HELP orchestrator_hook_ack_ms Time from receiving a hook event to answering it.',
			'# TYPE orchestrator_hook_ack_ms histogram',
		);
		BUCKETS_MS.forEach((b, i) =>
			lines.push(`orchestrator_hook_ack_ms_bucket{le="${b}"} ${this.latency.buckets[i]}`),
		);
		lines.push(`orchestrator_hook_ack_ms_bucket{le="+Inf"} ${this.latency.count}`);
		lines.push(
			`orchestrator_hook_ack_ms_sum ${this.latency.sum}`,
			`orchestrator_hook_ack_ms_count ${this.latency.count}`,
		);
		for (const [name, v] of Object.entries(gauges))
			lines.push(`# TYPE ${name} gauge`, `${name} ${v}`);
		for (const [name, values] of Object.entries(labelled)) {
			lines.push(`# TYPE ${name} gauge`);
			for (const [labels, v] of values) lines.push(`${name}{${labels}} ${v}`);
		}
		return lines.join('\n') + '\n';
	}
}
