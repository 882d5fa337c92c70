import { z, type ZodTypeAny } from 'zod';
import { badRequest } from './errors';
import { describeZodError } from './error-handler';
import { depthExceeds, MAX_DEPTH, scrubText } from '../scrub';
import { uuidParam } from '../../../nodes/shared/protocol';

export { INT4_MAX, storableText, timestamp, uuidParam } from '../../../nodes/shared/protocol';

/**
 * Parses `value` with `schema` or throws a 400 naming the fields that are wrong. Every string of the result is
 * made storable (NUL and lone surrogates replaced): PostgreSQL refuses both in text and in jsonb, and a field
 * without storableText() would otherwise turn a client's odd byte into a 500.
 */
export function parse<S extends ZodTypeAny>(schema: S, value: unknown, what: string): z.output<S> {
	const result = schema.safeParse(value);
	if (!result.success)
		throw badRequest(`invalid ${what}: ${describeZodError(result.error)}`, result.error.issues);
	return storable(result.data) as z.output<S>;
}

/** A deep copy with every string (object keys too) storable; own keys such as `__proto__` stay plain data. */
export function storable(value: unknown): unknown {
	if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD').toWellFormed();
	if (value === null || typeof value !== 'object' || value instanceof Date) return value;
	if (Array.isArray(value)) return value.map(storable);
	return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k), storable(v)]));
}

export const SessionParams = z.object({ id: uuidParam });

export const PageQuery = z.object({
	limit: z.coerce.number().int().min(1).max(500).default(50),
	cursor: z.string().max(512).optional(),
});

export function encodeCursor(value: unknown): string {
	return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A keyset page as the list routes answer it: the items, and the cursor of the next page (null on the last). */
export function pageBody<T>(page: { items: T[]; next?: unknown }) {
	return { items: page.items, nextCursor: page.next ? encodeCursor(page.next) : null };
}

/**
 * A timestamp as PostgreSQL prints timestamptz::text (what keyset cursors carry): checked before it reaches a
 * `::timestamptz` cast, where anything else was a 500 instead of "invalid cursor".
 */
export const cursorTime = z.string().refine(isRealTimestamp);

const CURSOR_TIME =
	/^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::(\d{2}))?(?::(\d{2}))?$/;

/**
 * The shape alone let through dates that do not exist (2024-02-30, month 13, hour 99, offset +99): the cast
 * then failed in PostgreSQL ("date/time field value out of range"), a 500. Every field is checked against the
 * calendar here.
 */
function isRealTimestamp(text: string): boolean {
	const m = CURSOR_TIME.exec(text);
	if (!m) return false;
	const [year, month, day, hour, minute, second, offH, offM = 0, offS = 0] = m
		.slice(1)
		.map((v) => (v === undefined ? undefined : Number(v))) as number[];
	if (year < 1 || month < 1 || month > 12 || day < 1) return false;
	const daysInMonth =
		new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0);
	return (
		day <= daysInMonth &&
		hour <= 23 &&
		minute <= 59 &&
		second <= 59 &&
		offH <= 15 &&
		offM <= 59 &&
		offS <= 59
	);
}

const isLeapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
/** A bigserial id in a cursor: beyond 2^53 it is no longer the number that was sent. */
export const cursorId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export function decodeCursor<S extends ZodTypeAny>(
	schema: S,
	cursor: string | undefined,
): z.output<S> | undefined {
	if (!cursor) return undefined;
	try {
		return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
	} catch {
		throw badRequest('invalid cursor: pass back the nextCursor value of a previous page unchanged');
	}
}

/**
 * Free text a client writes and the dashboard and Hook Triggers show (prompts, results, error messages):
 * storable, and with secrets masked like every hook payload (scrub.ts). Not for identifiers a later run reads
 * back (paths, branches, ids), which must stay exactly as given.
 */
export const scrubbedText = (max: number) => z.string().max(max).transform(scrubText);

/**
 * Nesting deeper than any hook payload or workflow sends is refused at the HTTP edge, before a handler recurses
 * into it: JSON.stringify of a 50 000-level body overflowed the stack and answered 500.
 */
export function refuseDeepBody(body: unknown): void {
	if (depthExceeds(body))
		throw badRequest(`request body is nested deeper than ${MAX_DEPTH} levels`);
}
