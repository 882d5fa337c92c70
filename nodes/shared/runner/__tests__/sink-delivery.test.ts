import { setTimeout as wait } from 'node:timers/promises';
import { SinkDelivery, type RunSink, type ToolCallUpsert } from '../sink-delivery';
import type { StreamInit, StreamMessage } from '../stream-parser';

const message = (i: number): StreamMessage => ({
	uuid: `m${i}`,
	direction: 'assistant',
	content: `text ${i}`,
	createdAt: new Date().toISOString(),
});
const INIT: StreamInit = { tools: [], sessionId: 's' };

/**
 * Runs `fn` on jest's clock and moves it `ms` forward: the promise must have settled by then. A deadline is
 * checked in the code's own time, which a busy machine cannot stretch (wall-clock bounds fail under load).
 */
async function onVirtualClock<T>(fn: () => Promise<T>, ms: number): Promise<T> {
	jest.useFakeTimers();
	try {
		let settled = false;
		const result = fn().finally(() => {
			settled = true;
		});
		await jest.advanceTimersByTimeAsync(ms);
		expect(settled).toBe(true);
		return await result;
	} finally {
		jest.useRealTimers();
	}
}

class RecordingSink implements RunSink {
	inits: StreamInit[] = [];
	batches: StreamMessage[][] = [];
	toolBatches: ToolCallUpsert[][] = [];
	failUntil = 0;
	hang = false;
	calls = 0;

	private async gate(): Promise<void> {
		this.calls++;
		if (this.hang) await new Promise(() => undefined);
		if (Date.now() < this.failUntil) throw new Error('service unavailable');
	}
	async onInit(init: StreamInit) {
		await this.gate();
		this.inits.push(init);
	}
	async onMessages(messages: StreamMessage[]) {
		await this.gate();
		this.batches.push(messages);
	}
	async onToolCalls(calls: ToolCallUpsert[]) {
		await this.gate();
		this.toolBatches.push(calls);
	}
	get messages() {
		return this.batches.flat();
	}
}

describe('SinkDelivery', () => {
	it('flushes when maxItems are waiting, without waiting for the delay', async () => {
		const sink = new RecordingSink();
		const delivery = new SinkDelivery(sink, { maxItems: 3, maxDelayMs: 10_000 });
		for (let i = 0; i < 3; i++) delivery.message(message(i));
		await wait(30);
		expect(sink.batches).toEqual([
			[message(0), message(1), message(2)].map((m) => expect.objectContaining({ uuid: m.uuid })),
		]);
		expect(await delivery.finish(1_000)).toEqual({ init: 0, messages: 0, toolCalls: 0 });
	});

	it('flushes a small batch after maxDelayMs, init first', async () => {
		const sink = new RecordingSink();
		const delivery = new SinkDelivery(sink, { maxItems: 100, maxDelayMs: 50 });
		delivery.init(INIT);
		delivery.message(message(1));
		await wait(10);
		expect(sink.calls).toBe(0);
		await wait(100);
		expect(sink.inits).toEqual([INIT]);
		expect(sink.messages.map((m) => m.uuid)).toEqual(['m1']);
		await delivery.finish(1_000);
	});

	it('merges tool call changes into full upserts', async () => {
		const sink = new RecordingSink();
		const delivery = new SinkDelivery(sink, { maxItems: 100, maxDelayMs: 20 });
		delivery.toolCall({
			toolUseId: 't1',
			toolName: 'Bash',
			input: { command: 'ls' },
			status: 'running',
			startedAt: 'a',
		});
		await wait(60);
		delivery.toolCall({
			toolUseId: 't1',
			status: 'succeeded',
			response: { content: 'ok' },
			finishedAt: 'b',
			durationMs: 5,
		});
		await delivery.finish(1_000);
		expect(sink.toolBatches).toEqual([
			[
				{
					toolUseId: 't1',
					toolName: 'Bash',
					input: { command: 'ls' },
					status: 'running',
					startedAt: 'a',
				},
			],
			[
				{
					toolUseId: 't1',
					toolName: 'Bash',
					input: { command: 'ls' },
					status: 'succeeded',
					startedAt: 'a',
					response: { content: 'ok' },
					finishedAt: 'b',
					durationMs: 5,
				},
			],
		]);
	});

	it('keeps failed batches, in order, and delivers them once the sink recovers', async () => {
		const sink = new RecordingSink();
		sink.failUntil = Date.now() + 400;
		const delivery = new SinkDelivery(sink, { maxItems: 2, maxDelayMs: 20 });
		delivery.init(INIT);
		for (let i = 0; i < 7; i++) {
			delivery.message(message(i));
			await wait(15);
		}
		delivery.toolCall({ toolUseId: 't', status: 'running' });
		const undelivered = await delivery.finish(3_000);
		expect(undelivered).toEqual({ init: 0, messages: 0, toolCalls: 0 });
		expect(sink.inits).toHaveLength(1);
		expect(sink.messages.map((m) => m.uuid)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
		expect(sink.batches.every((batch) => batch.length <= 2)).toBe(true);
		expect(sink.toolBatches.flat().map((c) => c.toolUseId)).toEqual(['t']);
	});

	it('gives up within the deadline on a sink that keeps failing, and counts what is left', async () => {
		const sink = new RecordingSink();
		sink.failUntil = Number.POSITIVE_INFINITY;
		const delivery = new SinkDelivery(sink, { maxItems: 10, maxDelayMs: 10 });
		delivery.init(INIT);
		delivery.message(message(1));
		delivery.message(message(2));
		delivery.toolCall({ toolUseId: 't', status: 'running' });
		const undelivered = await onVirtualClock(() => delivery.finish(1_500), 1_500);
		expect(undelivered).toEqual({
			init: 1,
			messages: 2,
			toolCalls: 1,
			lastError: 'onInit: service unavailable',
		});
	});

	it('treats a sink call that never returns as failed and still ends on time', async () => {
		const sink = new RecordingSink();
		sink.hang = true;
		const delivery = new SinkDelivery(
			sink,
			{ maxItems: 10, maxDelayMs: 10 },
			{ callTimeoutMs: 200, retryBaseMs: 50, retryMaxMs: 100 },
		);
		delivery.message(message(1));
		const undelivered = await onVirtualClock(() => delivery.finish(1_000), 1_000);
		expect(undelivered).toMatchObject({
			messages: 1,
			lastError: 'onMessages: onMessages took longer than 200 ms',
		});
	});
});
