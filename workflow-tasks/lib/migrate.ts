import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ClientBase } from 'pg';
import { OnboardingError, PermanentErrors } from '../../common/errors';

/** `stepfunctions` is the local platform's own store (executions and their histories). */
export type MigrationSet = 'tenant' | 'platform' | 'stepfunctions';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;
// Arbitrary constant keys for pg_advisory_lock, one per migration set.
const LOCK_KEYS: Record<MigrationSet, number> = {
  tenant: 72_000_001,
  platform: 72_000_002,
  stepfunctions: 72_000_003,
};

/**
 * Finds `migrations/<set>` from this module upwards: in the repository that is the top-level folder, in a
 * Lambda bundle it is the copy placed next to the bundled code. One lookup, both places.
 */
export function migrationsDir(set: MigrationSet, from: string = __dirname): string {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'migrations', set);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`migrations/${set} not found above ${from}`);
    dir = parent;
  }
}

/** Reads the versioned files of a set, in order; versions must be unique and contiguous from 1. */
export function loadMigrations(dir: string): Migration[] {
  return parseMigrations(
    readdirSync(dir)
      .filter((file) => file.endsWith('.sql'))
      .map((file) => ({ file, sql: readFileSync(join(dir, file), 'utf8') })),
    dir,
  );
}

/**
 * Migrations from their file names and SQL (a folder, or a tenant API version's `migrations/tenant/`), in
 * order; versions must be unique and contiguous from 1. `from` names the source in errors.
 */
export function parseMigrations(files: { file: string; sql: string }[], from: string): Migration[] {
  const migrations = files
    .map(({ file, sql }) => {
      const match = FILE_PATTERN.exec(file);
      if (!match?.[1] || !match[2]) throw new Error(`Migration file name ${file} is not NNNN_name.sql`);
      return {
        version: Number(match[1]),
        name: match[2],
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, index) => {
    if (m.version !== index + 1)
      throw new Error(`Migrations in ${from} must be numbered 0001, 0002, ...: found ${m.version}`);
  });
  return migrations;
}

export interface MigrationResult {
  /** Highest applied version after the run. */
  readonly version: number;
  /** Every migration now applied, as `NNNN_name`, in order. */
  readonly migrations: string[];
  /** Those applied by this run (empty when everything was already applied). */
  readonly applied: string[];
}

/**
 * Applies the set's pending migrations, each in its own transaction, under an advisory lock so concurrent
 * runners wait for each other. Applied files are checksummed: an edited one stops the run. `migrations`
 * default to the set's folder (a tenant release passes those of the version it rolls out).
 */
export async function migrate(
  client: ClientBase,
  set: MigrationSet,
  migrations: readonly Migration[] = loadMigrations(migrationsDir(set)),
): Promise<MigrationResult> {
  await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEYS[set]]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations',
    );
    const applied = new Map(rows.map((r) => [r.version, r.checksum]));
    const appliedNow: string[] = [];
    for (const m of migrations) {
      const checksum = applied.get(m.version);
      if (checksum !== undefined) {
        if (checksum !== m.checksum) {
          throw new OnboardingError(
            PermanentErrors.MigrationChecksumMismatch,
            `${set} migration ${m.version} (${m.name}) changed after it was applied`,
          );
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          m.checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      appliedNow.push(label(m));
    }
    return { version: migrations.length, migrations: migrations.map(label), applied: appliedNow };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEYS[set]]);
  }
}

/** The last migration applied to the database (0 when none): newer than a version's own after a rollback. */
export async function appliedVersion(client: ClientBase): Promise<number> {
  const { rows } = await client.query<{ version: number | null }>(
    'SELECT max(version) AS version FROM schema_migrations',
  );
  return rows[0]?.version ?? 0;
}

function label(m: Migration): string {
  return `${String(m.version).padStart(4, '0')}_${m.name}`;
}
