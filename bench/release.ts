/**
 * `npm run bench:release`: a release to N live tenants (BENCH_RELEASE_N, default 50) through the Step
 * Functions API: a new migration and new code, canary then waves, BENCH_RELEASE_C tenants at once (default
 * 4, a release's own default); per tenant migrate, update code, publish, health check, move alias,
 * frontend, ledger. Then, measured in the same run on the same platform, the seed's way: its CI loop, one
 * tenant after another, `aws lambda update-function-code` then the migration with `psql -f` (no health
 * check, no ledger, no way back). Prints a table, then JSON.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LocalPlatformNames, tenantResourceNames } from '../common/names';
import type { TenantSecret } from '../common/tenant-secret';
import { tenantApiArtifactKey } from '../common/versions';
import { fullHistory } from '../cli/follow';
import { readJsonSecret } from '../workflow-tasks/lib/db';
import { uploadVersion } from '../test/fixtures/releases';
import { percentile, round, runBench, startBenchPlatform } from './platform';

const N = Number(process.env.BENCH_RELEASE_N ?? 50);
const C = Number(process.env.BENCH_RELEASE_C ?? 4);
const run = promisify(execFile);

async function main(): Promise<void> {
  const platform = await startBenchPlatform();
  const { endpoints } = platform;
  const { sfn } = platform;
  try {
    const tenants = Array.from({ length: N }, (_, i) => `bench-rel-${String(i).padStart(4, '0')}`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < tenants.length) await platform.onboard(tenants[next++]!);
      }),
    );

    // Ours: one release of a version with a new migration and new code.
    const v2 = await uploadVersion({
      migrations: { '0004_bench_notes.sql': 'CREATE TABLE bench_notes (id serial PRIMARY KEY, note text);' },
      build: 'bench-v2',
    });
    const { executionArn, summary, ms: releaseMs } = await platform.release(v2, C);
    if (summary.updated.length !== N)
      throw new Error(`the release updated ${summary.updated.length} of ${N} tenants`);
    const events = await fullHistory(sfn, executionArn);

    // The seed's CI loop, on the same platform: another version's code, then its migration over psql.
    const v3 = await uploadVersion({
      migrations: {
        '0004_bench_notes.sql': 'CREATE TABLE bench_notes (id serial PRIMARY KEY, note text);',
        '0005_bench_tags.sql': 'CREATE TABLE bench_tags (id serial PRIMARY KEY, tag text);',
      },
      build: 'bench-v3',
    });
    const migration = join(platform.stateDir, '0005_bench_tags.sql');
    await writeFile(migration, 'CREATE TABLE bench_tags (id serial PRIMARY KEY, tag text);\n');
    const awsEnv = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_DEFAULT_REGION: endpoints.region,
    };
    const seed: number[] = [];
    const seedStart = Date.now();
    for (const tenantId of tenants) {
      const started = Date.now();
      const names = tenantResourceNames(tenantId);
      await run(
        'aws',
        [
          '--endpoint-url',
          endpoints.aws,
          'lambda',
          'update-function-code',
          '--function-name',
          names.functionName,
          '--s3-bucket',
          LocalPlatformNames.artifactBucket,
          '--s3-key',
          tenantApiArtifactKey(v3),
        ],
        { env: awsEnv },
      );
      const secret = await readJsonSecret<TenantSecret>(names.secretName);
      await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', migration], {
        env: {
          ...process.env,
          PGHOST: secret.host,
          PGPORT: String(secret.port),
          PGDATABASE: secret.dbname,
          PGUSER: secret.username,
          PGPASSWORD: secret.password,
        },
      });
      seed.push(Date.now() - started);
    }
    const seedMs = Date.now() - seedStart;

    const results = {
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      tenants: N,
      release: {
        concurrency: C,
        totalMs: releaseMs,
        msPerTenant: round(releaseMs / N),
        historyEvents: events.length,
        does: 'claim, migrate, update code + publish, GET /health on the new version, move alias, frontend, ledger; canary then waves, one invalidation per wave',
      },
      seedLoop: {
        totalMs: seedMs,
        p50MsPerTenant: percentile(seed, 50),
        p95MsPerTenant: percentile(seed, 95),
        does: 'aws lambda update-function-code, then psql -f the migration; one tenant after another',
      },
      seedOverRelease: round(seedMs / releaseMs),
    };
    printTable(results);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await platform.stop();
  }
}

function printTable(r: {
  tenants: number;
  release: { concurrency: number; totalMs: number; msPerTenant: number; historyEvents: number };
  seedLoop: { totalMs: number; p50MsPerTenant: number };
  seedOverRelease: number;
}): void {
  const rows = [
    ['', 'total', 'per tenant', ''],
    [
      `release, ${r.release.concurrency} at once`,
      `${(r.release.totalMs / 1000).toFixed(1)} s`,
      `${r.release.msPerTenant} ms`,
      `${r.release.historyEvents} history events`,
    ],
    [
      "the seed's loop (aws CLI + psql)",
      `${(r.seedLoop.totalMs / 1000).toFixed(1)} s`,
      `${r.seedLoop.p50MsPerTenant} ms (p50)`,
      '',
    ],
  ];
  process.stdout.write(`\nRelease to ${r.tenants} tenants\n`);
  for (const row of rows)
    process.stdout.write(`${row[0]!.padEnd(34)}${row[1]!.padEnd(10)}${row[2]!.padEnd(18)}${row[3]!}\n`);
  process.stdout.write(`the seed's loop takes ${r.seedOverRelease}x as long\n\n`);
}

runBench('bench:release', main);
