import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { notFound } from '../http/errors';
import { parse, SessionParams, uuidParam } from '../http/validate';
import { getTranscript, getTranscriptMeta } from './transcripts.repository';
import { uploadTranscript } from './transcripts.service';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 in lowercase hex');

export const TranscriptUpload = z
	.object({
		contentGzipBase64: z.string().min(1).regex(BASE64, 'must be base64 (standard alphabet)'),
		runId: uuidParam.optional(),
		appendTo: z
			.object({
				sourceSha256: SHA256,
				sourceSizeBytes: z
					.number()
					.int('appendTo.sourceSizeBytes is a whole number')
					.min(1, 'appendTo.sourceSizeBytes is at least 1'),
			})
			.strict()
			.optional(),
		sourceSha256: SHA256.optional(),
	})
	.strict()
	.refine((u) => Boolean(u.appendTo) === Boolean(u.sourceSha256), {
		message:
			'appendTo and sourceSha256 come together: an append names the upload it continues and the whole file it makes',
		path: ['appendTo'],
	});

/** What the routes that take or give a transcript need (a session's export carries its transcript too). */
export interface TranscriptDeps {
	db: Database;
	auth: Auth;
	transcriptMaxBytes: number;
}

/**
 * A session's Claude Code transcript, kept by the service so that any worker can resume the conversation:
 * the runner uploads it after every run and restores it before a Resume when its own copy is missing or older.
 */
export function transcriptsRouter(deps: TranscriptDeps): Router {
	const { db, auth } = deps;
	const r = Router();

	r.put('/:id/transcript', auth.requireAdmin, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const upload = parse(TranscriptUpload, req.body, 'transcript');
		res.json(await uploadTranscript(db, id, upload, deps.transcriptMaxBytes));
	});

	// Size, hash and version only: a worker asks this before every Resume, the content only when it needs it.
	r.get('/:id/transcript/meta', auth.requireReader, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const meta = await getTranscriptMeta(db, id);
		if (!meta) throw notFound(`session ${id} has no transcript stored`);
		res.json(meta);
	});

	// Readable with the dashboard token, like every other GET: it holds what the messages and tool calls show
	// (scrubbed the same way), and the session's export carries it too.
	r.get('/:id/transcript', auth.requireReader, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const t = await getTranscript(db, id);
		if (!t) throw notFound(`session ${id} has no transcript stored`);
		const { content, ...meta } = t;
		res.json({ ...meta, contentGzipBase64: content.toString('base64') });
	});

	return r;
}
