import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { badRequest } from '../http/errors';
import { scrubText, scrubValue } from '../scrub';

// A transcript is Claude Code's JSONL conversation file. It is stored like every other text the service keeps:
// secrets masked. Each line is scrubbed as JSON (values only, so the line stays valid JSON that Claude Code can
// read back), never cut short: a truncated transcript would be a corrupt conversation.
//
// A run uploads its transcript when it ends, and one can be tens of megabytes (TRANSCRIPT_MAX_BYTES). Done in one
// go on the event loop, 4 MB took about 100 ms of gunzip, scrub, gzip and hashing, and every hook answer of every
// other session waited behind it. So the (de)compression runs on libuv's thread pool and the scrub and the hashes
// give the event loop a turn every few milliseconds.

const NO_LIMIT = Number.MAX_SAFE_INTEGER;
/** The longest stretch of scrubbing or hashing before other requests get a turn. */
const SLICE_MS = 4;
const HASH_SLICE_BYTES = 1024 * 1024;
const gunzipAsync = promisify(zlib.gunzip);
const gzipAsync = promisify(zlib.gzip);

/** What the service stores for an uploaded transcript. */
export interface PreparedTranscript {
	/** gzip of the scrubbed text. */
	content: Buffer;
	sizeBytes: number;
	sha256: string;
	sourceSizeBytes: number;
	sourceSha256: string;
}

/** Unpacks, scrubs, packs and hashes an upload (gzip of the JSONL file, base64), without holding the event loop. */
export async function prepareTranscript(
	contentGzipBase64: string,
	maxBytes: number,
): Promise<PreparedTranscript> {
	const source = await gunzipUpload(Buffer.from(contentGzipBase64, 'base64'), maxBytes);
	const sourceSha256 = await sha256Yielding(source);
	const text = await scrubbed(source);
	return {
		content: await gzipAsync(text),
		sizeBytes: text.length,
		sha256: await sha256Yielding(text),
		sourceSizeBytes: source.length,
		sourceSha256,
	};
}

/** What a transcript becomes with the lines an appended upload brings (AppendedUpload). */
export interface AppendedTranscript {
	/** The stored gzip with a gzip member of the new lines after it: one gzip stream, as gunzip reads it. */
	content: Buffer;
	sizeBytes: number;
	sha256: string;
	sourceSizeBytes: number;
}

/**
 * The lines a run added, scrubbed and packed on their own, put after the stored text. A conversation only grows, so
 * after its first upload a run sends just what it added: the work here follows what was added, not the whole
 * conversation (a long Slack thread's turns re-scrubbed megabytes each). The stored text must end with a whole line.
 */
export async function appendToTranscript(
	stored: { content: Buffer; sourceSizeBytes: number },
	tailGzipBase64: string,
	maxBytes: number,
): Promise<AppendedTranscript | 'not-at-a-line-end'> {
	const tail = await gunzipUpload(
		Buffer.from(tailGzipBase64, 'base64'),
		maxBytes,
		stored.sourceSizeBytes,
	);
	const before = await gunzipAsync(stored.content);
	if (before.length > 0 && before[before.length - 1] !== 0x0a) return 'not-at-a-line-end';
	const added = await scrubbed(tail);
	const text = Buffer.concat([before, added]);
	return {
		content: Buffer.concat([stored.content, await gzipAsync(added)]),
		sizeBytes: text.length,
		sha256: await sha256Yielding(text),
		sourceSizeBytes: stored.sourceSizeBytes + tail.length,
	};
}

const scrubbed = async (source: Buffer) =>
	Buffer.from(await scrubTranscript(source.toString('utf8')), 'utf8');

async function scrubTranscript(text: string): Promise<string> {
	const lines = text.split('\n');
	let since = performance.now();
	for (let i = 0; i < lines.length; i++) {
		lines[i] = scrubLine(lines[i]);
		if (performance.now() - since > SLICE_MS) {
			await nextTurn();
			since = performance.now();
		}
	}
	return lines.join('\n');
}

function scrubLine(line: string): string {
	if (line.trim() === '') return line;
	try {
		return JSON.stringify(scrubValue(JSON.parse(line) as unknown, NO_LIMIT).value);
	} catch {
		return scrubText(line);
	}
}

async function sha256Yielding(data: Buffer): Promise<string> {
	const hash = crypto.createHash('sha256');
	for (let at = 0; at < data.length; at += HASH_SLICE_BYTES) {
		hash.update(data.subarray(at, at + HASH_SLICE_BYTES));
		if (at + HASH_SLICE_BYTES < data.length) await nextTurn();
	}
	return hash.digest('hex');
}

/** Unpacks a gzip upload, refusing anything that is not gzip or inflates past `maxBytes` with what is `stored`. */
async function gunzipUpload(gz: Buffer, maxBytes: number, stored = 0): Promise<Buffer> {
	try {
		if (stored >= maxBytes) throw new RangeError('nothing more fits');
		return await gunzipAsync(gz, { maxOutputLength: maxBytes - stored });
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		if (code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
			throw badRequest(
				`invalid transcript: it is larger than ${maxBytes} bytes uncompressed (TRANSCRIPT_MAX_BYTES)`,
			);
		}
		throw badRequest('invalid transcript: contentGzipBase64 is not gzip-compressed data');
	}
}
