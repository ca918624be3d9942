/**
 * `npm run bench:import`: `tenantctl import` (issue 26) on a legacy shop of IMPORT_ORDER_LINES order lines
 * (default 250,000) on a PostgreSQL 15 server of its own, and its pg_dump. The platform's import, end to end
 * (prepareImport, then the onboarding to its end), from the shop's URL with read-only access and from the
 * dump, IMPORT_RUNS times each (default 2): wall time, the time of "Inspect import source" and "Apply schema"
 * (their handlers, from the execution's history), rows/s, and the peak of this process's RSS above what it
 * was just before (sampled every 25 ms: the tasks run in this process). Then, in the same run on the same
 * data, the seed's way: createdb, then `pg_dump | psql` into it on the platform's PostgreSQL (wall time,
 * rows/s, the peak RSS of pg_dump and psql). A comparison table, then JSON. It never fails on time.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { Client, escapeIdentifier } from 'pg';
import { fullHistory } from '../cli/follow';
import { prepareImport, type ImportSource } from '../cli/import';
import { startLocalServices, type LocalServices } from '../cli/services';
import { ImportStates } from '../common/imports';
import type { LocalPostgres } from '../local/rds/postgres';
import {
  createLegacyShop,
  dumpDatabase,
  startLegacyServer,
  type LegacyServer,
  type LegacyShop,
} from '../test/fixtures/legacy-database';
import { makeStateDir } from '../test/fixtures/state-dir';
import type { OnboardingState } from '../workflow-tasks/lib/types';
import { handlerTimes, round, runBench } from './platform';

const ORDER_LINES = Number(process.env.IMPORT_ORDER_LINES ?? 250_000);
const RUNS = Number(process.env.IMPORT_RUNS ?? 2);
const SAMPLE_MS = 25;
const APPLY_SCHEMA = 'Apply schema';
const PG_DUMP = '/usr/bin/pg_dump';
const PSQL = '/usr/bin/psql';
const CREATEDB = '/usr/bin/createdb';
const TIME = '/usr/bin/time';
const SEED_DATABASE = 'bench_seed_import';
const MiB = 1024 * 1024;

interface ImportRun {
  readonly way: 'url' | 'dump';
  readonly tenantId: string;
  readonly wallMs: number;
  /** prepareImport alone: the secret stored, or the dump uploaded to the archive bucket. */
  readonly prepareMs: number;
  /** The handlers' own time (TaskStarted to its end), from the execution's history. */
  readonly inspectMs: number;
  readonly applySchemaMs: number;
  readonly rows: number;
  readonly orderLines: number;
  readonly rowsPerSecond: number;
  readonly orderLinesPerSecondOfApplySchema: number;
  readonly peakRssGrowthMiB: number;
  /** The same for the JS heap and the buffers outside it (what the import allocates, even once RSS is high). */
  readonly peakHeapGrowthMiB: number;
}

interface SeedRun {
  readonly wallMs: number;
  readonly createdbMs: number;
  readonly rowsPerSecond: number;
  /** Peak RSS of each process (`/usr/bin/time -f %M`), or undefined when it could not be measured. */
  readonly pgDumpPeakMiB?: number;
  readonly psqlPeakMiB?: number;
  /** Counted by this bench afterwards (the seed's way itself checks nothing). */
  readonly rowsFound: number;
}

