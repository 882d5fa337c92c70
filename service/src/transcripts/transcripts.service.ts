import type { Database, Queryable } from '../db';
import { conflict, notFound } from '../http/errors';
import { getSession } from '../sessions/sessions.repository';
import { appendToTranscript, prepareTranscript } from './transcript-text';
import { getTranscript, putTranscript } from './transcripts.repository';

export interface TranscriptUploadBody {
	/** Gzip of the JSONL file, base64; with `appendTo`, of what the file holds after the stored part. */
	contentGzipBase64: string;
	runId?: string;
	/** The stored upload this one continues: the file's first sourceSizeBytes bytes are the ones stored then. */
	appendTo?: { sourceSha256: string; sourceSizeBytes: number };
	/** With `appendTo`: the whole file's sha256, as the runner read it (the service holds only the scrubbed text). */
	sourceSha256?: string;
}

/** Scrubs and stores an uploaded transcript (gzip of the JSONL file); what the service keeps about it. */
export async function storeTranscript(
	db: Queryable,
	sessionId: string,
	upload: TranscriptUploadBody,
	maxBytes: number,
	version?: number,
) {
	return putTranscript(db, sessionId, {
		...(await prepareTranscript(upload.contentGzipBase64, maxBytes)),
		runId: upload.runId ?? null,
		version,
	});
}

/** A run's upload (PUT …/transcript); 404 when there is no such session. */
export async function uploadTranscript(
	db: Database,
	sessionId: string,
	upload: TranscriptUploadBody,
	maxBytes: number,
) {
	if (!(await getSession(db, sessionId))) throw notFound(`no session ${sessionId}`);
	const { appendTo, sourceSha256 } = upload;
	if (!appendTo || !sourceSha256) return storeTranscript(db, sessionId, upload, maxBytes);
	// Locked until the append is stored: two uploads of one session cannot both continue the same version.
	return db.transaction(async (tx) => {
		const stored = await getTranscript(tx, sessionId, true);
		const resend = (why: string) =>
			conflict(
				`this upload continues a transcript the service does not hold: ${why}; send the whole file`,
			);
		if (!stored) throw resend('none is stored');
		if (
			stored.sourceSha256 !== appendTo.sourceSha256 ||
			stored.sourceSizeBytes !== appendTo.sourceSizeBytes
		)
			throw resend(
				`version ${stored.version} is ${stored.sourceSizeBytes} bytes with sha256 ${stored.sourceSha256}`,
			);
		const appended = await appendToTranscript(stored, upload.contentGzipBase64, maxBytes);
		if (appended === 'not-at-a-line-end')
			throw resend(`version ${stored.version} does not end with a whole line`);
		return putTranscript(tx, sessionId, {
			...appended,
			sourceSha256,
			runId: upload.runId ?? null,
		});
	});
}
