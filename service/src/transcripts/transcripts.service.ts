import type { Database, Queryable } from '../db';
import { notFound } from '../http/errors';
import { getSession } from '../sessions/sessions.repository';
import { prepareTranscript } from './transcript-text';
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
	return storeTranscript(db, sessionId, upload, maxBytes);
}
