import type { Database, Queryable } from '../db';
import { badRequest, conflict, HttpError } from '../http/errors';
import { importApproval } from '../approvals/approvals.repository';
import { importHookEvent } from '../hooks/hooks.repository';
import { importMessage } from '../messages/messages.repository';
import { scrubValue } from '../scrub';
import { deleteSession, importRun, importSessionRow } from '../sessions/sessions.repository';
import { importThread } from '../threads/threads.repository';
import { importToolCall } from '../tool-calls/tool-calls.repository';
import { storeTranscript } from '../transcripts/transcripts.service';
import type { ExportDocument } from './transfer.schema';

// Loads an exported session into this service, in one transaction: all of it or nothing. Columns are matched
// against the tables as they are here (a document from a newer service with columns this one lacks is refused,
// naming them); values are cast by PostgreSQL, and a value that does not fit is the client's 400, not a 500.

interface Part {
	/** Where its columns are looked up; the rows are written by the table's own repository (`insert`). */
	table: string;
	key: Exclude<keyof ExportDocument, 'format' | 'version' | 'exportedAt' | 'transcript'>;
	/** Columns this service assigns itself (serial ids) or that never travel (the lease). */
	dropped: string[];
	insert: (tx: Queryable, values: Record<string, unknown>) => Promise<void>;
}

const PARTS: Part[] = [
	{
		table: 'sessions',
		key: 'session',
		dropped: ['lease_owner', 'lease_expires_at'],
		insert: importSessionRow,
	},
	{ table: 'session_runs', key: 'runs', dropped: [], insert: importRun },
	{ table: 'session_messages', key: 'messages', dropped: ['id'], insert: importMessage },
	{ table: 'tool_calls', key: 'toolCalls', dropped: ['id'], insert: importToolCall },
	{ table: 'hook_events', key: 'hookEvents', dropped: ['id'], insert: importHookEvent },
	{ table: 'approvals', key: 'approvals', dropped: [], insert: importApproval },
	{ table: 'threads', key: 'threads', dropped: [], insert: importThread },
];

// Identifiers a later run reads back exactly as written; everything else is scrubbed like any stored text.
const VERBATIM = new Set([
	'id',
	'session_id',
	'key',
	'tool_use_id',
	'payload_hash',
	'workspace_path',
	'workspace_branch',
	'repository',
	'sandbox_id',
	'thread_key',
]);
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** The columns a row may set: computed ones (search vectors) are left out, the database fills them. */
async function columnsOf(tx: Queryable, table: string): Promise<Set<string>> {
	const { rows } = await tx.query<{ column_name: string }>(
		"SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' AND data_type <> 'tsvector'",
		[table],
	);
	return new Set(rows.map((r) => r.column_name));
}

async function insertRow(
	tx: Queryable,
	part: Part,
	columns: Set<string>,
	row: Record<string, unknown>,
	where: string,
): Promise<void> {
	const unknown = Object.keys(row).filter((c) => !columns.has(c));
	if (unknown.length)
		throw badRequest(
			`invalid session import: ${where} has fields this service does not store: ${unknown.join(', ')}`,
		);
	const kept = Object.entries(row).filter(([c]) => !part.dropped.includes(c));
	const values = Object.fromEntries(
		kept.map(([c, v]) => [c, VERBATIM.has(c) ? v : scrubValue(v, NO_LIMIT).value]),
	);
	try {
		// Column names come from the catalog (checked above), never from the document alone.
		await part.insert(tx, values);
	} catch (error) {
		throw asClientError(error, where);
	}
}

function asClientError(error: unknown, where: string): unknown {
	const e = error as { code?: string; message?: string };
	if (e.code === '23505')
		return conflict(
			`session import: ${where} clashes with what this service already holds (${e.message})`,
		);
	if (e.code?.startsWith('22') || e.code?.startsWith('23'))
		return badRequest(`invalid session import: ${where}: ${e.message}`);
	return error;
}

/** Imports the document; 409 when the session exists and `replace` is not set. Returns the session id. */
export async function importSession(
	db: Database,
	doc: ExportDocument,
	opts: { replace: boolean; transcriptMaxBytes: number },
): Promise<string> {
	const id = doc.session.id;
	return db.transaction(async (tx) => {
		const existing = await tx.query<{ lease_owner: string | null; lease_expires_at: Date | null }>(
			'SELECT lease_owner, lease_expires_at FROM sessions WHERE id = $1 FOR UPDATE',
			[id],
		);
		if (existing.rows[0]) {
			if (!opts.replace)
				throw conflict(
					`session ${id} already exists here; import with ?replace=true to replace it`,
				);
			const held = existing.rows[0];
			if (
				held.lease_owner &&
				held.lease_expires_at &&
				new Date(held.lease_expires_at) > new Date()
			) {
				throw conflict(
					`session ${id} is running here (${held.lease_owner}); wait for its run to end before replacing it`,
				);
			}
			await deleteSession(tx, id);
		}
		for (const part of PARTS) {
			const columns = await columnsOf(tx, part.table);
			const value = doc[part.key];
			const list = Array.isArray(value) ? value : [value];
			for (let i = 0; i < list.length; i++)
				await insertRow(
					tx,
					part,
					columns,
					list[i],
					Array.isArray(value) ? `${part.key}[${i}]` : part.key,
				);
		}
		if (doc.transcript) {
			await storeTranscript(
				tx,
				id,
				{ contentGzipBase64: doc.transcript.contentGzipBase64 },
				opts.transcriptMaxBytes,
				doc.transcript.version,
			).catch((error: unknown) => {
				if (error instanceof HttpError)
					throw badRequest(`invalid session import: transcript: ${error.message}`);
				throw error;
			});
		}
		return id;
	});
}
