import type { Database, Queryable } from '../db';
import { notFound } from '../http/errors';
import { getSession } from '../sessions/sessions.repository';
import { gunzipUpload, gzip, scrubTranscript, sha256Hex } from './transcript-text';
import { putTranscript } from './transcripts.repository';

export interface TranscriptUploadBody {
	/** Gzip of the JSONL file, base64. */
	contentGzipBase64: string;
	runId?: string;
}

/** Scrubs and stores an uploaded transcript (gzip of the JSONL file); what the service keeps about it. */
export async function storeTranscript(
	db: Queryable,
	sessionId: string,
	upload: TranscriptUploadBody,
	maxBytes: number,
	version?: number,
) {
	const source = gunzipUpload(Buffer.from(upload.contentGzipBase64, 'base64'), maxBytes);
	const text = scrubTranscript(source.toString('utf8'));
	return putTranscript(db, sessionId, {
		content: gzip(text),
		sizeBytes: Buffer.byteLength(text),
		sha256: sha256Hex(text),
		sourceSizeBytes: source.length,
		sourceSha256: sha256Hex(source),
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
	return storeTranscript(db, sessionId, upload, maxBytes);
}
