import { Router } from 'express';
import { notFound } from '../http/errors';
import { parse, SessionParams } from '../http/validate';
import { exportSession } from './session-export';
import { importSession } from './session-import';
import { ExportDocument, ImportQuery } from './transfer.schema';
import type { TranscriptDeps } from '../transcripts/transcripts.router';

/** A session moved between services: GET …/:id/export gives one JSON document, POST …/import loads one. */
export function transferRouter(deps: TranscriptDeps): Router {
	const { db, auth } = deps;
	const r = Router();

	r.post('/import', auth.requireAdmin, async (req, res) => {
		const { replace } = parse(ImportQuery, req.query, 'query');
		const doc = parse(ExportDocument, req.body, 'session import');
		const id = await importSession(db, doc, {
			replace: replace === 'true',
			transcriptMaxBytes: deps.transcriptMaxBytes,
		});
		res.status(201).json({ id, replaced: replace === 'true' });
	});

	r.get('/:id/export', auth.requireReader, async (req, res) => {
		const { id } = parse(SessionParams, req.params, 'path');
		const doc = await exportSession(db, id);
		if (!doc) throw notFound(`no session ${id}`);
		res.setHeader('content-disposition', `attachment; filename="session-${id}.json"`);
		res.json(doc);
	});

	return r;
}
