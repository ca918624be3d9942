import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Transform, type Readable, type Writable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { escapeIdentifier, type ClientBase } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { appliedVersion } from '../lib/migrate';

/**
 * One export of a tenant's database: one gzip object holding, line by line,
 *
 *     TENANT-EXPORT 1
 *     TABLE {"name":"orders","columns":["id",...]}
 *     <the table's rows as PostgreSQL COPY text, ordered by its primary key>
 *     \.
 *     ... (every table of schema public, a table after those it references: the order to load them in)
 *     MANIFEST {"format":"tenant-export/1","tenantId":...,"tables":[{"name","columns","rows","sha256"}]}
 *
 * COPY text escapes newlines and backslashes inside values, so a row is one line and `\.` only ends a table.
 * The manifest comes last because its counts and checksums are known only once the rows have streamed by;
 * memory stays bounded whatever the table sizes (a few upload parts, one line).
 */
export const EXPORT_FORMAT = 'tenant-export/1';
const HEADER = 'TENANT-EXPORT 1';
const END_OF_TABLE = '\\.';
/** S3 multipart: parts of 8 MiB, two in flight. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;

export interface TableSummary {
  readonly name: string;
  readonly columns: string[];
  readonly rows: number;
  /** SHA-256 (hex) of the table's COPY text, every row with its newline. */
  readonly sha256: string;
}

/** The tenant an export is of, as the registry knew it: enough to onboard it again from the export. */
export interface ExportedTenant {
  readonly tenantId: string;
  readonly tier: string;
  readonly companyName?: string;
  readonly adminEmail?: string;
  readonly domain?: string | null;
}

export interface ExportManifest extends ExportedTenant {
  readonly format: typeof EXPORT_FORMAT;
  readonly schemaVersion: number;
  readonly createdAt: string;
  readonly tables: TableSummary[];
}

/** Where an export is read from: one object, and with `VersionId` exactly that version of it. */
export interface ExportSource {
  readonly s3: S3Client;
  readonly Bucket: string;
  readonly Key: string;
  readonly VersionId?: string;
  /** Its decoded size as written: reading fails with ExportTooLarge past it. */
  readonly bytes?: number;
}

/** What "Export database" wrote: the manifest, and the object version with the SHA-256 of its bytes. */
export interface WrittenExport {
  readonly manifest: ExportManifest;
  readonly versionId: string;
  readonly sha256: string;
  /** Its size decoded: the most a reader decodes of it (a gzip bomb stops there). */
  readonly bytes: number;
}

/**
 * The most a reader decodes of an export whose decoded size is not known: deflate cannot expand more
 * than about 1032 to 1, so this bounds what the object can hold, never less.
 */
const MOST_DEFLATE_RATIO = 1032;

interface Table {
  readonly name: string;
  readonly columns: string[];
  /** The primary key's columns, else every column: the order rows are copied in, so checksums repeat. */
  readonly orderBy: string[];
}

/**
 * Streams the tenant's database into `Key` of the archive bucket, inside one REPEATABLE READ, READ ONLY
 * transaction (every table from the same snapshot). Returns the manifest it wrote, the object version the
 * upload made and the SHA-256 of the bytes sent.
 */
