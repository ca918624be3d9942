import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { queryTenants, tenantView } from '../../workflow-tasks/records/registry';
import { prepareImport, type ImportSource } from '../import';
import { json, out, targetOptions, type CommandContext, type CommonOptions } from '../options';
import { readRegistry } from '../registry';
import { controlPlaneOf } from '../target';
import { onboardThrough, readInput, target } from '../workflow-run';

type ImportOptions = CommonOptions & {
  fromUrl?: string;
  fromDump?: string;
  all?: string;
  concurrency: string;
  databaseUrl?: string;
};

/** `tenantctl import FILE --from-url URL | --from-dump FILE`, and `tenantctl import --all customers.csv`. */
export function importCommand(program: Command, ctx: CommandContext): void {
  targetOptions(
    program
      .command('import')
      .description(
        'Onboard an existing customer with its data, from its database or its pg_dump: verified table by table before it goes live; the source is only read',
      )
      .argument('[file]', 'onboarding input: tenantId, companyName, adminEmail, tier, domain')
      .option(
        '--from-url <url>',
        'its database: postgres://user[:password]@host:port/database (read-only access is enough; without the password, PGPASSWORD gives it)',
      )
      .option('--from-dump <file>', 'a plain-format pg_dump of its database')
      .option(
        '--all <csv>',
        'import every customer of a CSV (tenantId,companyName,adminEmail,domain,tier,source), skipping those already live',
      )
      .option('--concurrency <n>', 'with --all: imports at once', '4')
      .option('--database-url <url>', "with --all: the platform database (default: the local platform's)"),
  ).action(async (file: string | undefined, options: ImportOptions) => {
    if (options.all) {
      if (file || options.fromUrl || options.fromDump)
        throw new Error('--all reads each source from the CSV: give no FILE, --from-url or --from-dump');
      return ctx.setExitCode(await importAll(options.all, options));
    }
    if (!file) throw new Error('give the onboarding input FILE (or --all customers.csv)');
    if (Boolean(options.fromUrl) === Boolean(options.fromDump))
      throw new Error('give exactly one of --from-url and --from-dump');
    const source: ImportSource = options.fromUrl
      ? { url: options.fromUrl }
      : { dump: options.fromDump ?? '' };
    ctx.setExitCode((await importOne(await readInput(file), source, options)).exitCode);
  });
}

/** One import, followed to its end; the source's credentials are deleted when it has ended, either way. */
async function importOne(
  input: unknown,
  source: ImportSource,
  options: CommonOptions & { silent?: boolean },
): Promise<Awaited<ReturnType<typeof onboardThrough>>> {
  const where = await target(options);
  const prepared = await prepareImport(input, source, {
    ...options,
    stateDir: resolve(options.stateDir),
  }).catch((error: unknown) => {
    throw new NotStarted((error as Error).message, { cause: error });
  });
  let started = false;
  try {
    const ended = await onboardThrough(where, prepared.input, {
      ...options,
      onStarted: () => (started = true),
    });
    await prepared.forget();
    return ended;
  } catch (error) {
    if (!started) {
      await prepared.forget();
      throw new NotStarted((error as Error).message, { cause: error });
    }
    // Started but no longer followed (a throttled history, an expired session): the execution still needs
    // them, and deletes them itself when it ends. Not started: nobody else would.
    throw error;
  }
}

/** An import that failed before its execution started: nothing was made. */
class NotStarted extends Error {}

interface Outcome {
  readonly tenantId: string;
  readonly outcome: 'imported' | 'skipped' | 'refused' | 'failed';
  readonly detail: string;
  readonly executionArn?: string;
}

/** Errors that mean "this source or input is not importable": nothing was made. */
const REFUSALS = new Set([
  'InvalidInput',
  'TenantAlreadyRegistered',
  'ImportSourceUnreachable',
  'ImportSourceRefused',
  'ImportSchemaMismatch',
  'ImportDumpRefused',
  'ImportDumpTruncated',
]);

/**
 * `--all customers.csv`: every line imported, `--concurrency` at once; a tenant already live or suspended is
 * skipped (a second run after a partial one imports the rest). A summary at the end; exit 0 only when
 * nothing was refused or failed.
 */
