import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../db';
import type { Auth } from '../http/auth';
import { parse } from '../http/validate';
import { readActivity } from './activity.repository';
import { readStats } from './stats.repository';

const StatsQuery = z.object({ days: z.coerce.number().int().min(1).max(90).default(30) });
const ActivityQuery = z.object({ range: z.enum(['day', 'month']).default('day') }).strict();

/** GET /api/v1/stats: the dashboard overview. Read-only, so the dashboard token may call it. */
export function statsRouter(deps: { db: Database; auth: Auth }): Router {
	const r = Router();
	r.get('/', deps.auth.requireReader, async (req, res) => {
		const { days } = parse(StatsQuery, req.query, 'query');
		res.json(await readStats(deps.db, days));
	});
	// Per hour over the last day (range=day) or per day over 30 days (range=month), with what waits for a person.
	r.get('/activity', deps.auth.requireReader, async (req, res) => {
		const { range } = parse(ActivityQuery, req.query, 'query');
		res.json(await readActivity(deps.db, range));
	});
	return r;
}