export async function writeExport(
  client: ClientBase,
  tenant: ExportedTenant,
  target: Omit<ExportSource, 'VersionId'>,
): Promise<WrittenExport> {
  const gzip = createGzip();
  const objectHash = createHash('sha256');
  const hashed = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      objectHash.update(chunk);
      done(null, chunk);
    },
  });
  gzip.on('error', (error) => hashed.destroy(error));
  gzip.pipe(hashed);
  const upload = new Upload({
    client: target.s3,
    params: { Bucket: target.Bucket, Key: target.Key, Body: hashed, ContentType: 'application/gzip' },
    partSize: PART_SIZE,
    queueSize: QUEUE_SIZE,
  });
  const uploaded = upload.done();
  // An upload that fails stops the writing below instead of leaving it blocked on a full buffer.
  const failed = uploaded.then(
    () => undefined,
    (error: unknown) => {
      gzip.destroy(error as Error);
    },
  );
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await writeLine(gzip, HEADER);
    const tables: TableSummary[] = [];
    for (const table of await tablesOf(client)) {
      await writeLine(gzip, `TABLE ${JSON.stringify({ name: table.name, columns: table.columns })}`);
      const copied = await copyTable(client, table, gzip);
      await writeLine(gzip, END_OF_TABLE);
      tables.push({ name: table.name, columns: table.columns, ...copied });
    }
    const manifest: ExportManifest = {
      format: EXPORT_FORMAT,
      ...tenant,
      schemaVersion: await appliedVersion(client),
      createdAt: new Date().toISOString(),
      tables,
    };
    await writeLine(gzip, `MANIFEST ${JSON.stringify(manifest)}`);
    gzip.end();
    const { VersionId } = await uploaded;
    if (!VersionId)
      throw new OnboardingError(
        PermanentErrors.StepFailed,
        `the archive bucket ${target.Bucket} made no version of ${target.Key}: it must be versioned`,
      );
    return { manifest, versionId: VersionId, sha256: objectHash.digest('hex'), bytes: gzip.bytesWritten };
  } catch (error) {
    gzip.destroy();
    await upload.abort().catch(() => undefined);
    throw error;
  } finally {
    await failed;
    await client.query('COMMIT').catch(() => undefined);
  }
}

/**
 * Reads an export back: its manifest, and what the object really holds, counted and hashed again table by
 * table while it streams, and the SHA-256 of its bytes. `onTable` may return where a table's rows go (a
 * restore loads them); memory stays at one line.
 */