async function main(): Promise<void> {
  const stateDir = await makeStateDir('bench-import');
  let legacy: LegacyServer | undefined;
  let services: LocalServices | undefined;
  let sfn: SFNClient | undefined;
  try {
    legacy = await startLegacyServer();
    services = await startLocalServices({ stateDir, port: 0, gatewayPort: 0 });
    const { endpoints, platform } = services;
    sfn = new SFNClient({
      endpoint: endpoints.stepFunctions,
      region: endpoints.region,
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    });

    // 1. The legacy shop and its dump.
    const setupStarted = performance.now();
    const shop = await createLegacyShop(legacy, {
      database: 'building_shop',
      owner: 'building_admin',
      ownerPassword: `owner-${process.pid}-Pässword`,
      readerPassword: `reader-${process.pid}-Secret`,
      orderLines: ORDER_LINES,
      schemaVersion: 1,
    });
    const dumpFile = join(stateDir, 'building_shop.sql');
    await dumpDatabase(legacy, 'building_shop', dumpFile);
    const dumpBytes = (await stat(dumpFile)).size;
    const totalRows = Object.values(shop.counts).reduce((sum, n) => sum + n, 0);
    out(
      `Setup (${round((performance.now() - setupStarted) / 1000)} s): legacy shop on PostgreSQL 15, ` +
        Object.entries(shop.counts)
          .map(([table, n]) => `${table} ${n}`)
          .join(', ') +
        ` = ${totalRows} rows; its pg_dump ${round(dumpBytes / MiB)} MiB\n`,
    );

    // The first onboarding loads the handlers' modules: not measured.
    await platform.runExecution(
      { tenantId: 'imp-warmup', companyName: 'Warm-up', adminEmail: 'admin@warmup.example' },
      { name: 'onboard-imp-warmup' },
    );

    // 2. The platform's import, both ways, in turns.
    const runs: ImportRun[] = [];
    for (let i = 1; i <= RUNS; i++) {
      for (const way of ['url', 'dump'] as const) {
        const source: ImportSource = way === 'url' ? { url: shop.readerUrl! } : { dump: dumpFile };
        const run = await platformImport(services, sfn, stateDir, shop, way, source, `imp-${way}-${i}`);
        runs.push(run);
        out(runLine(`--from-${way} run ${i}`, run));
      }
    }
    const best = (way: ImportRun['way']) =>
      runs.filter((r) => r.way === way).reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
    /** RSS that grew once stays (V8 and malloc keep the pages): the largest growth over a way's runs. */
    const mostRss = (way: ImportRun['way']) =>
      Math.max(...runs.filter((r) => r.way === way).map((r) => r.peakRssGrowthMiB));
    const bestUrl = best('url');
    const bestDump = best('dump');
    out(runLine('--from-url best', bestUrl));
    out(runLine('--from-dump best', bestDump));
    out(
      '  (peak RSS: this process, which runs the tasks, above its RSS just before prepareImport, sampled every\n' +
        `   ${SAMPLE_MS} ms; the PostgreSQL servers the rows go through are processes of their own and not in it.\n` +
        '   RSS that grew in an earlier run stays, so later runs show less: the table takes the largest.)\n',
    );

    // 3. The seed's way.
    const seed = await seedWay(platform.postgres, shop, totalRows);
    const seedPeak =
      seed.pgDumpPeakMiB === undefined || seed.psqlPeakMiB === undefined
        ? undefined
        : round(seed.pgDumpPeakMiB + seed.psqlPeakMiB);
    out(
      `the seed's way: createdb ${round(seed.createdbMs)} ms, then pg_dump | psql ${seconds(seed.wallMs)} s, ` +
        `${seed.rowsPerSecond} rows/s, peak RSS ` +
        (seedPeak === undefined
          ? 'not measured (no /usr/bin/time)'
          : `pg_dump ${seed.pgDumpPeakMiB} MiB + psql ${seed.psqlPeakMiB} MiB = ${seedPeak} MiB`) +
        `; counted afterwards by this bench: ${seed.rowsFound} of ${totalRows} rows\n`,
    );

    // 4. The comparison.
    const verifiedYes = 'yes: rows and digest of every table, source and tenant';
    const rowsOut = [
      ['way', 'wall s', 'rows/s', 'peak memory MiB', 'verified?'],
      [
        'platform --from-url (best)',
        seconds(bestUrl.wallMs),
        String(bestUrl.rowsPerSecond),
        `+${mostRss('url')} (RSS growth, max)`,
        verifiedYes,
      ],
      [
        'platform --from-dump (best)',
        seconds(bestDump.wallMs),
        String(bestDump.rowsPerSecond),
        `+${mostRss('dump')} (RSS growth, max)`,
        verifiedYes,
      ],
      [
        "seed's pg_dump | psql",
        seconds(seed.wallMs),
        String(seed.rowsPerSecond),
        seedPeak === undefined ? 'not measured' : `${seedPeak} (max RSS, 2 procs)`,
        'no: nothing is checked',
      ],
    ];
    const widths = rowsOut[0]!.map((_, c) => Math.max(...rowsOut.map((r) => r[c]!.length)));
    out(
      rowsOut
        .map((r) =>
          r
            .map((cell, c) => cell.padEnd(widths[c]!))
            .join(' | ')
            .trimEnd(),
        )
        .join('\n') +
        "\n(the seed's way also leaves out what an import does besides the rows: the tenant's role, secret,\n" +
        ' migrations to the current version, API, frontend and registry entry)\n',
    );
    out(
      `${JSON.stringify(
        {
          machine: { cpus: cpus().length, node: process.version },
          orderLines: ORDER_LINES,
          rows: shop.counts,
          dumpMiB: round(dumpBytes / MiB),
          runs,
          best: { url: bestUrl.tenantId, dump: bestDump.tenantId },
          seedWay: seed,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    sfn?.destroy();
    const stopped = await Promise.allSettled([services?.stop(), legacy?.stop()]);
    for (const result of stopped)
      if (result.status === 'rejected') {
        process.stderr.write(`bench:import: a server did not stop: ${String(result.reason)}\n`);
        process.exitCode = 1;
      }
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** One `tenantctl import` as the CLI runs it, in this process: prepareImport, then the onboarding. */
async function platformImport(
  services: LocalServices,
  sfn: SFNClient,
  stateDir: string,
  shop: LegacyShop,
  way: ImportRun['way'],
  source: ImportSource,
  tenantId: string,
): Promise<ImportRun> {
  const input = { tenantId, companyName: `Bench ${tenantId}`, adminEmail: shop.adminEmail };
  const heap = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const baseline = process.memoryUsage.rss();
  const heapBaseline = heap();
  let peak = baseline;
  let heapPeak = heapBaseline;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage.rss());
    heapPeak = Math.max(heapPeak, heap());
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  const measured = async () => {
    const started = performance.now();
    const prepared = await prepareImport(input, source, { stateDir });
    const prepareMs = performance.now() - started;
    try {
      const record = await services.platform.runExecution(prepared.input, { name: `import-${tenantId}` });
      const wallMs = performance.now() - started;
      sample();
      return { record, prepareMs, wallMs };
    } finally {
      await prepared.forget();
    }
  };
  const { record, prepareMs, wallMs } = await measured().finally(() => clearInterval(sampler));
  if (record.status !== 'SUCCEEDED')
    throw new Error(`import of ${tenantId} ended ${record.status}: ${record.error}: ${record.cause}`);
  const imported = (record.output as OnboardingState).results?.schema?.imported;
  if (!imported) throw new Error(`import of ${tenantId}: its output has no results.schema.imported`);
  const rows = Object.values(imported.tables).reduce((sum, t) => sum + t.rows, 0);
  const orderLines = imported.tables.order_lines?.rows ?? 0;
  const work = handlerTimes(await fullHistory(sfn, record.executionArn));
  const applySchemaMs = work.get(APPLY_SCHEMA) ?? 0;
  return {
    way,
    tenantId,
    wallMs: round(wallMs),
    prepareMs: round(prepareMs),
    inspectMs: round(work.get(ImportStates.inspect) ?? 0),
    applySchemaMs: round(applySchemaMs),
    rows,
    orderLines,
    rowsPerSecond: Math.round(rows / (wallMs / 1000)),
    orderLinesPerSecondOfApplySchema: applySchemaMs ? Math.round(orderLines / (applySchemaMs / 1000)) : 0,
    peakRssGrowthMiB: round((peak - baseline) / MiB),
    peakHeapGrowthMiB: round((heapPeak - heapBaseline) / MiB),
  };
}

function runLine(label: string, r: ImportRun): string {
  return (
    `${label.padEnd(20)} ${seconds(r.wallMs).padStart(6)} s  ${String(r.rowsPerSecond).padStart(7)} rows/s  ` +
    `(prepare ${seconds(r.prepareMs)} s, Inspect import source ${seconds(r.inspectMs)} s, ` +
    `Apply schema ${seconds(r.applySchemaMs)} s = ${r.orderLinesPerSecondOfApplySchema} order lines/s)  ` +
    `${r.rows} rows  peak RSS +${r.peakRssGrowthMiB} MiB (heap+buffers +${r.peakHeapGrowthMiB})`
  );
}

/**
 * The seed's manual plan on the platform's PostgreSQL: the dump's owner and reader roles made (NOLOGIN) when
 * missing, `createdb`, then `pg_dump -d building_shop | psql -d <new database>`, each under `/usr/bin/time`
 * when there is one. Passwords only in PGPASSWORD, each command its own. The database (and the roles made
 * here) are dropped afterwards.
 */
async function seedWay(target: LocalPostgres, shop: LegacyShop, totalRows: number): Promise<SeedRun> {
  const from = new URL(shop.url);
  const owner = decodeURIComponent(from.username);
  const reader = shop.readerUrl ? decodeURIComponent(new URL(shop.readerUrl).username) : `${owner}_reader`;
  const admin = new Client({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: 'postgres',
  });
  await admin.connect();
  const madeRoles: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'bench-import-seed-'));
  let created = false;
  try {
    for (const role of [owner, reader]) {
      const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (exists.rowCount) continue;
      await admin.query(`CREATE ROLE ${escapeIdentifier(role)} NOLOGIN`);
      madeRoles.push(role);
    }
    const targetEnv = envWith(target.password);
    const createStarted = performance.now();
    await run(
      CREATEDB,
      ['-h', target.host, '-p', String(target.port), '-U', target.user, SEED_DATABASE],
      targetEnv,
    );
    created = true;
    const createdbMs = performance.now() - createStarted;

    const timed = existsSync(TIME);
    const dumpPeak = join(dir, 'pg_dump.rss');
    const psqlPeak = join(dir, 'psql.rss');
    const wrap = (file: string) => (timed ? `${TIME} -f %M -o ${file} ` : '');
    // The plan's pipe, each side with its own password (from the environment, never the command line).
    const script =
      'set -o pipefail; ' +
      `PGPASSWORD="$SOURCE_PASSWORD" ${wrap(dumpPeak)}${PG_DUMP} -h "$1" -p "$2" -U "$3" -d "$4" | ` +
      `PGPASSWORD="$TARGET_PASSWORD" ${wrap(psqlPeak)}${PSQL} -h "$5" -p "$6" -U "$7" -d "$8" -v ON_ERROR_STOP=1 -q >/dev/null`;
    const env = envWith(undefined);
    env.SOURCE_PASSWORD = decodeURIComponent(from.password);
    env.TARGET_PASSWORD = target.password;
    const started = performance.now();
    await run(
      '/bin/bash',
      [
        '-c',
        script,
        'seed-way',
        from.hostname,
        from.port,
        owner,
        decodeURIComponent(from.pathname.slice(1)),
        target.host,
        String(target.port),
        target.user,
        SEED_DATABASE,
      ],
      env,
    );
    const wallMs = performance.now() - started;
    const peakMiB = async (file: string) => {
      if (!timed) return undefined;
      const kb = Number((await readFile(file, 'utf8')).trim().split('\n').at(-1));
      return Number.isFinite(kb) ? round(kb / 1024) : undefined;
    };

    const loaded = new Client({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: SEED_DATABASE,
    });
    await loaded.connect();
    let rowsFound = 0;
    try {
      for (const table of Object.keys(shop.counts)) {
        const { rows } = await loaded.query<{ n: string }>(
          `SELECT count(*) AS n FROM public.${escapeIdentifier(table)}`,
        );
        rowsFound += Number(rows[0]?.n ?? 0);
      }
    } finally {
      await loaded.end();
    }
    const pgDumpPeakMiB = await peakMiB(dumpPeak);
    const psqlPeakMiB = await peakMiB(psqlPeak);
    return {
      wallMs: round(wallMs),
      createdbMs: round(createdbMs),
      rowsPerSecond: Math.round(totalRows / (wallMs / 1000)),
      ...(pgDumpPeakMiB === undefined ? {} : { pgDumpPeakMiB }),
      ...(psqlPeakMiB === undefined ? {} : { psqlPeakMiB }),
      rowsFound,
    };
  } finally {
    if (created) await admin.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(SEED_DATABASE)} WITH (FORCE)`);
    for (const role of madeRoles) await admin.query(`DROP ROLE IF EXISTS ${escapeIdentifier(role)}`);
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  }
}

/** This process's environment without its PG* variables, and PGPASSWORD when given. */
function envWith(password: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('PG')) env[name] = value;
  if (password !== undefined) env.PGPASSWORD = password;
  env.PGCONNECT_TIMEOUT = '10';
  return env;
}

/** Runs a command to its end; a non-zero exit throws with what it wrote to stderr. */
async function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`${command} failed (exit ${code}): ${stderr.trim().slice(0, 2000)}`);
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(2);
}

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

runBench('bench:import', main);
