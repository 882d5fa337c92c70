import crypto from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import zlib from 'node:zlib';
import { prepareTranscript } from '../src/transcripts/transcript-text';

const sha = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

/** A conversation of `mb` megabytes: tool calls with long outputs, one line carrying a secret. */
function conversation(mb: number): string {
	const output =
		'src/app.ts:12:5 - error TS2345: Argument of type string is not assignable\n'.repeat(40);
	const lines = [
		JSON.stringify({
			type: 'user',
			message: { content: 'deploy with sk-ant-api03-abcdefghijklmnopqrstuv' },
		}),
	];
	for (let i = 0, size = 0; size < mb * 1024 * 1024; i++) {
		const line = JSON.stringify(
			i % 2
				? {
						type: 'user',
						message: {
							content: [{ type: 'tool_result', tool_use_id: `toolu_${i}`, content: output }],
						},
					}
				: {
						type: 'assistant',
						message: {
							content: [
								{
									type: 'tool_use',
									id: `toolu_${i}`,
									name: 'Bash',
									input: { command: 'npm test' },
								},
							],
						},
					},
		);
		lines.push(line);
		size += line.length + 1;
	}
	return `${lines.join('\n')}\n`;
}

describe('preparing an uploaded transcript', () => {
	it('gives other requests turns while it works, and stores what it did before: scrubbed, gzipped, hashed', async () => {
		const source = conversation(8);
		const upload = zlib.gzipSync(source).toString('base64');
		// Every turn the event loop takes while the upload is prepared is a turn a hook answer could have had. Done in one
		// go, as before, the count stayed at 0 until the whole upload was processed.
		let turns = 0;
		let done = false;
		const counting = (async () => {
			while (!done) {
				await nextTurn();
				turns++;
			}
		})();
		const prepared = await prepareTranscript(upload, 64 * 1024 * 1024).finally(() => {
			done = true;
		});
		await counting;
		expect(turns).toBeGreaterThanOrEqual(5);

		const text = zlib.gunzipSync(prepared.content).toString('utf8');
		expect(text).not.toContain('sk-ant-api03-abcdefghijklmnopqrstuv');
		expect(text.split('\n')).toHaveLength(source.split('\n').length);
		expect(text.split('\n').slice(1)).toEqual(source.split('\n').slice(1)); // nothing else to mask
		expect(prepared).toMatchObject({
			sizeBytes: Buffer.byteLength(text),
			sha256: sha(text),
			sourceSizeBytes: Buffer.byteLength(source),
			sourceSha256: sha(source),
		});
	});

	it('refuses an upload that is not gzip, or that inflates past the limit, saying which', async () => {
		await expect(
			prepareTranscript(Buffer.from('plain text').toString('base64'), 1024),
		).rejects.toThrow('invalid transcript: contentGzipBase64 is not gzip-compressed data');
		await expect(
			prepareTranscript(zlib.gzipSync('x'.repeat(4096)).toString('base64'), 1024),
		).rejects.toThrow(
			'invalid transcript: it is larger than 1024 bytes uncompressed (TRANSCRIPT_MAX_BYTES)',
		);
	});
});
