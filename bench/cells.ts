/**
 * `npm run bench:cells`: capacity, scaled down on this machine. BENCH_CELLS_TENANTS (default 200) shared
 * tenants arrive in bursts of BENCH_CELLS_BURST (25) on a platform of cells of 25 tenants whose shared
 * instances hold 10 tenants each (2 places kept free), each cell but the first an AWS account of the
 * emulator of its own, then a release goes to all of them, cell by cell.
 * Prints how long each burst took, the onboardings' p50/p95 and how long the slowest waited, the shared
 * instances added (each addition's time) and the cells filled, the most tenants ever seen on one instance
 * and in one cell (sampled every 50 ms, against their limits), and the release's time. Every onboarding
 * must end live, no limit may be exceeded, and the release must update every tenant in every cell, or the
 * run fails.
 */
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { Client } from 'pg';
import { capacitySettings } from '../common/capacity';
import { localCellAccounts } from '../local/account';
import { PlatformNames } from '../common/names';
import { HOLDING } from '../workflow-tasks/records/lifecycle';
import { uploadVersion } from '../test/fixtures/releases';
import { percentile, round, runBench, startBenchPlatform } from './platform';

const TENANTS = Number(process.env.BENCH_CELLS_TENANTS ?? 200);
const BURST = Number(process.env.BENCH_CELLS_BURST ?? 25);
const PER_INSTANCE = 10;
const PER_CELL = 25;
const HEADROOM = 2;

