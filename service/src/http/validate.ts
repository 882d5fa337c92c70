import { z, type ZodTypeAny } from 'zod';
import { badRequest } from './errors';
import { describeZodError } from './error-handler';

/** Parses `value` with `schema` or throws a 400 naming the fields that are wrong. */
export function parse<S extends ZodTypeAny>(schema: S, value: unknown, what: string): z.output<S> {
	const result = schema.safeParse(value);
	if (!result.success) throw badRequest(`invalid ${what}: ${describeZodError(result.error)}`, result.error.issues);
	return result.data;
}

export const uuidParam = z.string().uuid('must be a session uuid such as 1783e529-b137-4c6a-bc9b-97b1e0374b55');
export const SessionParams = z.object({ id: uuidParam });

export const PageQuery = z.object({
	limit: z.coerce.number().int().min(1).max(500).default(50),
	cursor: z.string().max(512).optional(),
});

export function encodeCursor(value: unknown): string {
	return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<S extends ZodTypeAny>(schema: S, cursor: string | undefined): z.output<S> | undefined {
	if (!cursor) return undefined;
	try {
		return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
	} catch {
		throw badRequest('invalid cursor: pass back the nextCursor value of a previous page unchanged');
	}
}

/** A JSON text value without characters PostgreSQL cannot store. */
export const storableText = (max: number) =>
	z
		.string()
		.max(max)
		.transform((s) => s.replaceAll('\u0000', '\uFFFD').toWellFormed());
