import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { api, DATABASE_KINDS, serviceForSuite } from '../../test/support/test-service';
import { newSession } from '../../test/support/service-sessions';

const sha = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');
const upload = (text: string | Buffer, extra: Record<string, unknown> = {}) => ({
	contentGzipBase64: zlib.gzipSync(text).toString('base64'),
	...extra,
});

describe.each(DATABASE_KINDS)('session transcripts (%s)', (kind) => {
	const t = serviceForSuite(kind, { TRANSCRIPT_MAX_BYTES: String(256 * 1024) });

	const session = () => newSession(t.svc);

	it('stores a transcript gzip-compressed and scrubbed, counts versions, and gives it back', async () => {
		const id = await session();
		const line1 = JSON.stringify({
			type: 'user',
			sessionId: id,
			message: { role: 'user', content: 'use key sk-ant-api03-abcdefghijklmnopqrstuv please' },
		});
		const line2 = JSON.stringify({
			type: 'assistant',
			sessionId: id,
			message: { role: 'assistant', content: [{ type: 'text', text: 'ok' }] },
			usage: { input_tokens: 12 },
		});
		const source = `${line1}\n${line2}\n`;
		const runId = crypto.randomUUID();
		const put = await api(
			t.svc,
			'PUT',
			`/api/v1/sessions/${id}/transcript`,
			upload(source, { runId }),
		);
		expect(put.status).toBe(200);
		expect(put.body).toMatchObject({
			sessionId: id,
			version: 1,
			sourceSizeBytes: Buffer.byteLength(source),
			sourceSha256: sha(source),
			runId,
		});

		const got = await api(t.svc, 'GET', `/api/v1/sessions/${id}/transcript`);
		expect(got.status).toBe(200);
		const text = zlib
			.gunzipSync(Buffer.from(got.body.contentGzipBase64, 'base64'))
			.toString('utf8');
		expect(text).not.toContain('sk-ant-api03');
		expect(text).toContain('[REDACTED:anthropic-key]');
		// Still one JSON object per line, as Claude Code reads it back; figures untouched.
		const lines = text
			.trim()
			.split('\n')
			.map((l) => JSON.parse(l));
		expect(lines[1]).toEqual(JSON.parse(line2));
		expect(got.body).toMatchObject({
			version: 1,
			sizeBytes: Buffer.byteLength(text),
			sha256: sha(text),
		});

		const longer = `${source}${JSON.stringify({ type: 'user', message: { content: 'turn 2' } })}\n`;
		const second = await api(t.svc, 'PUT', `/api/v1/sessions/${id}/transcript`, upload(longer));
		expect(second.body).toMatchObject({
			version: 2,
			sourceSizeBytes: Buffer.byteLength(longer),
			runId: null,
		});
		const meta = await api(t.svc, 'GET', `/api/v1/sessions/${id}/transcript/meta`);
		expect(meta.body).toEqual(second.body);
		expect(meta.body.contentGzipBase64).toBeUndefined();
	});

	it('answers 404 for a session without one, and refuses what is not a transcript with 400', async () => {
		const id = await session();
		expect((await api(t.svc, 'GET', `/api/v1/sessions/${id}/transcript/meta`)).status).toBe(404);
		expect((await api(t.svc, 'GET', `/api/v1/sessions/${id}/transcript`)).status).toBe(404);
		expect(
			(
				await api(
					t.svc,
					'PUT',
					`/api/v1/sessions/${crypto.randomUUID()}/transcript`,
					upload('{}\n'),
				)
			).status,
		).toBe(404);

		const notGzip = await api(t.svc, 'PUT', `/api/v1/sessions/${id}/transcript`, {
			contentGzipBase64: Buffer.from('plain').toString('base64'),
		});
		expect(notGzip.status).toBe(400);
		expect(notGzip.body.message).toMatch(/not gzip/);
		const notBase64 = await api(t.svc, 'PUT', `/api/v1/sessions/${id}/transcript`, {
			contentGzipBase64: '%%%',
		});
		expect(notBase64.status).toBe(400);
		expect(notBase64.body.message).toMatch(/contentGzipBase64/);
		const unknownField = await api(
			t.svc,
			'PUT',
			`/api/v1/sessions/${id}/transcript`,
			upload('{}\n', { extra: 1 }),
		);
		expect(unknownField.status).toBe(400);
		// A gzip bomb is refused by its inflated size, not read whole.
		const tooBig = await api(
			t.svc,
			'PUT',
			`/api/v1/sessions/${id}/transcript`,
			upload(Buffer.alloc(300 * 1024, 'a')),
		);
		expect(tooBig.status).toBe(400);
		expect(tooBig.body.message).toMatch(/TRANSCRIPT_MAX_BYTES/);
		expect((await api(t.svc, 'GET', `/api/v1/sessions/${id}/transcript/meta`)).status).toBe(404);
	});

	it('appends what a run added to the stored transcript, scrubbed, and refuses an append that continues something else', async () => {
		const id = await session();
		const path = `/api/v1/sessions/${id}/transcript`;
		const first = `${JSON.stringify({ type: 'user', message: { content: 'hello' } })}\n`;
		expect((await api(t.svc, 'PUT', path, upload(first))).status).toBe(200);
		const added = `${JSON.stringify({ type: 'user', message: { content: 'key sk-ant-api03-abcdefghijklmnopqrstuv' } })}\n`;
		const whole = first + added;
		const appendTo = { sourceSha256: sha(first), sourceSizeBytes: Buffer.byteLength(first) };
		const appended = await api(
			t.svc,
			'PUT',
			path,
			upload(added, { appendTo, sourceSha256: sha(whole), runId: crypto.randomUUID() }),
		);
		expect(appended.status).toBe(200);
		expect(appended.body).toMatchObject({
			version: 2,
			sourceSizeBytes: Buffer.byteLength(whole),
			sourceSha256: sha(whole),
		});
		// The same as if the whole file had been sent: every line scrubbed, the text hashed whole.
		const got = await api(t.svc, 'GET', path);
		const text = zlib
			.gunzipSync(Buffer.from(got.body.contentGzipBase64, 'base64'))
			.toString('utf8');
		expect(text.split('\n')).toHaveLength(3);
		expect(text.startsWith(first)).toBe(true);
		expect(text).not.toContain('sk-ant-api03-abcdefghijklmnopqrstuv');
		expect(got.body).toMatchObject({ sha256: sha(text), sizeBytes: Buffer.byteLength(text) });

		// An append that continues another version, or none: 409, saying to send the whole file; nothing changes.
		for (const [to, said] of [
			[appendTo, /version 2 is \d+ bytes with sha256/],
			[{ ...appendTo, sourceSizeBytes: Buffer.byteLength(whole) }, /version 2 is/],
		] as const) {
			const stale = await api(
				t.svc,
				'PUT',
				path,
				upload('{}\n', { appendTo: to, sourceSha256: sha('x') }),
			);
			expect(stale.status).toBe(409);
			expect(stale.body.message).toMatch(said);
			expect(stale.body.message).toMatch(/send the whole file/);
		}
		const other = await session();
		const none = await api(
			t.svc,
			'PUT',
			`/api/v1/sessions/${other}/transcript`,
			upload('{}\n', { appendTo, sourceSha256: sha('x') }),
		);
		expect(none.status).toBe(409);
		expect(none.body.message).toMatch(/none is stored/);
		// A stored transcript that does not end with a whole line cannot be continued line by line.
		const partial = '{"type":"user"}';
		expect(
			(await api(t.svc, 'PUT', `/api/v1/sessions/${other}/transcript`, upload(partial))).status,
		).toBe(200);
		const cut = await api(
			t.svc,
			'PUT',
			`/api/v1/sessions/${other}/transcript`,
			upload('{}\n', {
				appendTo: { sourceSha256: sha(partial), sourceSizeBytes: partial.length },
				sourceSha256: sha(partial + '{}\n'),
			}),
		);
		expect(cut.status).toBe(409);
		expect(cut.body.message).toMatch(/does not end with a whole line/);
		// Within the size limit on its own, past it with what is stored: 400, as for a whole file.
		const tooBig = await api(
			t.svc,
			'PUT',
			path,
			upload(Buffer.alloc(256 * 1024 - 50, 'a'), {
				appendTo: { sourceSha256: sha(whole), sourceSizeBytes: Buffer.byteLength(whole) },
				sourceSha256: sha('x'),
			}),
		);
		expect(tooBig.status).toBe(400);
		expect(tooBig.body.message).toMatch(/TRANSCRIPT_MAX_BYTES/);
		// appendTo and sourceSha256 come together, and are what they say.
		for (const extra of [
			{ appendTo },
			{ sourceSha256: sha(whole) },
			{ appendTo: { ...appendTo, sourceSha256: 'nope' }, sourceSha256: sha(whole) },
			{ appendTo: { ...appendTo, sourceSizeBytes: 0 }, sourceSha256: sha(whole) },
		]) {
			const bad = await api(t.svc, 'PUT', path, upload('{}\n', extra));
			expect(bad.status).toBe(400);
		}
		expect((await api(t.svc, 'GET', `${path}/meta`)).body.version).toBe(2);
	});

	it('needs the API key', async () => {
		const id = await session();
		expect(
			(await api(t.svc, 'GET', `/api/v1/sessions/${id}/transcript`, undefined, {})).status,
		).toBe(401);
		expect(
			(await api(t.svc, 'PUT', `/api/v1/sessions/${id}/transcript`, upload('{}\n'), {})).status,
		).toBe(401);
	});
});
