// Sessions and runs on the wire: statuses, workspace types, the bodies the nodes send and the session they read.
import { z } from 'zod';
import {
	INT4_MAX,
	plainText,
	storableText,
	timestamp,
	uuidParam,
	type FreeText,
	type WireDate,
} from './fields';
import { SessionLeaseClaim } from './leases';
import { ThreadMetadata } from './threads';

export const SESSION_STATUSES = [
	'created',
	'running',
	'waiting',
	'waiting_approval',
	'completed',
	'failed',
	'timed_out',
	'cancelled',
	// The worker running it stopped renewing its lease (the service's lease sweep).
	'interrupted',
	// A budget had nothing left, so the run did not start; or the run stopped at what it had reserved.
	'budget_exhausted',
	'budget_reached',
	// Someone asked to stop the turn (POST /api/v1/sessions/:id/stop); it ended with its record and cost.
	'stopped',
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Where a run can happen: the workspaces the nodes prepare. */
export const RUN_WORKSPACE_TYPES = ['local', 'worktree', 'github', 'e2b'] as const;
export type WorkspaceType = (typeof RUN_WORKSPACE_TYPES)[number];
/** What a session record may say: also `external`, a session the service only heard of through its hooks. */
export const WORKSPACE_TYPES = [...RUN_WORKSPACE_TYPES, 'external'] as const;
export type StoredWorkspaceType = (typeof WORKSPACE_TYPES)[number];

export const RUN_KINDS = ['start', 'resume'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const ThreadKey = z
	.string()
	.min(3)
	.max(512)
	.regex(
		/^[a-z][a-z0-9_-]{0,31}:\S/,
		'thread keys look like slack:<channel>:<thread_ts> or email:<message-id>',
	);

/**
 * A reference to something outside the service, `<kind>:<where>` without spaces: the message that shows a run's
 * progress (slack:<channel>:<ts of the working message>), or the external event a run answers (slack:<channel>:<ts>).
 */
export const EXTERNAL_REFERENCE = /^[a-z][a-z0-9_-]{0,31}:\S+$/;
export const StatusMessageRef = z
	.string()
	.min(3)
	.max(512)
	.regex(
		EXTERNAL_REFERENCE,
		'a status message reference looks like slack:<channel>:<ts>, without spaces',
	);
export const EventKey = z
	.string()
	.min(3)
	.max(512)
	.regex(
		EXTERNAL_REFERENCE,
		'event keys look like slack:<channel>:<ts> or email:<message-id>, without spaces',
	);
export const EVENT_KEY_ACTIONS = ['start', 'resume'] as const;
/**
 * A random id the node makes once per claim of an event key and sends with every try of that claim. The claim is
 * retried when its answer is lost (a restart, a failover), and the retry must not read as a second arrival of the
 * event: the same claimId claiming again is answered `first: true`. It is also what gives the key back: only the
 * claimer knows it, so only the claimer can release the key (DELETE /api/v1/event-keys/:key?claimId=…).
 */
export const EventKeyClaimId = z
	.string()
	.uuid('claimId must be a uuid such as 1783e529-b137-4c6a-bc9b-97b1e0374b55')
	.transform((s) => s.toLowerCase());
// claimId is optional so that nodes older than it keep working: their retried claim reads as a duplicate, as before.
export const EventKeyClaimBody = z
	.object({
		key: EventKey,
		sessionId: uuidParam,
		action: z.enum(EVENT_KEY_ACTIONS),
		claimId: EventKeyClaimId.optional(),
	})
	.strict();
export type EventKeyClaimBody = z.infer<typeof EventKeyClaimBody>;
export const EventKeyReleaseQuery = z.object({ claimId: EventKeyClaimId });
/** The service's answer to a claim: 201 with first: true for this claim, 200 with first: false and the claim that won. */
export interface EventKeyClaim {
	key: string;
	sessionId: string;
	action: (typeof EVENT_KEY_ACTIONS)[number];
	createdAt: string;
	first: boolean;
}

const metadata = z
	.record(z.string(), z.unknown())
	.refine((m) => JSON.stringify(m).length <= 64 * 1024, 'metadata is limited to 64 KB');
const tokens = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional();

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

/** POST /sessions, PATCH /sessions/:id and PUT /sessions/:id/runs/:runId, with free text read by `text`. */
export function sessionBodies(text: FreeText = plainText) {
	const sessionFields = {
		prompt: text(200_000).optional(),
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

	const CreateSessionBody = z.preprocess(
		legacyCreate,
		z
			.object({
				id: uuidParam.optional(),
				threadKey: ThreadKey.optional(),
				threadMetadata: ThreadMetadata.optional(),
				/** Take the first run's lease with the session, in one transaction (the answer's `lease`). */
				lease: SessionLeaseClaim.optional(),
				...sessionFields,
			})
			.strict()
			.refine((b) => !b.threadMetadata || b.threadKey, {
				message:
					'threadMetadata needs a threadKey: it describes the thread the session is bound to',
				path: ['threadMetadata'],
			}),
	);

	const UpdateSessionBody = z
		.object({
			...sessionFields,
			result: text(1_000_000).nullable().optional(),
			isError: z.boolean().optional(),
			subtype: text(100).optional(),
			terminalReason: text(100).optional(),
			errorMessage: text(10_000).nullable().optional(),
			hooksMissing: z.boolean().optional(),
		})
		.strict()
		.refine((b) => Object.keys(b).length > 0, 'send at least one field to change');

	const RunBody = z
		.object({
			kind: z.enum(RUN_KINDS),
			status: z.enum(SESSION_STATUSES),
			prompt: text(200_000).nullable().optional(),
			result: text(1_000_000).nullable().optional(),
			isError: z.boolean().nullable().optional(),
			subtype: text(100).nullable().optional(),
			terminalReason: text(100).nullable().optional(),
			errorMessage: text(10_000).nullable().optional(),
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
			exitCode: z
				.number()
				.int()
				.min(-INT4_MAX - 1)
				.max(INT4_MAX)
				.nullable()
				.optional(),
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

	return { CreateSessionBody, UpdateSessionBody, RunBody };
}

type Bodies = ReturnType<typeof sessionBodies>;
export type CreateSessionRequest = z.input<Bodies['CreateSessionBody']>;
export type UpdateSessionRequest = z.input<Bodies['UpdateSessionBody']>;
/** What a node reports about one run (PUT /sessions/:id/runs/:runId). */
export type RunReport = z.input<Bodies['RunBody']>;

/** A session as GET /sessions/:id and the list answer it. */
export interface Session<D = WireDate> {
	id: string;
	origin: string;
	status: SessionStatus;
	workspace: {
		type: StoredWorkspaceType | null;
		path: string | null;
		branch: string | null;
		sandboxId: string | null;
	};
	repository: string | null;
	model: string | null;
	prompt: string | null;
	cliVersion: string | null;
	threadKey: string | null;
	result: string | null;
	isError: boolean | null;
	subtype: string | null;
	terminalReason: string | null;
	errorMessage: string | null;
	permissionDenials: unknown[] | null;
	costUsd: number;
	usage: {
		inputTokens: number;
		outputTokens: number;
		cacheReadInputTokens: number;
		cacheCreationInputTokens: number;
	};
	numTurns: number;
	durationMs: number;
	runCount: number;
	hookEventCount: number;
	hooksHealth: 'missing' | 'ok' | 'none';
	metadata: Record<string, unknown>;
	createdAt: D;
	updatedAt: D;
	startedAt: D | null;
	endedAt: D | null;
	lastActivityAt: D | null;
}

/** One page of a list: `nextCursor` is passed back unchanged for the next one. */
export interface Page<T> {
	items: T[];
	nextCursor: string | null;
}
