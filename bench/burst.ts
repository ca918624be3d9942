/**
 * `npm run bench` (burst): 100 TenantSignedUp events put at once through the platform's EventBridge API,
 * until every onboarding has ended: time until all are live, the most executions running and tenants
 * provisioning at once (sampled every 20 ms), each onboarding's time (its execution's dates) and its state
 * transitions. Run twice, each on a fresh platform: with the platform's bound (MAX_CONCURRENT_ONBOARDINGS,
 * default 10) and with a bound of 100 (every onboarding at once). BENCH_BURST overrides the 100.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, ListExecutionsCommand, type ExecutionListItem } from '@aws-sdk/client-sfn';
import { Client } from 'pg';
import { PlatformNames } from '../common/names';
import { ONBOARDING_SLOTS } from '../common/steps';
import { fullHistory } from '../cli/follow';
import { waitFor } from '../local/processes/ports';
import { percentile, round, runBench, startBenchPlatform } from './platform';

const BURST = Number(process.env.BENCH_BURST ?? 100);

async function burst(maxConcurrent: number) {
  const platform = await startBenchPlatform({ maxConcurrentOnboardings: maxConcurrent });
  const { endpoints, sfn } = platform;
  const events = new EventBridgeClient({
    endpoint: endpoints.events,
    region: endpoints.region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const registryUrl = new URL(endpoints.postgres);
  registryUrl.pathname = `/${PlatformNames.platformDatabase}`;
  const registry = new Client({ connectionString: registryUrl.toString() });
  try {
    await registry.connect();
    await platform.onboard('bench-warmup'); // first deploy loads the handlers' modules
    const ids = Array.from({ length: BURST }, (_, i) => `burst-${i}`);
    const list = async (statusFilter?: 'RUNNING'): Promise<ExecutionListItem[]> =>
      (
        await sfn.send(
          new ListExecutionsCommand({
            stateMachineArn: endpoints.stateMachineArn,
            statusFilter,
            maxResults: 1000,
          }),
        )
      ).executions ?? [];
    let maxRunning = 0;
    let maxProvisioning = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxRunning = Math.max(maxRunning, (await list('RUNNING')).length);
        const { rows } = await registry.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM tenants WHERE status = 'PROVISIONING'`,
        );
        maxProvisioning = Math.max(maxProvisioning, rows[0]?.n ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const started = Date.now();
    await Promise.all(
      Array.from({ length: Math.ceil(ids.length / 10) }, (_, i) =>
        events.send(
          new PutEventsCommand({
            Entries: ids.slice(i * 10, i * 10 + 10).map((tenantId) => ({
              EventBusName: PlatformNames.eventBus,
              Source: 'bench.signup',
              DetailType: 'TenantSignedUp',
              Detail: JSON.stringify({
                tenantId,
                companyName: `Burst ${tenantId}`,
                adminEmail: `admin@${tenantId}.example`,
              }),
            })),
          }),
        ),
      ),
    );
    await waitFor(
      'the burst to end',
      async () => {
        const all = await list();
        return all.length === BURST + 1 && all.every((e) => e.status !== 'RUNNING');
      },
      1_800_000,
    );
    sampling = false;
    await sampler;
    const described = await Promise.all(
      (await list()).map(async (e) => {
        const d = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
        const tenantId = (JSON.parse(d.input ?? '{}') as { tenantId?: string }).tenantId;
        const history = await fullHistory(sfn, e.executionArn!);
        return {
          tenantId,
          status: d.status,
          ms: (d.stopDate?.getTime() ?? 0) - (d.startDate?.getTime() ?? 0),
          stoppedAt: d.stopDate?.getTime() ?? 0,
          transitions: history.filter((h) => h.type?.endsWith('StateEntered')).length,
          slotWaits: history.filter((h) => h.taskFailedEventDetails?.error === 'OnboardingSlotsFull').length,
        };
      }),
    );
    // The warm-up onboarding is not part of the burst.
    const outcomes = described.filter((o) => o.tenantId?.startsWith('burst-'));
    const live = outcomes.filter((o) => o.status === 'SUCCEEDED');
    // From the first event put to the last onboarding's end (its execution's stop date).
    const allLiveMs = Math.max(...outcomes.map((o) => o.stoppedAt)) - started;
    const ms = outcomes.map((o) => o.ms);
    return {
      maxConcurrentOnboardings: maxConcurrent,
      events: BURST,
      live: new Set(live.map((o) => o.tenantId)).size,
      notLive: outcomes.filter((o) => o.status !== 'SUCCEEDED').length,
      allLiveMs,
      maxRunningExecutions: maxRunning,
      maxProvisioning,
      onboardingP50Ms: percentile(ms, 50),
      onboardingP95Ms: percentile(ms, 95),
      transitionsPerOnboarding: round(outcomes.reduce((s, o) => s + o.transitions, 0) / outcomes.length),
      slotWaitsPerOnboarding: round(outcomes.reduce((s, o) => s + o.slotWaits, 0) / outcomes.length),
    };
  } finally {
    events.destroy();
    await registry.end().catch(() => undefined);
    await platform.stop();
  }
}

async function main(): Promise<void> {
  const bounded = await burst(ONBOARDING_SLOTS.defaultMaxConcurrent);
  const unbounded = await burst(BURST);
  const rows = [bounded, unbounded];
  process.stdout.write(
    [
      `burst of ${BURST} TenantSignedUp events`,
      `${'bound'.padEnd(6)} ${'live'.padStart(5)} ${'all live ms'.padStart(12)} ${'max running'.padStart(12)} ${'max provisioning'.padStart(17)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'transitions'.padStart(12)} ${'slot waits'.padStart(11)}`,
      ...rows.map(
        (r) =>
          `${String(r.maxConcurrentOnboardings).padEnd(6)} ${String(r.live).padStart(5)} ${String(r.allLiveMs).padStart(12)} ${String(r.maxRunningExecutions).padStart(12)} ${String(r.maxProvisioning).padStart(17)} ${String(r.onboardingP50Ms).padStart(8)} ${String(r.onboardingP95Ms).padStart(8)} ${String(r.transitionsPerOnboarding).padStart(12)} ${String(r.slotWaitsPerOnboarding).padStart(11)}`,
      ),
      '',
    ].join('\n'),
  );
  process.stdout.write(`${JSON.stringify({ burst: rows }, null, 2)}\n`);
}

runBench('bench:burst', main);