async function importAll(csv: string, options: ImportOptions): Promise<number> {
  const rows = parseCustomers(await readFile(csv, 'utf8'), csv);
  const concurrency = Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 20)
    throw new Error('--concurrency: must be a whole number from 1 to 20');
  const live = await liveTenants(options);
  const outcomes: Outcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const row = rows[next++]!;
      outcomes.push(await importRow(row, dirname(resolve(csv)), live, options));
      if (!options.json) {
        const o = outcomes[outcomes.length - 1]!;
        out(`${o.tenantId}: ${o.outcome}${o.detail ? ` (${o.detail})` : ''}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
  const count = (outcome: Outcome['outcome']) => outcomes.filter((o) => o.outcome === outcome).length;
  if (options.json)
    json({
      outcomes,
      summary: Object.fromEntries(
        ['imported', 'skipped', 'refused', 'failed'].map((o) => [o, count(o as Outcome['outcome'])]),
      ),
    });
  else {
    out('');
    out(
      `${count('imported')} imported, ${count('skipped')} skipped (already live), ${count('refused')} refused, ${count('failed')} failed`,
    );
    for (const o of outcomes.filter((x) => x.outcome === 'refused' || x.outcome === 'failed'))
      out(`  ${o.outcome === 'refused' ? 'refused' : 'failed '}  ${o.tenantId}: ${o.detail}`);
  }
  return count('refused') + count('failed') === 0 ? 0 : 1;
}

async function importRow(
  row: CustomerRow,
  base: string,
  live: ReadonlySet<string>,
  options: ImportOptions,
): Promise<Outcome> {
  const { tenantId, source, ...fields } = row;
  if (live.has(tenantId)) return { tenantId, outcome: 'skipped', detail: '' };
  const input = Object.fromEntries(
    Object.entries({ tenantId, ...fields }).filter(([, value]) => value !== ''),
  );
  // Something URL-like that is not a postgres:// URL is refused without repeating it (it may hold a password).
  if (/^[a-z][a-z0-9+.-]*:/i.test(source) && !/^postgres(ql)?:\/\//i.test(source))
    return {
      tenantId,
      outcome: 'refused',
      detail: 'source: must be a postgres://user:password@host:port/database URL or a dump file',
    };
  const from: ImportSource = /^postgres(ql)?:\/\//i.test(source)
    ? { url: source }
    : { dump: resolve(base, source) };
  try {
    const { exitCode, executionArn, ended } = await importOne(input, from, { ...options, silent: true });
    if (exitCode === 0) return { tenantId, outcome: 'imported', detail: '', executionArn };
    const error = ended?.error ?? 'Failed';
    return {
      tenantId,
      outcome: REFUSALS.has(error) ? 'refused' : 'failed',
      detail: `${ended?.failedStep ? `${ended.failedStep}: ` : ''}${error}: ${ended?.message ?? ''}`,
      executionArn,
    };
  } catch (error) {
    // Refused before anything started (the input, the URL, the file): nothing was made. Otherwise its
    // execution was lost track of: it may still run.
    const detail = (error as Error).message;
    return error instanceof NotStarted
      ? { tenantId, outcome: 'refused', detail }
      : { tenantId, outcome: 'failed', detail: `followed no further: ${detail}` };
  }
}

/** Tenants live or suspended: an import of them again is skipped. */
async function liveTenants(options: ImportOptions): Promise<Set<string>> {
  const views = options.aws
    ? await (await controlPlaneOf({ ...options, stateDir: resolve(options.stateDir) })).tenants()
    : (await readRegistry(options, queryTenants)).map(tenantView);
  return new Set(
    views.filter((t) => t.status === 'ACTIVE' || t.status === 'SUSPENDED').map((t) => t.tenantId),
  );
}

interface CustomerRow {
  readonly tenantId: string;
  readonly companyName: string;
  readonly adminEmail: string;
  readonly domain: string;
  readonly tier: string;
  readonly source: string;
}

const COLUMNS = ['tenantId', 'companyName', 'adminEmail', 'domain', 'tier', 'source'] as const;

/** A CSV with a header naming the columns (any order; RFC 4180 quoting); each error names the line. */
export function parseCustomers(text: string, file: string): CustomerRow[] {
  const records = csvRecords(text);
  const header = records.shift()?.map((h) => h.trim());
  const missing = COLUMNS.filter((c) => !header?.includes(c));
  if (!header || missing.length > 0)
    throw new Error(
      `${file}: the first line must name the columns ${COLUMNS.join(',')} (missing ${missing.join(', ')})`,
    );
  const seen = new Set<string>();
  return records
    .map((fields, i) => ({ fields, line: i + 2 }))
    .filter(({ fields }) => fields.some((f) => f.trim() !== ''))
    .map(({ fields, line }) => {
      const row = Object.fromEntries(
        COLUMNS.map((c) => [c, (fields[header.indexOf(c)] ?? '').trim()]),
      ) as Record<(typeof COLUMNS)[number], string>;
      if (!row.tenantId) throw new Error(`${file}, line ${line}: tenantId is empty`);
      if (!row.source)
        throw new Error(`${file}, line ${line}: source is empty (a postgres:// URL or a dump file)`);
      if (seen.has(row.tenantId)) throw new Error(`${file}, line ${line}: ${row.tenantId} is listed twice`);
      seen.add(row.tenantId);
      return row;
    });
}

function csvRecords(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  const endField = () => {
    record.push(field);
    field = '';
  };
  const endRecord = () => {
    endField();
    records.push(record);
    record = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
    } else field += c;
  }
  if (field !== '' || record.length > 0) endRecord();
  return records;
}
