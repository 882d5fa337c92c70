import { z } from 'zod';
import { uuidParam } from '../http/validate';

// One session as a JSON document: its rows as the database holds them (column names, snake_case), and the
// transcript. Rows are checked here for what ties them together; every other column is checked against the
// target table's own columns and types when it is loaded (session-import.ts).

export const EXPORT_FORMAT = 'claude-orchestrator-session';
export const EXPORT_VERSION = 1;

const jsonValue: z.ZodType<unknown> = z.unknown();
const row = <T extends z.ZodRawShape>(shape: T) => z.object(shape).catchall(jsonValue);
const sessionRow = (extra: z.ZodRawShape = {}) => row({ session_id: uuidParam, ...extra });

export const ExportDocument = z
	.object({
		format: z.literal(EXPORT_FORMAT),
		version: z.literal(EXPORT_VERSION),
		exportedAt: z.string().optional(),
		session: row({ id: uuidParam }),
		runs: z.array(sessionRow({ id: uuidParam })).max(100_000),
		messages: z.array(sessionRow()).max(1_000_000),
		toolCalls: z.array(sessionRow({ tool_use_id: z.string().min(1) })).max(1_000_000),
		hookEvents: z
			.array(sessionRow({ event_name: z.string().min(1), payload_hash: z.string().min(1) }))
			.max(1_000_000),
		approvals: z.array(sessionRow({ id: uuidParam })).max(100_000),
		threads: z.array(sessionRow({ key: z.string().min(3).max(512) })).max(10_000),
		transcript: z
			.object({
				version: z.number().int().min(1),
				contentGzipBase64: z
					.string()
					.min(1)
					.regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64'),
			})
			.passthrough()
			.nullable(),
	})
	.strict()
	.superRefine((doc, ctx) => {
		const id = doc.session.id;
		for (const key of [
			'runs',
			'messages',
			'toolCalls',
			'hookEvents',
			'approvals',
			'threads',
		] as const) {
			doc[key].forEach((r, i) => {
				if (r.session_id !== id)
					ctx.addIssue({
						code: 'custom',
						path: [key, i, 'session_id'],
						message: `must be the exported session's id ${id}`,
					});
			});
		}
	});

export type ExportDocument = z.output<typeof ExportDocument>;

export const ImportQuery = z.object({ replace: z.enum(['true', 'false']).optional() });
