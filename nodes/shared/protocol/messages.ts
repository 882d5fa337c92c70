// Conversation messages on the wire (POST/GET /sessions/:id/messages).
import { z } from 'zod';
import { storableText, timestamp } from './fields';

export const MESSAGE_DIRECTIONS = ['user', 'assistant', 'system'] as const;
export type MessageDirection = (typeof MESSAGE_DIRECTIONS)[number];

export const MessageInput = z
	.object({
		direction: z.enum(MESSAGE_DIRECTIONS),
		content: storableText(1_000_000),
		source: z
			.string()
			.regex(
				/^[a-z][a-z0-9_-]{0,31}$/,
				'source is a short lowercase name such as n8n, slack, email or stream',
			)
			.default('api'),
		externalId: z.string().min(1).max(512).optional(),
		createdAt: timestamp().optional(),
	})
	.strict();
export type MessageRequest = z.input<typeof MessageInput>;

// One message, or a batch of them under `messages`.
export const PostMessagesBody = z.preprocess(
	(b) =>
		b && typeof b === 'object' && !Array.isArray(b) && 'messages' in b ? b : { messages: [b] },
	z.object({ messages: z.array(MessageInput).min(1).max(500) }).strict(),
);
