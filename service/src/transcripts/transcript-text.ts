import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { badRequest } from '../http/errors';
import { scrubText, scrubValue } from '../scrub';

// A transcript is Claude Code's JSONL conversation file. It is stored like every other text the service keeps:
// secrets masked. Each line is scrubbed as JSON (values only, so the line stays valid JSON that Claude Code can
// read back), never cut short: a truncated transcript would be a corrupt conversation.

const NO_LIMIT = Number.MAX_SAFE_INTEGER;

export const sha256Hex = (data: Buffer | string) =>
	crypto.createHash('sha256').update(data).digest('hex');

export function scrubTranscript(text: string): string {
	return text
		.split('\n')
		.map((line) => {
			if (line.trim() === '') return line;
			try {
				return JSON.stringify(scrubValue(JSON.parse(line) as unknown, NO_LIMIT).value);
			} catch {
				return scrubText(line);
			}
		})
		.join('\n');
}

/** Unpacks a gzip upload, refusing anything that is not gzip or inflates past `maxBytes`. */
export function gunzipUpload(gz: Buffer, maxBytes: number): Buffer {
	try {
		return zlib.gunzipSync(gz, { maxOutputLength: maxBytes });
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

export const gzip = (data: Buffer | string) => zlib.gzipSync(data);