export async function readExport(
  source: ExportSource,
  onTable?: (table: { name: string; columns: string[] }) => Promise<Writable | undefined>,
): Promise<{ manifest: ExportManifest; found: TableSummary[]; sha256: string }> {
  const object = await source.s3.send(
    new GetObjectCommand({ Bucket: source.Bucket, Key: source.Key, VersionId: source.VersionId }),
  );
  const gunzip = createGunzip();
  const body = object.Body as Readable;
  const objectHash = createHash('sha256');
  body.on('data', (chunk: Buffer) => objectHash.update(chunk));
  // A gzip bomb stops here, before a line of it is buffered: at the size written, else at what the
  // object's size can hold at most.
  const most = source.bytes ?? (object.ContentLength ?? 0) * MOST_DEFLATE_RATIO;
  let decoded = 0;
  const bounded = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      decoded += chunk.length;
      if (decoded <= most) return done(null, chunk);
      done(
        new OnboardingError(
          PermanentErrors.ExportTooLarge,
          `export ${source.Key} is too large: it decodes to more than the ${most} bytes it was written with`,
        ),
      );
    },
  });
  // Errors of any stream end the reading below with a named error; none is left unhandled.
  body.on('error', (error) => gunzip.destroy(error));
  gunzip.on('error', (error) => bounded.destroy(error));
  // readline passes its input's errors to the loop below; once the loop has ended early (a bad line), an
  // error the decoder finds later (the rest of the object is truncated) must still have a listener.
  bounded.on('error', () => undefined);
  const lines = createInterface({ input: body.pipe(gunzip).pipe(bounded), crlfDelay: Infinity });
  const found: TableSummary[] = [];
  let manifest: ExportManifest | undefined;
  let current:
    { name: string; columns: string[]; rows: number; hash: ReturnType<typeof createHash> } | undefined;
  let sink: Writable | undefined;
  let sinkError: Error | undefined;
  let first = true;
  try {
    for await (const line of lines) {
      if (sinkError) throw sinkError;
      if (first) {
        if (line !== HEADER) throw invalid(source.Key, 'it does not start with the export header');
        first = false;
      } else if (current) {
        if (line === END_OF_TABLE) {
          found.push({
            name: current.name,
            columns: current.columns,
            rows: current.rows,
            sha256: current.hash.digest('hex'),
          });
          if (sink) {
            sink.end();
            await once(sink, 'finish');
          }
          current = undefined;
          sink = undefined;
        } else {
          const row = `${line}\n`;
          current.hash.update(row);
          current.rows += 1;
          if (sink && !sink.write(row)) await once(sink, 'drain');
        }
      } else if (line.startsWith('TABLE ')) {
        const { name, columns } = parseJson<{ name: string; columns: string[] }>(source.Key, line.slice(6));
        if (typeof name !== 'string' || !isStringList(columns))
          throw corrupt(
            source.Key,
            `a TABLE line is not {"name","columns"} (${JSON.stringify(line.slice(0, 60))})`,
          );
        current = { name, columns, rows: 0, hash: createHash('sha256') };
        sink = await onTable?.({ name, columns });
        sink?.on('error', (error) => (sinkError ??= error));
      } else if (line.startsWith('MANIFEST ')) {
        if (manifest) throw corrupt(source.Key, 'it has two manifests');
        manifest = parseJson<ExportManifest>(source.Key, line.slice(9));
      } else if (line !== '') {
        throw invalid(source.Key, `unexpected line ${JSON.stringify(line.slice(0, 40))}`);
      }
    }
  } catch (error) {
    // A COPY left open would hold the connection; destroying it sends CopyFail, and its error is expected.
    sink?.on('error', () => undefined).destroy();
    body.destroy();
    lines.close();
    gunzip.destroy();
    throw decoderError(source.Key, error);
  }
  if (sinkError) throw sinkError;
  if (first) throw truncated(source.Key, 'it is empty');
  if (current) throw truncated(source.Key, `table ${current.name} is cut off`);
  if (!manifest) throw truncated(source.Key, 'it ends before its manifest');
  if (manifest?.format !== EXPORT_FORMAT)
    throw invalid(source.Key, `its manifest's format is ${JSON.stringify(manifest?.format)}`);
  if (
    !Number.isInteger(manifest.schemaVersion) ||
    !Array.isArray(manifest.tables) ||
    !manifest.tables.every(isSummary)
  )
    throw corrupt(
      source.Key,
      'its manifest has no schema version or no table list of names, columns, rows and checksums',
    );
  return { manifest, found, sha256: objectHash.digest('hex') };
}

/**
 * Proves an export can replace the database: the object version read back has the bytes that were written
 * (`sha256`), holds exactly what its manifest says, and the manifest matches the database now, table by
 * table (rows and checksum). Any difference throws ExportMismatch naming it; nothing may be deleted then.
 */
export async function verifyExport(
  client: ClientBase,
  source: ExportSource & { sha256: string },
): Promise<ExportManifest> {
  const { manifest, found, sha256 } = await readExport(source);
  if (sha256 !== source.sha256)
    throw new OnboardingError(
      PermanentErrors.ExportMismatch,
      `export ${source.Key}: the object read back (sha256 ${sha256.slice(0, 12)}) is not the one written (${source.sha256.slice(0, 12)})`,
    );
  compare(source.Key, 'the object', found, manifest.tables);
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const now: TableSummary[] = [];
    for (const table of await tablesOf(client))
      now.push({ name: table.name, columns: table.columns, ...(await copyTable(client, table, undefined)) });
    compare(source.Key, 'the database', now, manifest.tables);
  } finally {
    await client.query('COMMIT').catch(() => undefined);
  }
  return manifest;
}

/**
 * Loads an export into a database whose schema is at the export's schema version (the caller migrated it
 * there) and holds no rows yet: every table, parents before children, in one transaction (the export's
 * `schema_migrations` rows replace those the migrations wrote); then each identity sequence is set past the highest id loaded, so
 * new rows get new ids. The rows are counted and hashed as they stream and must match the manifest.
 */