async function main(): Promise<void> {
  const cells = Math.ceil(TENANTS / PER_CELL);
  const quotas = capacitySettings(
    {
      tenantsPerSharedInstance: PER_INSTANCE,
      sharedInstanceHeadroom: HEADROOM,
      tenantsPerCell: PER_CELL,
      cells,
    },
    'bench:cells',
    // As `tenantctl up --quotas` takes them: each cell but the first an account of the emulator of its own.
    localCellAccounts,
  );
  const platform = await startBenchPlatform({ quotas, maxConcurrentOnboardings: BURST });
  const { endpoints, sfn } = platform;
  const registryUrl = new URL(endpoints.postgres);
  registryUrl.pathname = `/${PlatformNames.platformDatabase}`;
  const registry = new Client({ connectionString: registryUrl.toString() });
  try {
    await registry.connect();
    let mostOnOne = 0;
    let mostInACell = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await registry.query<{ instance: number; cell: number }>(
          `SELECT (SELECT COALESCE(max(n), 0)::int FROM (SELECT count(*) AS n FROM tenants
                    WHERE status = ANY($1::text[]) AND db_instance IS NOT NULL GROUP BY db_instance) i) AS instance,
                  (SELECT COALESCE(max(n), 0)::int FROM (SELECT count(*) AS n FROM tenants
                    WHERE status = ANY($1::text[]) GROUP BY cell) c) AS cell`,
          [HOLDING],
        );
        mostOnOne = Math.max(mostOnOne, rows[0]?.instance ?? 0);
        mostInACell = Math.max(mostInACell, rows[0]?.cell ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const ids = Array.from({ length: TENANTS }, (_, i) => `cell-${String(i).padStart(4, '0')}`);
    const bursts: { ms: number; p50: number; slowest: number }[] = [];
    const all: number[] = [];
    const started = Date.now();
    for (let i = 0; i < ids.length; i += BURST) {
      const burstStart = Date.now();
      const runs = await Promise.all(ids.slice(i, i + BURST).map((id) => platform.onboard(id)));
      const ms = runs.map((r) => r.ms);
      all.push(...ms);
      bursts.push({ ms: Date.now() - burstStart, p50: percentile(ms, 50), slowest: Math.max(...ms) });
    }
    const onboardingMs = Date.now() - started;
    sampling = false;
    await sampler;

    const { rows: live } = await registry.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tenants WHERE status = 'ACTIVE' AND id LIKE 'cell-%'`,
    );
    const { rows: instances } = await registry.query<{
      id: string;
      cell: string;
      status: string;
      tenants: number;
    }>(
      `SELECT s.id, s.cell, s.status, count(t.id)::int AS tenants FROM shared_instances s
         LEFT JOIN tenants t ON t.db_instance = s.id AND t.status = ANY($1::text[])
        GROUP BY s.id, s.seq ORDER BY s.seq`,
      [HOLDING],
    );
    const { rows: perCell } = await registry.query<{ cell: string; tenants: number }>(
      `SELECT cell, count(*)::int AS tenants FROM tenants WHERE status = ANY($1::text[]) GROUP BY cell ORDER BY cell`,
      [HOLDING],
    );
    const additions =
      (
        await sfn.send(
          new ListExecutionsCommand({ stateMachineArn: endpoints.capacityStateMachineArn, maxResults: 1000 }),
        )
      ).executions ?? [];
    const additionMs = additions.map((e) => (e.stopDate?.getTime() ?? 0) - (e.startDate?.getTime() ?? 0));

    // A release of a new version (code and a migration) to every tenant, across every shared instance.
    const version = await uploadVersion({
      migrations: { '0004_bench_cells.sql': 'CREATE TABLE bench_cells (id serial PRIMARY KEY);' },
      build: 'bench-cells',
    });
    const { summary, ms: releaseMs } = await platform.release(version, 8);

    const results = {
      tenants: TENANTS,
      burst: BURST,
      tenantsPerSharedInstance: PER_INSTANCE,
      tenantsPerCell: PER_CELL,
      headroom: HEADROOM,
      cells: perCell,
      live: live[0]?.n ?? 0,
      onboardingSeconds: round(onboardingMs / 1000),
      onboardingP50Ms: percentile(all, 50),
      onboardingP95Ms: percentile(all, 95),
      slowestMs: Math.max(...all),
      bursts,
      sharedInstances: instances,
      additions: additions.length,
      additionP50Ms: percentile(additionMs, 50),
      mostTenantsSeenOnOneInstance: mostOnOne,
      mostTenantsSeenInOneCell: mostInACell,
      release: {
        updated: summary.updated.length,
        failed: summary.failed.length,
        seconds: round(releaseMs / 1000),
      },
    };
    printTable(results);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    const problems = [
      results.live !== TENANTS && `${results.live} of ${TENANTS} tenants are live`,
      mostOnOne > PER_INSTANCE && `${mostOnOne} tenants were seen on one instance (limit ${PER_INSTANCE})`,
      instances.some((i) => i.tenants > PER_INSTANCE) && 'an instance holds more than its limit',
      mostInACell > PER_CELL && `${mostInACell} tenants were seen in one cell (limit ${PER_CELL})`,
      perCell.length !== cells && `tenants are in ${perCell.length} cells, not ${cells}`,
      results.release.updated !== TENANTS && `the release updated ${results.release.updated} of ${TENANTS}`,
    ].filter(Boolean);
    if (problems.length) throw new Error(problems.join('; '));
  } finally {
    await registry.end().catch(() => undefined);
    await platform.stop();
  }
}

function printTable(r: {
  tenants: number;
  cells: { cell: string; tenants: number }[];
  mostTenantsSeenInOneCell: number;
  onboardingSeconds: number;
  onboardingP50Ms: number;
  onboardingP95Ms: number;
  slowestMs: number;
  bursts: { ms: number; p50: number; slowest: number }[];
  sharedInstances: { id: string; status: string; tenants: number }[];
  additions: number;
  additionP50Ms: number;
  mostTenantsSeenOnOneInstance: number;
  release: { updated: number; seconds: number };
}): void {
  const lines = [
    `${r.tenants} tenants in bursts of ${BURST}: all live in ${r.onboardingSeconds} s; onboarding p50 ${r.onboardingP50Ms} ms, p95 ${r.onboardingP95Ms} ms, slowest ${r.slowestMs} ms`,
    ...r.bursts.map(
      (b, i) => `  burst ${i + 1}: ${(b.ms / 1000).toFixed(1)} s (p50 ${b.p50} ms, slowest ${b.slowest} ms)`,
    ),
    `shared instances: ${r.sharedInstances.length} (${r.additions} added, p50 ${r.additionP50Ms} ms each); most tenants seen on one: ${r.mostTenantsSeenOnOneInstance} (limit ${PER_INSTANCE})`,
    `  ${r.sharedInstances.map((i) => `${i.id} ${i.tenants}`).join(', ')}`,
    `cells: ${r.cells.length}, most tenants seen in one: ${r.mostTenantsSeenInOneCell} (limit ${PER_CELL}); ${r.cells.map((c) => `${c.cell} ${c.tenants}`).join(', ')}`,
    `release to every tenant, cell by cell: ${r.release.updated} updated in ${r.release.seconds} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

runBench('bench:cells', main);
