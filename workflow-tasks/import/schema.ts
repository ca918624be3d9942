import { escapeIdentifier, type ClientBase } from 'pg';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import type { Migration } from '../lib/migrate';

/**
 * Which version of the shop schema a customer's database is at. A database made the old way (`psql -f
 * database-schema.sql`) has no migrations table: its version is found by comparing its tables and columns
 * (with their types) with what each migration produces.
 */

/** Table -> column -> type (`format_type`), in column order. */
export type SchemaShape = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** The type of a column a dump names without its type (its COPY lists only names): any type matches. */
export const UNKNOWN_TYPE = '';

/** The platform's own bookkeeping, never part of a shape. */
export const MIGRATIONS_TABLE = 'schema_migrations';
const PROBE_SCHEMA = 'tenant_import_probe';

/** The tables and columns of `schema` as `client` sees them (in its snapshot, if it has one). */
export async function shapeOf(client: ClientBase, schema = 'public'): Promise<SchemaShape> {
  const { rows } = await client.query<{ table: string; column: string; type: string }>(
    `SELECT c.relname::text AS table, a.attname::text AS column, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = $1
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relkind IN ('r', 'p') AND c.relname <> $2
      ORDER BY c.relname COLLATE "C", a.attnum`,
    [schema, MIGRATIONS_TABLE],
  );
  const shape = new Map<string, Map<string, string>>();
  for (const { table, column, type } of rows) {
    const columns = shape.get(table) ?? new Map<string, string>();
    columns.set(column, type);
    shape.set(table, columns);
  }
  return shape;
}

/**
 * The shape after each migration version: the migrations run one by one in a schema of their own inside a
 * transaction that is rolled back, so nothing is left behind (PostgreSQL's DDL is transactional).
 */
export async function shapesByVersion(
  client: ClientBase,
  migrations: readonly Migration[],
): Promise<Map<number, SchemaShape>> {
  const shapes = new Map<number, SchemaShape>();
  await client.query('BEGIN');
  try {
    await client.query(`CREATE SCHEMA ${escapeIdentifier(PROBE_SCHEMA)}`);
    await client.query(`SET LOCAL search_path = ${escapeIdentifier(PROBE_SCHEMA)}`);
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      await client.query(migration.sql);
      shapes.set(migration.version, await shapeOf(client, PROBE_SCHEMA));
    }
  } finally {
    await client.query('ROLLBACK');
  }
  return shapes;
}

/** The version whose migrations made a database of exactly this shape, or what keeps it from being one. */
export type Detected =
  | { readonly version: number }
  | { readonly version?: undefined; readonly closest: number; readonly differences: string[] };

/**
 * The lowest version whose shape is the source's (a later migration that changed no column, an index or a
 * data fix, then runs on the imported rows as it ran on every tenant's). `recorded`, the version a source
 * made by this platform's migrations says it has, wins when its shape matches.
 */
export function detectVersion(
  source: SchemaShape,
  shapes: ReadonlyMap<number, SchemaShape>,
  recorded?: number,
): Detected {
  const recordedShape = recorded === undefined ? undefined : shapes.get(recorded);
  if (recorded !== undefined && recordedShape && differences(source, recordedShape).length === 0)
    return { version: recorded };
  let best: { version: number; differences: string[] } | undefined;
  for (const version of [...shapes.keys()].sort((a, b) => a - b)) {
    const found = differences(source, shapes.get(version)!);
    if (found.length === 0) return { version };
    if (!best || found.length < best.differences.length) best = { version, differences: found };
  }
  return { closest: best?.version ?? 0, differences: best?.differences ?? ['there are no migrations'] };
}

/** What the source has that the version does not, and the reverse, one line each. */
function differences(source: SchemaShape, version: SchemaShape): string[] {
  const found: string[] = [];
  for (const [table, columns] of version) {
    const have = source.get(table);
    if (!have) {
      found.push(`missing table ${table}`);
      continue;
    }
    for (const [column, type] of columns) {
      const had = have.get(column);
      if (had === undefined) found.push(`missing column ${table}.${column}`);
      else if (had !== UNKNOWN_TYPE && had !== type)
        found.push(`column ${table}.${column} is ${had}, not ${type}`);
    }
    for (const [column, type] of have)
      if (!columns.has(column)) found.push(`extra column ${table}.${column} (${type})`);
  }
  for (const table of source.keys()) if (!version.has(table)) found.push(`extra table ${table}`);
  return found;
}

/** A source that matches no version is refused before anything is created, naming the differences. */
export function requireVersion(detected: Detected, what: string): number {
  if (detected.version !== undefined) return detected.version;
  const listed = detected.differences.slice(0, 8).join('; ');
  const more = detected.differences.length > 8 ? `; and ${detected.differences.length - 8} more` : '';
  throw new OnboardingError(
    PermanentErrors.ImportSchemaMismatch,
    `${what} matches no version of the shop schema; closest is version ${detected.closest}, which differs: ${listed}${more}`,
  );
}

/** A shape as plain JSON (a step's result): table -> column names in order. */
export function columnsOf(shape: SchemaShape): Record<string, string[]> {
  return Object.fromEntries([...shape].map(([table, columns]) => [table, [...columns.keys()]]));
}
