import type { Queryable } from '../db';

export interface TranscriptMeta {
	sessionId: string;
	version: number;
	sizeBytes: number;
	sha256: string;
	sourceSizeBytes: number;
	sourceSha256: string;
	runId: string | null;
	updatedAt: string;
}

export interface StoredTranscript extends TranscriptMeta {
	/** gzip of the stored text. */
	content: Buffer;
}

interface Row {
	session_id: string;
	version: number;
	size_bytes: string | number;
	sha256: string;
	source_size_bytes: string | number;
	source_sha256: string;
	run_id: string | null;
	updated_at: Date;
	content?: Uint8Array;
}

const META =
	'session_id, version, size_bytes, sha256, source_size_bytes, source_sha256, run_id, updated_at';

function toMeta(r: Row): TranscriptMeta {
	return {
		sessionId: r.session_id,
		version: r.version,
		sizeBytes: Number(r.size_bytes),
		sha256: r.sha256,
		sourceSizeBytes: Number(r.source_size_bytes),
		sourceSha256: r.source_sha256,
		runId: r.run_id,
		updatedAt: new Date(r.updated_at).toISOString(),
	};
}

export interface TranscriptWrite {
	content: Buffer;
	sizeBytes: number;
	sha256: string;
	sourceSizeBytes: number;
	sourceSha256: string;
	runId?: string | null;
	/** Set by an import: keep the exported version number instead of counting on. */
	version?: number;
}

/** Stores a session's transcript, replacing the previous one; the version counts up by one per upload. */
export async function putTranscript(
	db: Queryable,
	sessionId: string,
	t: TranscriptWrite,
): Promise<TranscriptMeta> {
	const { rows } = await db.query<Row>(
		`INSERT INTO session_transcripts (session_id, version, content, size_bytes, sha256, source_size_bytes, source_sha256, run_id)
		VALUES ($1, COALESCE($8, 1), $2, $3, $4, $5, $6, $7)
		ON CONFLICT (session_id) DO UPDATE SET
			version = COALESCE($8, session_transcripts.version + 1), content = EXCLUDED.content, size_bytes = EXCLUDED.size_bytes,
			sha256 = EXCLUDED.sha256, source_size_bytes = EXCLUDED.source_size_bytes, source_sha256 = EXCLUDED.source_sha256,
			run_id = EXCLUDED.run_id, updated_at = now()
		RETURNING ${META}`,
		[
			sessionId,
			t.content,
			t.sizeBytes,
			t.sha256,
			t.sourceSizeBytes,
			t.sourceSha256,
			t.runId ?? null,
			t.version ?? null,
		],
	);
	return toMeta(rows[0]);
}

export async function getTranscriptMeta(
	db: Queryable,
	sessionId: string,
): Promise<TranscriptMeta | undefined> {
	const { rows } = await db.query<Row>(
		`SELECT ${META} FROM session_transcripts WHERE session_id = $1`,
		[sessionId],
	);
	return rows[0] ? toMeta(rows[0]) : undefined;
}

/** The stored transcript; `forUpdate` locks it until the caller's transaction ends (an append is made to it). */
export async function getTranscript(
	db: Queryable,
	sessionId: string,
	forUpdate = false,
): Promise<StoredTranscript | undefined> {
	const { rows } = await db.query<Row>(
		`SELECT ${META}, content FROM session_transcripts WHERE session_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
		[sessionId],
	);
	const r = rows[0];
	return r ? { ...toMeta(r), content: Buffer.from(r.content!) } : undefined;
}
