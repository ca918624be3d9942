import * as z from 'zod/mini';
import { Problem } from './http';

/** Parses `value` with `schema`, or throws a 400 naming every invalid field (`lines[0].quantity`). */
export function parse<T extends z.ZodMiniType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: fieldName([...issue.path, key]), message: 'is not a known field' }))
      : [{ field: fieldName(issue.path), message: issue.message }],
  );
  const first = errors[0] ?? { field: 'body', message: 'is invalid' };
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

/** A string, trimmed, of 1..max characters, without control characters. */
export function text(max: number) {
  return z
    .string({ error: 'must be a string' })
    .check(
      z.trim(),
      z.minLength(1, { error: 'must not be empty' }),
      z.maxLength(max, { error: `must be at most ${max} characters` }),
      z.regex(/^[^\p{Cc}]*$/u, { error: 'must not contain control characters' }),
    );
}

/** A JSON object with exactly these fields (an unknown field is an error, so typos do not pass silently). */
export function body<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, { error: 'must be a JSON object' });
}

/** A path or query id: digits only, within a bigint. */
export function idOf(value: string | undefined, field: string): number {
  if (value === undefined || !/^[1-9]\d{0,14}$/.test(value))
    throw new Problem(400, 'validation-failed', `${field}: must be a positive integer`, { field });
  return Number(value);
}

function fieldName(path: PropertyKey[]): string {
  if (path.length === 0) return 'body';
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}