export async function loadExport(client: ClientBase, source: ExportSource): Promise<ExportManifest> {
  await client.query('BEGIN');
  let loading = '';
  try {
    const migratedTo = await appliedVersion(client);
    const schema = new Map((await tablesOf(client)).map((t) => [t.name, new Set(t.columns)]));
    const { manifest, found } = await readExport(source, async ({ name, columns }) => {
      const known = schema.get(name);
      const outside = columns.filter((c) => !known?.has(c));
      if (!known || outside.length > 0)
        throw new OnboardingError(
          PermanentErrors.ExportMismatch,
          `export ${source.Key}: ${known ? `column(s) ${outside.join(', ')} of table ${name}` : `table ${name}`} not in the schema at version ${migratedTo}`.slice(
            0,
            300,
          ),
        );
      loading = name;
      // The migrations wrote their own rows; the export's keep when they were first applied.
      if (name === 'schema_migrations') await client.query('DELETE FROM schema_migrations');
      const list = columns.map((c) => escapeIdentifier(c)).join(', ');
      return client.query(copyFrom(`COPY ${escapeIdentifier(name)} (${list}) FROM STDIN`));
    });
    compare(source.Key, 'the object', found, manifest.tables);
    if (migratedTo !== manifest.schemaVersion)
      throw new OnboardingError(
        PermanentErrors.ExportMismatch,
        `export ${source.Key} is at schema version ${manifest.schemaVersion}, the database at ${migratedTo}`,
      );
    await setIdentitiesPastMax(client);
    await client.query('COMMIT');
    return manifest;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw loadError(source.Key, loading, error);
  }
}

/** Sets each identity sequence of schema public past the highest id its table holds: new rows get new ids. */
export async function setIdentitiesPastMax(client: ClientBase): Promise<void> {
  await client.query(`
    DO $$
    DECLARE c record;
    BEGIN
      FOR c IN SELECT table_name, column_name FROM information_schema.columns
                WHERE table_schema = 'public' AND is_identity = 'YES' LOOP
        EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), COALESCE((SELECT max(%I) FROM %I), 0) + 1, false)',
                       c.table_name, c.column_name, c.column_name, c.table_name);
      END LOOP;
    END $$`);
}

/**
 * A load's failure, named: rows the schema refuses (a value of the wrong type, a row of the wrong width, a
 * broken constraint: PostgreSQL classes 22 and 23) are ExportCorrupt, with PostgreSQL's message as detail,
 * its quoted values left out (never its detail, which quotes the row). Anything else (a lost connection) stays as it is, retried.
 */
function loadError(key: string, table: string, error: unknown): unknown {
  const { code, message } = error as { code?: unknown; message?: string };
  if (error instanceof OnboardingError || typeof code !== 'string' || !/^2[23]/.test(code)) return error;
  // PostgreSQL quotes the value it refused ("invalid input syntax for type integer: ..."): a tenant's data.
  const said = (message ?? '').replace(/"[^"]*"/g, '"..."').slice(0, 120);
  return corrupt(key, `the rows of table ${table} do not fit its schema (${code}: ${said})`);
}

async function tablesOf(client: ClientBase): Promise<Table[]> {
  const { rows } = await client.query<{ name: string; columns: string[]; key: string[] | null }>(
    `SELECT c.relname::text AS name,
            array_agg(a.attname::text ORDER BY a.attnum) AS columns,
            (SELECT array_agg(k.attname::text ORDER BY array_position(i.indkey::int2[], k.attnum))
               FROM pg_index i JOIN pg_attribute k ON k.attrelid = i.indrelid AND k.attnum = ANY (i.indkey)
              WHERE i.indrelid = c.oid AND i.indisprimary) AS key
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relkind = 'r'
      GROUP BY c.oid, c.relname
      ORDER BY c.relname COLLATE "C"`,
  );
  const tables = rows.map((r) => ({ name: r.name, columns: r.columns, orderBy: r.key ?? r.columns }));
  const references = await client.query<{ child: string; parent: string }>(
    `SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
       FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace AND n.nspname = 'public'
      WHERE c.contype = 'f' AND c.conrelid <> c.confrelid`,
  );
  return parentsFirst(tables, references.rows);
}

