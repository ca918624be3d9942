import { once } from 'node:events';
import { Transform, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { escapeIdentifier, type ClientBase } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { setIdentitiesPastMax } from '../records/tenant-export';
import { RowDigest, utcFieldsOf } from './digest';
import { scanDump, type RowSink } from './dump';
import { sourceError } from './source';
import type { SchemaShape } from './schema';

/**
 * Loads a customer's rows into the tenant's database, already migrated to the source's schema version and
 * empty: every table in one transaction, the foreign keys dropped while the rows stream (a dump holds its
 * tables in name order, children before parents) and added back, validating every row, before the end.
 * Each row is counted and hashed as it is read (RowDigest), then each table is read back from the tenant's
 * database and counted and hashed again: any difference, or a row the schema refuses, rolls it all back
 * (ImportMismatch). Identity sequences end past the highest ids, so new orders get new ids. Memory stays at
 * a few COPY chunks whatever the table sizes.
 */

/** What was loaded and verified, table by table. */
export type LoadedTables = Record<string, { rows: number; digest: string }>;

/** Where the rows come from: one snapshot of the source database, or a dump's lines. */
export type RowSource =
  | { readonly kind: 'database'; readonly client: ClientBase; readonly label: string }
  | { readonly kind: 'dump'; readonly lines: AsyncIterable<string>; readonly where: string };

export async function loadRows(
  target: ClientBase,
  source: RowSource,
  shape: SchemaShape,
): Promise<LoadedTables> {
  /** Each table's rows as read, and the columns in the order they were read in. */
  const read = new Map<string, { digest: RowDigest; columns: readonly string[] }>();
  let open: Writable | undefined;
  let loading = '';
  const digestFor = (table: string, columns: readonly string[]) => {
    const types = shape.get(table);
    if (!types)
      throw new OnboardingError(PermanentErrors.ImportSchemaMismatch, `table ${table} is not in the schema`);
    const digest = new RowDigest(utcFieldsOf(columns.map((c) => types.get(c) ?? '')));
    read.set(table, { digest, columns });
    return digest;
  };
  const copyInto = (table: string, columns: readonly string[]): Writable => {
    loading = table;
    open = target.query(copyFrom(`COPY ${escapeIdentifier(table)} (${list(columns)}) FROM STDIN`));
    // The server may refuse a row at any moment, also while no write is waiting: the error is kept here
    // (an error event nobody listens to would end the process) and thrown at the next row or the end.
    open.on('error', () => undefined);
    return open;
  };
  await target.query('BEGIN');
  try {
    await target.query(`SET LOCAL TimeZone = 'UTC'`);
    const foreignKeys = await dropForeignKeys(target);
    let sequences: Record<string, number>;
    if (source.kind === 'database') {
      sequences = await sourceSequences(source);
      for (const [table, types] of shape) {
        const columns = [...types.keys()];
        await copyTable(source, table, columns, copyInto(table, columns), digestFor(table, columns));
        open = undefined;
      }
    } else {
      ({ sequences } = await scanDump(source.lines, source.where, ({ name, columns }) =>
        Promise.resolve(linesInto(copyInto(name, columns), digestFor(name, columns))),
      ));
      open = undefined;
    }
    loading = '';
    const loaded: LoadedTables = {};
    for (const [table, types] of shape) {
      const expected = read.get(table);
      // Read back in the order the rows came in (a dump may list a table's columns in another order).
      const columns = expected?.columns ?? [...types.keys()];
      const found = await digestOf(
        target,
        table,
        columns,
        columns.map((c) => types.get(c) ?? ''),
      );
      if (!expected || found.rows !== expected.digest.rows || found.hex !== expected.digest.hex)
        throw new OnboardingError(
          PermanentErrors.ImportMismatch,
          `table ${table}: ${expected ? `${expected.digest.rows} rows were read (digest ${expected.digest.hex.slice(0, 12)})` : 'no rows were read'}, the tenant's database has ${found.rows} (${found.hex.slice(0, 12)})`,
        );
      loaded[table] = { rows: found.rows, digest: found.hex };
    }
    await addForeignKeys(target, foreignKeys);
    await setIdentitiesPastMax(target);
    await advanceSequences(target, sequences);
    await target.query('COMMIT');
    return loaded;
  } catch (error) {
    // A COPY left open would hold the connection; destroying it sends CopyFail.
    open?.destroy();
    await target.query('ROLLBACK').catch(() => undefined);
    throw loadError(loading, error);
  }
}

/** The target's identity sequences where the source's are (never moved back), and past its highest ids. */
export async function followSequences(
  source: Extract<RowSource, { kind: 'database' }>,
  target: ClientBase,
): Promise<void> {
  await setIdentitiesPastMax(target);
  await advanceSequences(target, await sourceSequences(source));
}

/**
 * The source's sequences, next value by name: an id the old app gave out and deleted since is not given out
 * again. A sequence the source's user may not read (pg_sequences shows NULL) counts for nothing: then the
 * highest id loaded decides.
 */
async function sourceSequences(
  source: Extract<RowSource, { kind: 'database' }>,
): Promise<Record<string, number>> {
  const { rows } = await source.client
    .query<{ name: string; next: string }>(
      `SELECT sequencename::text AS name, last_value + 1 AS next
         FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL`,
    )
    .catch((error: unknown) => {
      throw sourceError(source.label, error);
    });
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.next)]));
}

