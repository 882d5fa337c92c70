// Field shapes every request body uses. Plain zod only: the node side loads this module too.
import { z } from 'zod';

/**
 * A uuid as it comes in (path, query, body), lower-cased once here: hook payloads, tokens and stored rows all
 * carry the lower-case form, so an upper-case id given anywhere reaches the same session.
 */
export const uuidParam = z
	.string()
	.uuid('must be a session uuid such as 1783e529-b137-4c6a-bc9b-97b1e0374b55')
	.transform((s) => s.toLowerCase());

/** A JSON text value without characters PostgreSQL cannot store. */
export const storableText = (max: number) =>
	z
		.string()
		.max(max)
		.transform((s) => s.replaceAll('\u0000', '\uFFFD').toWellFormed());

/**
 * An ISO 8601 timestamp PostgreSQL accepts: zod's datetime() also lets through year 0000 and offsets such as
 * +99:99, which timestamptz refuses (a 500 before this).
 */
export const timestamp = () =>
	z
		.string()
		.datetime({
			offset: true,
			message: 'must be an ISO 8601 timestamp such as 2025-01-31T12:00:00Z',
		})
		.refine((s) => {
			const m = /^(\d{4})-.*(?:Z|[+-](\d{2})(?::?\d{2})?)$/i.exec(s);
			return m !== null && m[1] !== '0000' && (m[2] === undefined || Number(m[2]) <= 15);
		}, 'must be a timestamp from year 0001 with a UTC offset within ±15:59');

/** Whole numbers that fit the integer and bigint columns they are stored in. */
export const INT4_MAX = 2_147_483_647;

/**
 * How a schema reads free text a person or Claude wrote (prompts, results, error messages). The service passes
 * its own (storable and with secrets masked); the default only checks the length.
 */
export type FreeText = (max: number) => z.ZodType<string, z.ZodTypeDef, string>;
export const plainText: FreeText = (max) => z.string().max(max);

/** Dates are Date objects inside the service and ISO strings once they crossed the wire. */
export type WireDate = string;
