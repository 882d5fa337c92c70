import { z } from 'zod';
import { SESSION_STATUSES, sessionBodies, WORKSPACE_TYPES } from '../../../nodes/shared/protocol';
import { cursorTime, scrubbedText, uuidParam } from '../http/validate';

export { SESSION_STATUSES, ThreadKey, WORKSPACE_TYPES } from '../../../nodes/shared/protocol';

// The bodies as the contract defines them, with free text stored scrubbed (secrets masked).
export const { CreateSessionBody, UpdateSessionBody, RunBody } = sessionBodies(scrubbedText);

export const ListSessionsQuery = z.object({
	status: z
		.string()
		.transform((s) => s.split(',').filter(Boolean))
		.pipe(z.array(z.enum([...SESSION_STATUSES, 'external'])))
		.optional(),
	workspaceType: z.enum(WORKSPACE_TYPES).optional(),
	q: z.string().max(200).optional(),
	/** Full-text search, ranked (session-search.ts); the list is then in order of relevance. */
	search: z.string().trim().min(1).max(200).optional(),
	limit: z.coerce.number().int().min(1).max(200).default(50),
	cursor: z.string().max(512).optional(),
});

export const SessionCursor = z.object({ t: cursorTime, id: uuidParam });
export const SearchCursor = z.object({
	r: z.number().finite().nonnegative(),
	t: cursorTime,
	id: uuidParam,
});

export const RunParams = z.object({ id: uuidParam, runId: uuidParam });
