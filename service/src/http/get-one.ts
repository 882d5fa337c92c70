import type { RequestHandler, Router } from 'express';
import type { z } from 'zod';
import { notFound } from './errors';
import { parse } from './validate';

/**
 * `GET /:id` for one record: the id checked by `params` (a 400 saying what an id must be), then the record, or a
 * 404 naming the `what` that is not there.
 */
export function getOne<T>(
	r: Router,
	guard: RequestHandler,
	params: z.ZodType<{ id: string }, z.ZodTypeDef, unknown>,
	what: string,
	load: (id: string) => Promise<T | undefined | null>,
): void {
	r.get('/:id', guard, async (req, res) => {
		const { id } = parse(params, req.params, 'path');
		const found = await load(id);
		if (!found) throw notFound(`no ${what} ${id}`);
		res.json(found);
	});
}
