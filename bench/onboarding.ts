/**
 * `npm run bench`: onboarding speed on the local platform, through the Step Functions API.
 * N tenants one after another, then M tenants C at a time; p50/p95 onboarding time (the execution's own
 * start and stop dates), tenants per minute, state transitions per onboarding, and the ratio of the p50 to
 * the floor: the same database work done directly over one pg connection. Prints a table, then JSON.
 * BENCH_N, BENCH_M, BENCH_C override the sizes.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Client, escapeIdentifier, escapeLiteral } from 'pg';
import { fullHistory } from '../cli/follow';
import { waitFor } from '../local/ports';
import { startLocalServices } from '../local/services';
import { migrate } from '../workflow-tasks/lib/migrate';

const N = Number(process.env.BENCH_N ?? 10);
const M = Number(process.env.BENCH_M ?? 12);
const C = Number(process.env.BENCH_C ?? 4);

interface Sample {
  readonly ms: number;
  readonly transitions: number;
}

async function main(): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'tenantctl-bench-'));
  await chmod(stateDir, 0o755);
  const services = await startLocalServices({ stateDir, port: 0, gatewayPort: 0 });
  const { endpoints } = services;
  const sfn = new SFNClient({
    endpoint: endpoints.stepFunctions,
    region: endpoints.region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  try {
    const onboard = async (tenantId: string): Promise<Sample> => {
      const input = { tenantId, companyName: `Bench ${tenantId}`, adminEmail: `admin@${tenantId}.example` };
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: endpoints.stateMachineArn,
          input: JSON.stringify(input),
        }),
      );
      let status = 'RUNNING';
      let ms = 0;
      await waitFor(
        tenantId,
        async () => {
          const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
          status = d.status ?? 'RUNNING';
          ms = (d.stopDate?.getTime() ?? 0) - (d.startDate?.getTime() ?? 0);
          return status !== 'RUNNING';
        },
        120_000,
      );
      if (status !== 'SUCCEEDED') throw new Error(`${tenantId}: ${status}`);
      const transitions = (await fullHistory(sfn, executionArn!)).filter((e) =>
        e.type?.endsWith('StateEntered'),
      ).length;
      return { ms, transitions };
    };

    await onboard('bench-warmup'); // first deploy loads the handlers' modules
    const sequential: Sample[] = [];
    const seqStart = Date.now();
    for (let i = 0; i < N; i++) sequential.push(await onboard(`bench-seq-${i}`));
    const seqWall = Date.now() - seqStart;

    const concurrent: Sample[] = [];
    const conStart = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: C }, async () => {
        while (next < M) concurrent.push(await onboard(`bench-con-${next++}`));
      }),
    );
    const conWall = Date.now() - conStart;

    const floor = await databaseFloor(endpoints.postgres, N);
    const results = {
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      sequential: summary(sequential, seqWall),
      concurrent: { concurrency: C, ...summary(concurrent, conWall) },
      floor: {
        p50Ms: percentile(floor, 50),
        p95Ms: percentile(floor, 95),
        what: 'CREATE ROLE + CREATE DATABASE + tenant migrations over one pg connection',
      },
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
    sfn.destroy();
    await services.stop();
    await rm(stateDir, { recursive: true, force: true });
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

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return round(sorted[Math.max(0, index)] ?? 0);
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function printTable(r: {
  sequential: ReturnType<typeof summary>;
  concurrent: ReturnType<typeof summary> & { concurrency: number };
  floor: { p50Ms: number; p95Ms: number };
  p50OverFloor: number;
}): void {
  const row = (label: string, s: ReturnType<typeof summary>) =>
    `${label.padEnd(22)} ${String(s.tenants).padStart(4)} ${String(s.p50Ms).padStart(9)} ${String(s.p95Ms).padStart(9)} ${String(s.tenantsPerMinute).padStart(12)} ${String(s.transitionsPerOnboarding).padStart(12)}`;
  process.stdout.write(
    [
      `${'onboarding'.padEnd(22)} ${'n'.padStart(4)} ${'p50 ms'.padStart(9)} ${'p95 ms'.padStart(9)} ${'tenants/min'.padStart(12)} ${'transitions'.padStart(12)}`,
      row('one after another', r.sequential),
      row(`${r.concurrent.concurrency} at a time`, r.concurrent),
      `database floor p50 ${r.floor.p50Ms} ms, p95 ${r.floor.p95Ms} ms; onboarding p50 / floor p50 = ${r.p50OverFloor}`,
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
