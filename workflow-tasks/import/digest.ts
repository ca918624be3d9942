import { createHash } from 'node:crypto';

/**
 * A table's rows counted and hashed so that two sides compare whatever order they were read in (a dump
 * holds rows as they lay on disk) and whatever time zone wrote their timestamps (a dump's `timestamptz`
 * values carry the offset of the server that dumped them; pg_dump does not set one): each row is a line of
 * PostgreSQL COPY text, its `timestamptz` fields brought to UTC, hashed with SHA-256; the table's digest is
 * the sum of the rows' hashes (mod 2^128) and their count.
 */
export class RowDigest {
  private count = 0;
  private sum = 0n;

  /** `utcFields`: the indexes of the row's `timestamptz` fields. */
  constructor(private readonly utcFields: readonly number[]) {}

  /** One row: a COPY text line, without its newline. */
  add(line: string): void {
    const canonical = this.utcFields.length === 0 ? line : inUtc(line, this.utcFields);
    const hash = createHash('sha256').update(canonical).digest();
    this.sum = (this.sum + hash.readBigUInt64BE(0) * 2n ** 64n + hash.readBigUInt64BE(8)) & MASK;
    this.count += 1;
  }

  get rows(): number {
    return this.count;
  }

  get hex(): string {
    return this.sum.toString(16).padStart(32, '0');
  }
}

const MASK = 2n ** 128n - 1n;

/** The indexes of the `timestamptz` columns among `types` (format_type names, in COPY order). */
export function utcFieldsOf(types: readonly string[]): number[] {
  return types.flatMap((type, i) => (type === 'timestamp with time zone' ? [i] : []));
}

// ISO output of a timestamptz: 2026-03-29 03:00:00.123456+02, +05:30, +00:53:28 (historic offsets).
const TIMESTAMPTZ =
  /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?$/;

function inUtc(line: string, fields: readonly number[]): string {
  const values = line.split('\t');
  for (const i of fields) {
    const value = values[i];
    if (value !== undefined) values[i] = utc(value);
  }
  return values.join('\t');
}

/** A timestamptz as microseconds since 1970 in UTC; a value it cannot read (infinity, BC, NULL) as it is. */
function utc(value: string): string {
  const m = TIMESTAMPTZ.exec(value);
  if (!m) return value;
  const [, y, mo, d, h, mi, s, fraction = '', sign, oh, om = '0', os = '0'] = m;
  const offset = (Number(oh) * 3600 + Number(om) * 60 + Number(os)) * (sign === '-' ? -1 : 1);
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s), 0);
  const seconds = BigInt(date.getTime() / 1000 - offset);
  return String(seconds * 1_000_000n + BigInt(fraction.padEnd(6, '0')));
}
