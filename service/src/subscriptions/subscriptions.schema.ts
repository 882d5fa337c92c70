import { z } from 'zod';
import { uuidParam } from '../http/validate';
import { ThreadKey, WORKSPACE_TYPES } from '../sessions/sessions.schema';
import { parseToolFilter, TOOL_FILTER_HELP, ToolFilterError } from './tool-filter';

/** The longest window a coalescing subscription can ask for (the column's CHECK in migration 016 says the same). */
export const MAX_MIN_INTERVAL_SECONDS = 3600;

const EventName = z
	.string()
	.regex(
		/^(\*|[A-Za-z][A-Za-z0-9_]{0,63})$/,
		'event names look like PreToolUse or Stop; "*" means any event',
	);

export const CreateSubscriptionBody = z
	.object({
		url: z
			.string()
			.max(2048)
			.url('url must be an absolute URL such as https://n8n.example.com/webhook/<id>/claude-hook'),
		// Empty or containing "*": every event.
		events: z
			.array(EventName)
			.max(64)
			.default([])
			.transform((events) => (events.includes('*') ? [] : [...new Set(events)])),
		toolFilter: z
			.string()
			.max(256)
			.nullish()
			.superRefine((value, ctx) => {
				if (!value) return;
				try {
					parseToolFilter(value);
				} catch (err) {
					if (!(err instanceof ToolFilterError)) throw err;
					ctx.addIssue({
						code: z.ZodIssueCode.custom,
						message: `${err.message}: ${TOOL_FILTER_HELP}`,
					});
				}
			}),
		sessionId: uuidParam.nullish(),
		threadKey: ThreadKey.nullish(),
		workspaceType: z.enum(WORKSPACE_TYPES).nullish(),
		// At most one delivery every N seconds per session; events in between are coalesced, keeping the latest.
		minIntervalSeconds: z
			.number({ message: 'minIntervalSeconds must be a number of seconds' })
			.int('minIntervalSeconds must be a whole number of seconds')
			.min(1, 'minIntervalSeconds must be at least 1 (or null for every event)')
			.max(
				MAX_MIN_INTERVAL_SECONDS,
				`minIntervalSeconds must be at most ${MAX_MIN_INTERVAL_SECONDS}`,
			)
			.nullish(),
		secret: z.string().min(16, 'secret must be at least 16 characters').max(256).optional(),
		workflowId: z.string().max(256).nullish(),
		nodeName: z.string().max(256).nullish(),
	})
	.strict();

export type CreateSubscription = z.output<typeof CreateSubscriptionBody>;

export const SubscriptionParams = z.object({
	id: z.string().uuid('must be a subscription id (a uuid)'),
});

export const ListSubscriptionsQuery = z.object({
	url: z.string().max(2048).optional(),
	workflowId: z.string().max(256).optional(),
});

export const DeleteByUrlQuery = z.object({
	url: z
		.string()
		.min(1, 'pass the subscription url, or DELETE /api/v1/subscriptions/<id>')
		.max(2048),
});
