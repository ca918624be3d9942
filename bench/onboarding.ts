/**
 * `npm run bench`: onboarding speed on the local platform, through the Step Functions API.
 * N tenants one after another, then M tenants C at a time; p50/p95 onboarding time (the execution's own
 * start and stop dates), tenants per minute, state transitions per onboarding, and the ratio of the p50 to
 * the floor: the same database work done directly over one pg connection; then D dedicated-tier onboardings
 * (each a PostgreSQL server of its own, awaited by the wait loop), start to SUCCEEDED. Prints a table, then
 * JSON. In the same run, on the same PostgreSQL: the seed's way (psql creates the database and runs the schema
 * file), database only. BENCH_N, BENCH_M, BENCH_C, BENCH_D override the sizes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, escapeIdentifier, escapeLiteral } from 'pg';
import { migrate } from '../workflow-tasks/lib/migrate';
import {
  cpuTimes,
  percentile,
  round,
  runBench,
  startBenchPlatform,
  type CpuTimes,
  type Run,
} from './platform';

const N = Number(process.env.BENCH_N ?? 10);
const M = Number(process.env.BENCH_M ?? 12);
const C = Number(process.env.BENCH_C ?? 4);
const D = Number(process.env.BENCH_D ?? 3);

type Sample = Run;

async function main(): Promise<void> {
  const platform = await startBenchPlatform();
  const onboard = (tenantId: string) => platform.onboard(tenantId);
  try {
    await onboard('bench-warmup'); // first deploy loads the handlers' modules
    const sequential: Sample[] = [];
    const seqStart = Date.now();
    const cpuBefore = cpuTimes();
    for (let i = 0; i < N; i++) sequential.push(await onboard(`bench-seq-${i}`));
    const cpuAfter = cpuTimes();
    const seqWall = Date.now() - seqStart;
    const cpuPerOnboarding = Object.fromEntries(
      (Object.keys(cpuAfter) as (keyof CpuTimes)[]).map((k) => [k, round((cpuAfter[k] - cpuBefore[k]) / N)]),
    ) as unknown as CpuTimes;

    const concurrent: Sample[] = [];
    const conStart = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: C }, async () => {
        while (next < M) concurrent.push(await onboard(`bench-con-${next++}`));
      }),
    );
    const conWall = Date.now() - conStart;

    const dedicated: Sample[] = [];
    const dedStart = Date.now();
    for (let i = 0; i < D; i++) dedicated.push(await platform.onboard(`bench-ded-${i}`, 'dedicated'));
    const dedWall = Date.now() - dedStart;

    const floor = await databaseFloor(platform.endpoints.postgres, N);
    const seed = await seedWay(platform.endpoints.postgres, N);
    const results = {
      machine: { cpus: cpus().length, node: process.version },
      sequential: {
        ...summary(sequential, seqWall),
        ...endpointSummary(sequential),
        /** CPU time per onboarding, by process (this one's includes the benchmark's own polling). */
        cpuMsPerOnboarding: cpuPerOnboarding,
      },
      concurrent: { concurrency: C, ...summary(concurrent, conWall) },
      dedicated: summary(dedicated, dedWall),
      floor: {
        p50Ms: percentile(floor, 50),
        p95Ms: percentile(floor, 95),
        what: 'CREATE ROLE + CREATE DATABASE + tenant migrations over one pg connection',
      },
      seedWay: {
        p50Ms: percentile(seed.times, 50),
        p95Ms: percentile(seed.times, 95),
        createDatabaseP50Ms: percentile(seed.creating, 50),
        what: 'psql -c "CREATE DATABASE" then psql -f <the tenant schema>, per tenant, as the seed did (without Terraform)',
      },
      p50OverSeedWay: round(
        percentile(
          sequential.map((s) => s.ms),
          50,
        ) / percentile(seed.times, 50),
      ),
      p50OverFloor: round(
        percentile(
          sequential.map((s) => s.ms),
          50,
        ) / percentile(floor, 50),
      ),
    };
    printTable(results);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await platform.stop();
  }
}

function summary(samples: Sample[], wallMs: number) {
  const ms = samples.map((s) => s.ms);
  return {
    tenants: samples.length,
    p50Ms: percentile(ms, 50),
    p95Ms: percentile(ms, 95),
    tenantsPerMinute: round((samples.length / wallMs) * 60_000),
    transitionsPerOnboarding: round(samples.reduce((sum, s) => sum + s.transitions, 0) / samples.length),
    /** The handlers' own time on the critical path, and what the platform added beyond it (overhead). */
    stepsP50Ms: percentile(
      samples.map((s) => s.stepsMs),
      50,
    ),
    overheadP50Ms: percentile(
      samples.map((s) => s.ms - s.stepsMs),
      50,
    ),
  };
}

/**
 * Within the steps' time of onboardings that ran one at a time: the emulator's answers and the IAM check
 * (summed over both branches, so more than their share of the critical path).
 */
function endpointSummary(samples: Sample[]) {
  return {
    emulatorCallsP50: percentile(
      samples.map((s) => s.endpoint.emulatorCalls),
      50,
    ),
    emulatorP50Ms: percentile(
      samples.map((s) => s.endpoint.emulatorMs),
      50,
    ),
    iamCheckP50Ms: percentile(
      samples.map((s) => s.endpoint.iamMs),
      50,
    ),
  };
}

