import { z } from 'zod';
import { cursorTime, INT4_MAX, scrubbedText, storableText, timestamp, uuidParam } from '../http/validate';

export const SESSION_STATUSES = [
	'created',
	'running',
	'waiting',
	'waiting_approval',
	'completed',
	'failed',
	'timed_out',
	'cancelled',
	// The worker running it stopped renewing its lease (lease-sweep.ts).
	'interrupted',
	// A budget had nothing left, so the run did not start; or the run stopped at what it had reserved.
	'budget_exhausted',
	'budget_reached',
] as const;
export const WORKSPACE_TYPES = ['local', 'worktree', 'github', 'e2b', 'external'] as const;

export const ThreadKey = z
	.string()
	.min(3)
	.max(512)
	.regex(/^[a-z][a-z0-9_-]{0,31}:\S/, 'thread keys look like slack:<channel>:<thread_ts> or email:<message-id>');

/** A workflow's reference to the message that shows a run's progress: `<kind>:<where>`, e.g. slack:C0123:1712345678.000100. */
export const StatusMessageRef = z
	.string()
	.min(3)
	.max(512)
	.regex(/^[a-z][a-z0-9_-]{0,31}:\S+$/, 'a status message reference looks like slack:<channel>:<ts>, without spaces');

const metadata = z.record(z.string(), z.unknown()).refine((m) => JSON.stringify(m).length <= 64 * 1024, 'metadata is limited to 64 KB');

const sessionFields = {
	prompt: scrubbedText(200_000).optional(),
	status: z.enum(SESSION_STATUSES).optional(),
	workspaceType: z.enum(WORKSPACE_TYPES).optional(),
	workspacePath: storableText(4096).optional(),
	workspaceBranch: storableText(255).optional(),
	sandboxId: storableText(255).optional(),
	repository: storableText(512).optional(),
	model: storableText(255).optional(),
	cliVersion: storableText(100).optional(),
	metadata: metadata.optional(),
};

// The seed's clients post projectType / githubRepo / initialPrompt; they are read as their current names.
const legacyCreate = (body: unknown) => {
	if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
	const b = { ...(body as Record<string, unknown>) };
	const rename = (from: string, to: string) => {
		if (from in b) {
			if (!(to in b)) b[to] = b[from];
			delete b[from];
		}
	};
	rename('projectType', 'workspaceType');
	rename('githubRepo', 'repository');
	rename('initialPrompt', 'prompt');
	rename('projectPath', 'workspacePath');
	return b;
};

export const CreateSessionBody = z.preprocess(
	legacyCreate,
	z.object({ id: uuidParam.optional(), threadKey: ThreadKey.optional(), ...sessionFields }).strict(),
);

export const UpdateSessionBody = z
	.object({
		...sessionFields,
		result: scrubbedText(1_000_000).nullable().optional(),
		isError: z.boolean().optional(),
		subtype: scrubbedText(100).optional(),
		terminalReason: scrubbedText(100).optional(),
		errorMessage: scrubbedText(10_000).nullable().optional(),
		hooksMissing: z.boolean().optional(),
	})
	.strict()
	.refine((b) => Object.keys(b).length > 0, 'send at least one field to change');

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
export const SearchCursor = z.object({ r: z.number().finite().nonnegative(), t: cursorTime, id: uuidParam });

const tokens = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional();

export const RunBody = z
	.object({
		kind: z.enum(['start', 'resume']),
		status: z.enum(SESSION_STATUSES),
		prompt: scrubbedText(200_000).nullable().optional(),
		result: scrubbedText(1_000_000).nullable().optional(),
		isError: z.boolean().nullable().optional(),
		subtype: scrubbedText(100).nullable().optional(),
		terminalReason: scrubbedText(100).nullable().optional(),
		errorMessage: scrubbedText(10_000).nullable().optional(),
		costUsd: z.number().nonnegative().finite().default(0),
		// The token counts are summed as bigint in SQL: a string or a fraction there failed the cast (a 500).
		usage: z
			.object({
				input_tokens: tokens,
				output_tokens: tokens,
				cache_read_input_tokens: tokens,
				cache_creation_input_tokens: tokens,
			})
			.passthrough()
			.nullable()
			.optional(),
		modelUsage: z.record(z.string(), z.unknown()).nullable().optional(),
		numTurns: z.number().int().nonnegative().max(INT4_MAX).default(0),
		durationMs: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
		permissionDenials: z.array(z.unknown()).max(1000).default([]),
		cliVersion: storableText(100).nullable().optional(),
		exitCode: z.number().int().min(-INT4_MAX - 1).max(INT4_MAX).nullable().optional(),
		startedAt: timestamp().optional(),
		endedAt: timestamp().nullable().optional(),
		/**
		 * Where the workflow shows this run's progress, e.g. slack:<channel>:<ts of its "working" message>: handed
		 * back with the session's Hook Trigger deliveries (run.statusMessage) and RunFinished. Kept once set.
		 */
		statusMessage: StatusMessageRef.optional(),
		/** With status waiting_approval: the call the run stopped on (result.deferred_tool_use.id). */
		deferredToolUseId: storableText(256).optional(),
	})
	.strict();

export const RunParams = z.object({ id: uuidParam, runId: uuidParam });