/** Tables ordered so that a table comes after those it references (by name among equals): the load order. */
function parentsFirst(tables: Table[], references: { child: string; parent: string }[]): Table[] {
  const ordered: Table[] = [];
  const left = [...tables];
  while (left.length > 0) {
    const ready =
      left.find(
        (t) => !references.some((r) => r.child === t.name && left.some((l) => l.name === r.parent)),
      ) ?? left[0]!; // a reference cycle: name order
    ordered.push(ready);
    left.splice(left.indexOf(ready), 1);
  }
  return ordered;
}

/** COPY of one table in a fixed order; its rows go to `out` when given. Returns its count and checksum. */
async function copyTable(
  client: ClientBase,
  table: Table,
  out: Writable | undefined,
): Promise<{ rows: number; sha256: string }> {
  const list = (names: string[]) => names.map((n) => escapeIdentifier(n)).join(', ');
  const stream = client.query(
    copyTo(
      `COPY (SELECT ${list(table.columns)} FROM ${escapeIdentifier(table.name)} ORDER BY ${list(table.orderBy)}) TO STDOUT`,
    ),
  );
  const hash = createHash('sha256');
  let rows = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows += 1;
    if (out && !out.write(chunk)) await once(out, 'drain');
  }
  return { rows, sha256: hash.digest('hex') };
}

function compare(key: string, what: string, actual: TableSummary[], expected: TableSummary[]): void {
  const names = [...new Set([...actual, ...expected].map((t) => t.name))].sort();
  for (const name of names) {
    const a = actual.find((t) => t.name === name);
    const e = expected.find((t) => t.name === name);
    if (!a || !e || a.rows !== e.rows || a.sha256 !== e.sha256) {
      const detail = !a
        ? 'is missing'
        : !e
          ? 'is not in the manifest'
          : `has ${a.rows} rows (checksum ${a.sha256.slice(0, 12)}), the manifest ${e.rows} (${e.sha256.slice(0, 12)})`;
      throw new OnboardingError(
        PermanentErrors.ExportMismatch,
        `export ${key}: in ${what}, table ${name} ${detail}`,
      );
    }
  }
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isSummary(value: unknown): value is TableSummary {
  const t = value as TableSummary | null;
  return (
    typeof t?.name === 'string' &&
    isStringList(t.columns) &&
    Number.isInteger(t.rows) &&
    typeof t.sha256 === 'string'
  );
}

function corrupt(key: string, why: string): OnboardingError {
  return new OnboardingError(PermanentErrors.ExportCorrupt, `export ${key} is corrupt: ${why}`);
}

function truncated(key: string, why: string): OnboardingError {
  return new OnboardingError(PermanentErrors.ExportTruncated, `export ${key} is truncated: ${why}`);
}

/** What reading an export failed of, named: the decoder's and the parser's own messages only as detail. */
function decoderError(key: string, error: unknown): Error {
  if (error instanceof OnboardingError) return error;
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(e.message ?? ''))
    return truncated(key, `its gzip stream ends early (${e.message})`);
  if (typeof e.code === 'string' && e.code.startsWith('Z_'))
    return corrupt(key, `it is not a valid gzip stream (${e.message})`);
  return e;
}

function parseJson<T>(key: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw corrupt(key, `a header line is not JSON (${JSON.stringify(text.slice(0, 40))})`);
  }
}

function invalid(key: string, why: string): OnboardingError {
  return new OnboardingError(PermanentErrors.ExportMismatch, `export ${key} is not a tenant export: ${why}`);
}

async function writeLine(out: Writable, line: string): Promise<void> {
  if (!out.write(`${line}\n`)) await once(out, 'drain');
}