/** The least work an onboarding's database part can be: the same statements, one connection, no workflow. */
async function databaseFloor(adminUrl: string, runs: number): Promise<number[]> {
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const name = `bench_floor_${i}`;
      const started = performance.now();
      await admin.query(
        `CREATE ROLE ${escapeIdentifier(name)} LOGIN PASSWORD ${escapeLiteral(`pw-${i}-${Date.now()}`)}`,
      );
      await admin.query(`CREATE DATABASE ${escapeIdentifier(name)} OWNER ${escapeIdentifier(name)}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const tenant = new Client({ connectionString: url.toString() });
      await tenant.connect();
      await migrate(tenant, 'tenant');
      await tenant.end();
      times.push(performance.now() - started);
      await admin.query(`DROP DATABASE ${escapeIdentifier(name)} WITH (FORCE)`);
      await admin.query(`DROP ROLE ${escapeIdentifier(name)}`);
    }
  } finally {
    await admin.end();
  }
  return times;
}

/**
 * The seed's way, database only: `psql` creates the database, then runs the tenant schema file (the tenant
 * migrations, concatenated) in it; two processes per tenant, timed together, and the first (CREATE
 * DATABASE, which an onboarding does too) on its own.
 */
async function seedWay(adminUrl: string, runs: number): Promise<{ times: number[]; creating: number[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-seed-'));
  const schema = join(dir, 'schema.sql');
  const migrations = join(__dirname, '..', 'migrations', 'tenant');
  const files = (await readdir(migrations)).filter((f) => f.endsWith('.sql')).sort();
  await writeFile(
    schema,
    (await Promise.all(files.map((f) => readFile(join(migrations, f), 'utf8')))).join('\n'),
  );
  const psql = (url: string, args: string[]) =>
    promisify(execFile)('psql', [url, '-v', 'ON_ERROR_STOP=1', '-q', ...args]);
  const times: number[] = [];
  const creating: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const name = `bench_seed_${i}`;
      const url = new URL(adminUrl);
      const started = performance.now();
      await psql(url.toString(), ['-c', `CREATE DATABASE ${name}`]);
      creating.push(performance.now() - started);
      url.pathname = `/${name}`;
      await psql(url.toString(), ['-f', schema]);
      times.push(performance.now() - started);
      await psql(adminUrl, ['-c', `DROP DATABASE ${name} WITH (FORCE)`]);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { times, creating };
}

function printTable(r: {
  sequential: ReturnType<typeof summary> &
    ReturnType<typeof endpointSummary> & { cpuMsPerOnboarding: CpuTimes };
  concurrent: ReturnType<typeof summary> & { concurrency: number };
  dedicated: ReturnType<typeof summary>;
  floor: { p50Ms: number; p95Ms: number };
  p50OverFloor: number;
  seedWay: { p50Ms: number; p95Ms: number; createDatabaseP50Ms: number };
  p50OverSeedWay: number;
}): void {
  const row = (label: string, s: ReturnType<typeof summary>) =>
    `${label.padEnd(22)} ${String(s.tenants).padStart(4)} ${String(s.p50Ms).padStart(9)} ${String(s.p95Ms).padStart(9)} ${String(s.tenantsPerMinute).padStart(12)} ${String(s.transitionsPerOnboarding).padStart(12)}`;
  process.stdout.write(
    [
      `${'onboarding'.padEnd(22)} ${'n'.padStart(4)} ${'p50 ms'.padStart(9)} ${'p95 ms'.padStart(9)} ${'tenants/min'.padStart(12)} ${'transitions'.padStart(12)}`,
      row('one after another', r.sequential),
      row(`${r.concurrent.concurrency} at a time`, r.concurrent),
      row('dedicated tier', r.dedicated),
      `database floor p50 ${r.floor.p50Ms} ms, p95 ${r.floor.p95Ms} ms; onboarding p50 / floor p50 = ${r.p50OverFloor}`,
      `the seed's way (psql: CREATE DATABASE, then the schema file) p50 ${r.seedWay.p50Ms} ms, p95 ${r.seedWay.p95Ms} ms (its CREATE DATABASE alone p50 ${r.seedWay.createDatabaseP50Ms} ms); onboarding p50 / seed p50 = ${r.p50OverSeedWay}`,
      `one after another: the steps' handlers p50 ${r.sequential.stepsP50Ms} ms on the critical path, the platform's overhead beyond them p50 ${r.sequential.overheadP50Ms} ms per onboarding`,
      `  within the steps, summed over both branches: ${r.sequential.emulatorCallsP50} calls answered by the emulator taking p50 ${r.sequential.emulatorP50Ms} ms, the IAM check p50 ${r.sequential.iamCheckP50Ms} ms`,
      `  CPU time per onboarding: the platform's process ${r.sequential.cpuMsPerOnboarding.platform} ms, the emulator ${r.sequential.cpuMsPerOnboarding.emulator} ms, PostgreSQL ${r.sequential.cpuMsPerOnboarding.postgres} ms (${cpus().length} cores)`,
      '',
    ].join('\n'),
  );
}

runBench('bench', main);
