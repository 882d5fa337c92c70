import { insertImportedRow } from '../db/imported-row';
import { readSessionRowsAfter } from '../db/byte-bounded-page';
import type { z } from 'zod';
import type { Queryable } from '../db';
import type { MessageInput } from '../../../nodes/shared/protocol';
import { scrubText } from '../scrub';
import { touchSession } from '../sessions/sessions.repository';

export async function insertMessages(
	db: Queryable,
	sessionId: string,
	messages: Array<z.output<typeof MessageInput>>,
) {
	if (!messages.length) return 0;
	const rows = messages.map((m) => ({
		direction: m.direction,
		content: scrubText(m.content),
		source: m.source,
		externalId: m.externalId,
		createdAt: m.createdAt,
	}));
	const res = await db.query(
		`INSERT INTO session_messages (session_id, direction, content, source, external_id, created_at)
		SELECT $1, r->>'direction', r->>'content', r->>'source', r->>'externalId', COALESCE((r->>'createdAt')::timestamptz, now())
		FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(r, ord)
		ORDER BY ord
		ON CONFLICT (session_id, external_id) DO NOTHING`,
		[sessionId, JSON.stringify(rows)],
	);
	await touchSession(db, sessionId);
	return res.rowCount;
}

/** A session's messages after `afterId`, up to `limit` rows and about `maxBytes` of content (at least one row). */
export async function listMessages(
	db: Queryable,
	sessionId: string,
	limit: number,
	afterId = 0,
	maxBytes = Number.MAX_SAFE_INTEGER,
) {
	const { rows, more } = await readSessionRowsAfter(
		db,
		{
			table: 'session_messages',
			columns: 'id, direction, content, source, external_id, created_at',
			sizeExpr: 'octet_length(content)',
		},
		sessionId,
		{ limit, afterId, maxBytes },
	);
	return {
		items: rows.map((r) => ({
			id: r.id,
			direction: r.direction,
			content: r.content,
			source: r.source,
			externalId: r.external_id,
			timestamp: r.created_at,
		})),
		more,
	};
}

/** A message of an imported session, as exported (its id is assigned here). */
export function importMessage(tx: Queryable, values: Record<string, unknown>): Promise<void> {
	return insertImportedRow(tx, 'session_messages', values);
}