/** Moves each identity sequence forward to where the source's was, never back. */
async function advanceSequences(client: ClientBase, next: Record<string, number>): Promise<void> {
  const { rows } = await client.query<{ sequence: string; name: string }>(
    `SELECT pg_get_serial_sequence(format('%I', table_name), column_name) AS sequence,
            split_part(pg_get_serial_sequence(format('%I', table_name), column_name), '.', 2) AS name
       FROM information_schema.columns WHERE table_schema = 'public' AND is_identity = 'YES'`,
  );
  for (const { sequence, name } of rows) {
    const value = next[name.replace(/^"|"$/g, '')];
    if (value === undefined) continue;
    await client.query(
      `SELECT setval($1::regclass, $2, false) FROM ${sequence} WHERE (CASE WHEN is_called THEN last_value + 1 ELSE last_value END) < $2`,
      [sequence, value],
    );
  }
}

/**
 * A source table streamed into the target's COPY, each row counted and hashed on the way; a failure of
 * the source's side is named as the source's, one of the tenant's database stays as it is.
 */
async function copyTable(
  source: Extract<RowSource, { kind: 'database' }>,
  table: string,
  columns: readonly string[],
  sink: Writable,
  digest: RowDigest,
): Promise<void> {
  const rows = source.client.query(
    copyTo(`COPY (SELECT ${list(columns)} FROM public.${escapeIdentifier(table)}) TO STDOUT`),
  );
  let sourceFailed: Error | undefined;
  rows.once('error', (error) => (sourceFailed ??= error));
  try {
    await pipeline(rows, digestingLines(digest), sink);
  } catch (error) {
    throw sourceFailed ? sourceError(source.label, sourceFailed) : error;
  }
}

/** Passes COPY text through unchanged, handing each complete line (UTF-8, no newline) to the digest. */
function digestingLines(digest: RowDigest): Transform {
  let rest: Buffer = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      let start = 0;
      for (let end = data.indexOf(10); end !== -1; end = data.indexOf(10, start)) {
        digest.add(data.toString('utf8', start, end));
        start = end + 1;
      }
      rest = data.subarray(start);
      done(null, chunk);
    },
    flush(done) {
      if (rest.length > 0) digest.add(rest.toString('utf8'));
      done();
    },
  });
}

/** A dump table's rows into the target's COPY, sent in chunks of about 64 KiB (a write per row is slow). */
function linesInto(sink: Writable, digest: RowDigest): RowSink {
  let chunk: string[] = [];
  let size = 0;
  const flush = async () => {
    if (sink.errored) throw sink.errored;
    if (chunk.length === 0) return;
    const ok = sink.write(chunk.join(''));
    chunk = [];
    size = 0;
    if (!ok) await once(sink, 'drain');
  };
  return {
    async row(line) {
      digest.add(line);
      chunk.push(line, '\n');
      size += line.length + 1;
      if (size >= CHUNK_CHARS) await flush();
    },
    async end() {
      await flush();
      sink.end();
      await finished(sink);
    },
  };
}

const CHUNK_CHARS = 64 * 1024;

/** The target's table read back, counted and hashed as the source's rows were. */
async function digestOf(
  client: ClientBase,
  table: string,
  columns: readonly string[],
  types: readonly string[],
): Promise<RowDigest> {
  const digest = new RowDigest(utcFieldsOf(types));
  const rows = client.query(
    copyTo(`COPY (SELECT ${list(columns)} FROM ${escapeIdentifier(table)}) TO STDOUT`),
  );
  await pipeline(rows, digestingLines(digest), new Writable({ write: (_chunk, _encoding, done) => done() }));
  return digest;
}

interface ForeignKey {
  readonly table: string;
  readonly name: string;
  readonly definition: string;
}

async function dropForeignKeys(client: ClientBase): Promise<ForeignKey[]> {
  const { rows } = await client.query<ForeignKey>(
    `SELECT t.relname::text AS table, c.conname::text AS name, pg_get_constraintdef(c.oid) AS definition
       FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
      WHERE c.contype = 'f'
      ORDER BY t.relname, c.conname`,
  );
  for (const fk of rows)
    await client.query(
      `ALTER TABLE ${escapeIdentifier(fk.table)} DROP CONSTRAINT ${escapeIdentifier(fk.name)}`,
    );
  return rows;
}

async function addForeignKeys(client: ClientBase, foreignKeys: readonly ForeignKey[]): Promise<void> {
  for (const fk of foreignKeys) {
    try {
      await client.query(
        `ALTER TABLE ${escapeIdentifier(fk.table)} ADD CONSTRAINT ${escapeIdentifier(fk.name)} ${fk.definition}`,
      );
    } catch (error) {
      if ((error as { code?: string }).code !== '23503') throw error;
      throw new OnboardingError(
        PermanentErrors.ImportMismatch,
        `the source's rows break the reference ${fk.name} of table ${fk.table} (${fk.definition}): a row points at one that does not exist`,
      );
    }
  }
}

/**
 * A load's failure, named: rows the schema refuses (a value of the wrong type, a row of the wrong width, a
 * broken constraint: PostgreSQL classes 22 and 23) are ImportMismatch, PostgreSQL's message as detail with
 * its quoted values left out (a customer's data). Anything else (a lost connection) stays as it is.
 */
function loadError(table: string, error: unknown): unknown {
  const { code, message } = error as { code?: unknown; message?: string };
  if (error instanceof OnboardingError || typeof code !== 'string' || !/^2[23]/.test(code)) return error;
  const said = (message ?? '').replace(/"[^"]*"/g, '"..."').slice(0, 120);
  return new OnboardingError(
    PermanentErrors.ImportMismatch,
    `the rows of table ${table || '(at the end)'} do not fit the schema (${code}: ${said})`,
  );
}

function list(columns: readonly string[]): string {
  return columns.map((c) => escapeIdentifier(c)).join(', ');
}
