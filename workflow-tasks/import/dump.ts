import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { MIGRATIONS_TABLE, UNKNOWN_TYPE, type SchemaShape } from './schema';

/**
 * A plain-format `pg_dump` is customer input: nothing in it is ever run. Only the rows of its `COPY
 * public.<table> (<columns>) FROM stdin;` blocks are taken (and only into the shop's own tables, with the
 * columns checked against the schema version); the statements around them (CREATE TABLE, indexes, setval,
 * comments, functions, extensions) are read past, because the platform makes the schema from its own
 * migrations. Refused by rule, before anything is created: a role statement, a COPY that is not `FROM
 * stdin` (`TO PROGRAM`, a file), a psql meta-command other than pg_dump's own `\restrict`, rows as INSERT
 * statements (`pg_dump --inserts`), an encoding other than UTF-8, a statement over 1 MiB, and a dump cut
 * off (inside a COPY, or without pg_dump's closing comment). This platform's own `schema_migrations` is read
 * for the version it records, not loaded.
 */

/** Where a table's rows go while a dump streams (a load): each row as a COPY text line, then the end. */
export interface RowSink {
  row(line: string): Promise<void> | void;
  end(): Promise<void>;
}

/** What a dump holds: its tables of schema public with their COPY column lists and row counts. */
export interface DumpScan {
  readonly tables: { readonly name: string; readonly columns: string[]; readonly rows: number }[];
  /** Tables of other schemas, whose rows were read past. */
  readonly ignored: string[];
  /** The next value of each sequence of schema public, from pg_dump's `setval` lines, by sequence name. */
  readonly sequences: Record<string, number>;
  /** A dump of a database this platform's migrations made: its `schema_migrations`' highest version. */
  readonly recordedVersion?: number;
}

const END_OF_DATA = '\\.';
const COMPLETE = '-- PostgreSQL database dump complete';
const IDENTIFIER = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const COPY_FROM_STDIN = new RegExp(
  String.raw`^COPY\s+(?:(${IDENTIFIER})\.)?(${IDENTIFIER})\s*\(([^)]*)\)\s+FROM\s+stdin\s*;$`,
  'i',
);
const SETVAL =
  /^SELECT\s+pg_catalog\.setval\('public\.([A-Za-z_][A-Za-z0-9_$]*)',\s*(\d+),\s*(true|false)\);$/i;
const ROLE_STATEMENT = /^(?:CREATE|ALTER|DROP)\s+(?:ROLE|USER|GROUP)\b/i;
// pg_dump 15.14, 16.10, 17.6 and later fence a dump's body with these (CVE-2025-8714).
const ALLOWED_META = /^\\(?:restrict|unrestrict)\s+[A-Za-z0-9]+$/;
const DOLLAR_QUOTE = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/;
/** The longest statement read past (a function body, a view): anything longer is not pg_dump's. */
const MAX_STATEMENT = 1024 * 1024;

/** Whether a statement's text is inside a quote at a line's end, and which (`'`, `"`, or a `$tag$`). */
interface Quoting {
  readonly inside: string | undefined;
}

/**
 * Follows quotes along one line of a statement (string literals, quoted names, dollar-quoted bodies,
 * `--` comments): whether the line ends the statement (a `;` last, outside any quote) and the quoting the
 * next line starts in.
 */
function endOfLine(line: string, start: Quoting): { statementEnds: boolean; quoting: Quoting } {
  let inside = start.inside;
  let lastOutside = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inside !== undefined) {
      if (line.startsWith(inside, i)) {
        i += inside.length - 1;
        inside = undefined;
      }
      continue;
    }
    if (c === '-' && line[i + 1] === '-') break;
    if (c === "'" || c === '"') inside = c;
    else if (c === '$') {
      const tag = DOLLAR_QUOTE.exec(line.slice(i))?.[0];
      if (tag) {
        inside = tag;
        i += tag.length - 1;
      }
    } else if (!/\s/.test(c)) lastOutside = c;
    if (inside !== undefined) lastOutside = '';
  }
  return { statementEnds: inside === undefined && lastOutside === ';', quoting: { inside } };
}

/**
 * The lines of a dump in the archive bucket, streamed (one line in memory). The object is opened when the
 * reading starts, not before: a line interface reads from the moment it is made, and lines nobody awaits
 * yet would be lost.
 */
export async function* dumpLines(s3: S3Client, Bucket: string, Key: string): AsyncGenerator<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket, Key }));
  const body = object.Body as Readable;
  try {
    yield* createInterface({ input: body, crlfDelay: Infinity });
  } finally {
    body.destroy();
  }
}

/**
 * Reads a dump from its first line to its last, applying the rules above; `onTable` may return where a
 * table's rows go. Every refusal names the dump and the line.
 */
