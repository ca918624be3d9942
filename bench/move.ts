/**
 * `npm run bench:move`: how long a tenant is suspended while it is moved to another shared instance, by
 * the size of its database. Two tenants with the same rows are moved from shared-1 to shared-2 in the same
 * run: one copied while it serves (logical replication; suspended for the copy's last part: the writes
 * since, and the verification of every row on both sides), and one the move copies in one snapshot while
 * suspended (the way every move copied before, taken here because its `order_lines` has no primary key,
 * which also spares that copy an index). Prints, per tenant: the rows, the whole move, the copy made while
 * serving, and the suspended window (from "Suspend the tenant" to the end of "Resume the tenant"); then
 * JSON. BENCH_MOVE_ORDERS sets the orders per tenant (4 lines each; default 50,000).
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { Client } from 'pg';
import { capacitySettings } from '../common/capacity';
import { MoveStates } from '../common/move';
import { PlatformNames, tenantResourceNames } from '../common/names';
import { fullHistory, timeBetween } from '../cli/follow';
import { waitFor } from '../local/processes/ports';
import { handlerTimes, round, runBench, startBenchPlatform } from './platform';

const ORDERS = Number(process.env.BENCH_MOVE_ORDERS ?? 50_000);

async function main(): Promise<void> {
  const platform = await startBenchPlatform({
    quotas: capacitySettings({ tenantsPerSharedInstance: 4, sharedInstanceHeadroom: 1 }, 'bench'),
  });
  const adminUrl = platform.endpoints.postgres;
  const connect = async (database: string) => {
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    return client;
  };
  try {
    const tenants = { replicated: 'bench-move-repl', snapshot: 'bench-move-snap' };
    // Three onboardings leave one place on shared-1: shared-2 is added.
    for (const tenantId of [tenants.replicated, tenants.snapshot, 'bench-move-filler'])
      await platform.onboard(tenantId);
    const registry = await connect(PlatformNames.platformDatabase);
    await waitFor(
      'shared-2 to be added',
      async () =>
        (
          await registry.query(
            `SELECT 1 FROM shared_instances WHERE id = 'shared-2' AND status = 'AVAILABLE'`,
          )
        ).rowCount === 1,
      120_000,
    );
    await registry.end();

    const results = [];
    for (const [mode, tenantId] of Object.entries(tenants)) {
      // Filled, and the connection closed: the move drops the source database when it is done.
      const db = await connect(tenantResourceNames(tenantId).database);
      let rows: number;
      try {
        rows = await fill(db);
        if (mode === 'snapshot') await db.query('ALTER TABLE order_lines DROP CONSTRAINT order_lines_pkey');
      } finally {
        await db.end();
      }
      const run = await platform.run(
        platform.endpoints.moveStateMachineArn,
        { tenantId, toInstance: 'shared-2' },
        `moving ${tenantId}`,
      );
      const history = await fullHistory(platform.sfn, run.executionArn);
      results.push({ mode, tenantId, rows, moveMs: run.ms, ...windows(history) });
    }

    console.log('mode         rows    move ms  copied while serving ms  suspended ms');
    for (const r of results)
      console.log(
        `${r.mode.padEnd(11)} ${String(r.rows).padStart(7)} ${String(r.moveMs).padStart(9)} ${String(r.servingMs).padStart(24)} ${String(r.suspendedMs).padStart(13)}`,
      );
    const [replicated, snapshot] = results;
    if (replicated && snapshot)
      console.log(
        `suspended: ${replicated.suspendedMs} ms replicated vs ${snapshot.suspendedMs} ms in one snapshot (${round(snapshot.suspendedMs / Math.max(1, replicated.suspendedMs))}x shorter)`,
      );
    for (const r of results)
      console.log(
        `${r.mode} suspended, by state: ${Object.entries(r.suspendedStatesMs)
          .map(([state, ms]) => `${state} ${ms} ms`)
          .join(', ')}`,
      );
    console.log(JSON.stringify({ ordersPerTenant: ORDERS, results }, null, 2));
  } finally {
    await platform.stop();
  }
}

/** The tenant's shop filled: users, products, ORDERS orders of four lines each. Returns the rows made. */
async function fill(db: Client): Promise<number> {
  await db.query(`INSERT INTO users (email, role, password_hash)
                  SELECT 'staff' || g || '@example.com', 'staff', 'x' FROM generate_series(1, 100) g`);
  await db.query(`INSERT INTO products (sku, name, price_cents, stock)
                  SELECT 'SKU-' || g, 'Product ' || g, g * 10, 1000 FROM generate_series(1, 500) g`);
  await db.query(
    `INSERT INTO orders (total_cents, created_by)
     SELECT g * 7, (SELECT min(id) FROM users) FROM generate_series(1, $1::int) g`,
    [ORDERS],
  );
  await db.query(`INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents)
                  SELECT o.id, l, (SELECT min(id) FROM products) + (o.id * l) % 500, l, 100
                    FROM orders o CROSS JOIN generate_series(1, 4) l`);
  return 100 + 500 + ORDERS * 5;
}

/**
 * The copy made while serving, the suspended window and what its states' handlers took, from the
 * execution's history.
 */
function windows(history: readonly HistoryEvent[]): {
  servingMs: number;
  suspendedMs: number;
  suspendedStatesMs: Record<string, number>;
} {
  const work = handlerTimes(history);
  return {
    servingMs: timeBetween(history, MoveStates.sync, MoveStates.synced) ?? 0,
    suspendedMs: timeBetween(history, MoveStates.suspend, MoveStates.resume) ?? 0,
    suspendedStatesMs: Object.fromEntries(
      [MoveStates.suspend, MoveStates.copy, MoveStates.switchOver, MoveStates.resume].map((state) => [
        state,
        work.get(state) ?? 0,
      ]),
    ),
  };
}

runBench('bench:move', main);
