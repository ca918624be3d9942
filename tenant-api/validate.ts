import * as z from 'zod/mini';
import { Problem } from './http';

/**
 * Parses `value` with `schema`, or throws a 400 naming every invalid field (`lines[0].quantity`). `whole`
 * names the value itself: `body`, or the parameter's name.
 */
export function parse<T extends z.ZodMiniType>(schema: T, value: unknown, whole = 'body'): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          field: fieldName([...issue.path, key], whole),
          message: 'is not a known field',
        }))
      : [{ field: fieldName(issue.path, whole), message: issue.message }],
  );
  const first = errors[0] ?? { field: whole, message: 'is invalid' };
  throw new Problem(400, 'validation-failed', `${first.field}: ${first.message}`, {
    field: first.field,
    errors,
  });
}

/** An integer in [min, max], with messages that say so. */
export function integer(min: number, max: number) {
  return z
    .int({ error: 'must be an integer' })
    .check(z.gte(min, { error: `must be at least ${min}` }), z.lte(max, { error: `must be at most ${max}` }));
}

/**
 * A string of at most max characters without control characters, trimmed, not empty. The length and the
 * characters are checked before the trim, so the JSON Schema of the OpenAPI document (`maxLength`,
 * `pattern`) refuses nothing this accepts.
 */
export function text(max: number) {
  return z
    .string({ error: 'must be a string' })
    .check(
      z.maxLength(max, { error: `must be at most ${max} characters` }),
      z.regex(/^[^\p{Cc}]*$/u, { error: 'must not contain control characters' }),
      z.trim(),
      z.minLength(1, { error: 'must not be empty' }),
    );
}

/** A JSON object with exactly these fields (an unknown field is an error, so typos do not pass silently). */
export function body<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, { error: 'must be a JSON object' });
}

/** A path or cursor id as it travels: digits only, within a bigint. */
export const idString = z
  .string({ error: 'must be a positive integer' })
  .check(z.regex(/^[1-9]\d{0,14}$/, { error: 'must be a positive integer' }));

/** A path or query id, checked by `idString`: a 400 naming `field` otherwise. */
export function idOf(value: string | undefined, field: string): number {
  return Number(parse(idString, value, field));
}

function fieldName(path: PropertyKey[], whole: string): string {
  if (path.length === 0) return whole;
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}