export async function scanDump(
  lines: AsyncIterable<string>,
  where: string,
  onTable?: (table: { name: string; columns: string[] }) => Promise<RowSink | undefined>,
): Promise<DumpScan> {
  const tables: DumpScan['tables'] = [];
  const ignored: string[] = [];
  const sequences: Record<string, number> = {};
  let lineNo = 0;
  let statement = '';
  let quoting: Quoting = { inside: undefined };
  let copying:
    | { name: string; columns: string[]; rows: number; sink?: RowSink; skip: boolean; versionAt?: number }
    | undefined;
  let recordedVersion: number | undefined;
  let complete = false;
  const refuse = (why: string) =>
    new OnboardingError(PermanentErrors.ImportDumpRefused, `dump ${where}, line ${lineNo}: ${why}`);
  for await (const line of lines) {
    lineNo += 1;
    if (copying) {
      if (line === END_OF_DATA) {
        await copying.sink?.end();
        if (!copying.skip) tables.push({ name: copying.name, columns: copying.columns, rows: copying.rows });
        copying = undefined;
      } else if (copying.versionAt !== undefined) {
        const version = Number(line.split('\t')[copying.versionAt]);
        if (Number.isSafeInteger(version)) recordedVersion = Math.max(recordedVersion ?? 0, version);
      } else if (!copying.skip) {
        copying.rows += 1;
        await copying.sink?.row(line);
      }
      continue;
    }
    if (statement === '') {
      if (line.trim() === '') continue;
      if (line.startsWith('--')) {
        // Comments after it (pg_dump's closing "--") keep it complete; a statement does not.
        if (line.trim() === COMPLETE) complete = true;
        continue;
      }
      if (line.startsWith('\\')) {
        if (ALLOWED_META.test(line.trim())) continue;
        throw refuse(
          `the psql meta-command ${JSON.stringify(line.slice(0, 20))} is refused (only pg_dump's \\restrict is read past)`,
        );
      }
    }
    complete = false;
    statement = statement === '' ? line : `${statement}\n${line}`;
    if (statement.length > MAX_STATEMENT)
      throw refuse(`a statement runs past ${MAX_STATEMENT / 1024 / 1024} MiB: not a dump pg_dump writes`);
    const ended = endOfLine(line, quoting);
    quoting = ended.quoting;
    if (!ended.statementEnds) continue;
    const text = statement.trim();
    statement = '';
    if (ROLE_STATEMENT.test(text))
      throw refuse(
        `role statements are refused (${JSON.stringify(text.slice(0, 30))}): an import brings data, not roles`,
      );
    if (/^INSERT\s/i.test(text))
      throw refuse(
        "rows as INSERT statements are refused: make the dump with pg_dump's default COPY format (no --inserts)",
      );
    const encoding = /^SET\s+client_encoding\s*=\s*'([^']*)'/i.exec(text)?.[1];
    if (encoding !== undefined && !/^utf-?8$/i.test(encoding))
      throw refuse(`the dump is in ${encoding}; only UTF-8 dumps are imported (pg_dump --encoding=UTF8)`);
    const setval = SETVAL.exec(text);
    if (setval) sequences[setval[1]!] = Number(setval[2]) + (setval[3]!.toLowerCase() === 'true' ? 1 : 0);
    if (!/^COPY\s/i.test(text)) continue;
    const copy = COPY_FROM_STDIN.exec(text);
    if (!copy)
      throw refuse(
        `${JSON.stringify(text.slice(0, 60))} is refused: a dump's COPY must be COPY <table> (<columns>) FROM stdin`,
      );
    const schema = copy[1] ? unquote(copy[1]) : 'public';
    const name = unquote(copy[2]!);
    const columns = copy[3]!.split(',').map((c) => c.trim());
    if (!columns.every((c) => new RegExp(`^${IDENTIFIER}$`).test(c)))
      throw refuse(`the column list of table ${name} is not a list of names`);
    // The platform's own bookkeeping: not a shop table; its versions say which one the dump is at.
    if (schema === 'public' && name === MIGRATIONS_TABLE) {
      const list = columns.map(unquote);
      copying = { name, columns: list, rows: 0, skip: true, versionAt: list.indexOf('version') };
      if (copying.versionAt === -1) copying.versionAt = undefined;
      continue;
    }
    const skip = schema !== 'public';
    if (!skip && tables.some((t) => t.name === name)) throw refuse(`table ${name} has its rows twice`);
    if (skip) ignored.push(`${schema}.${name}`);
    const list = columns.map(unquote);
    copying = {
      name,
      columns: list,
      rows: 0,
      skip,
      sink: skip ? undefined : await onTable?.({ name, columns: list }),
    };
  }
  if (copying)
    throw new OnboardingError(
      PermanentErrors.ImportDumpTruncated,
      `dump ${where} is cut off: it ends inside the rows of table ${copying.name} (line ${lineNo})`,
    );
  if (!complete)
    throw new OnboardingError(
      PermanentErrors.ImportDumpTruncated,
      `dump ${where} is cut off or not a pg_dump: it does not end with pg_dump's "${COMPLETE.slice(3)}" line`,
    );
  return { tables, ignored, sequences, ...(recordedVersion === undefined ? {} : { recordedVersion }) };
}

/** A dump's shape: its tables with their column names (a COPY names no types: any type matches). */
export function dumpShape(scan: DumpScan): SchemaShape {
  return new Map(scan.tables.map((t) => [t.name, new Map(t.columns.map((c) => [c, UNKNOWN_TYPE]))]));
}

function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replace(/""/g, '"') : identifier;
}
