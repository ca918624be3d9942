/**
 * `BENCH_SCALE=1 npm run bench` (scale): one local platform filled to 1,000 live tenants. At tenant 20, 250,
 * 500 and 1,000: the next 5 onboardings one after another (p50 of their execution times), and the gateway's
 * `GET /health` p50 over 200 requests, to one tenant and round-robin over 20 tenants (a working set that
 * stays warm, so the number shows per-request work that grows with the tenant count, not cold starts).
 * Beside them, what finding a tenant's HTTP API cost before its function recorded the API's id: listing
 * every API of the account (GetApis, all pages), once per lookup. Tenants between the points are onboarded
 * BENCH_SCALE_C at a time (default 8). BENCH_SCALE_POINTS overrides the points (comma-separated).
 */
import { ApiGatewayV2Client, GetApisCommand } from '@aws-sdk/client-apigatewayv2';
import { gatewayRequest } from '../cli/describe';
import { percentile, round, runBench, startBenchPlatform, type BenchPlatform } from './platform';

const POINTS = (process.env.BENCH_SCALE_POINTS ?? '20,250,500,1000').split(',').map(Number);
const C = Number(process.env.BENCH_SCALE_C ?? 8);
const MEASURED = 5;
const REQUESTS = 200;

async function main(): Promise<void> {
  if (process.env.BENCH_SCALE !== '1') {
    process.stdout.write('scale: skipped (it takes about 4 minutes on 2 cores); run it with BENCH_SCALE=1\n');
    return;
  }
  const platform = await startBenchPlatform();
  const live: string[] = [];
  const points = [];
  try {
    let next = 0;
    for (const point of POINTS) {
      const fillStart = Date.now();
      const filled = point - 1 - live.length;
      await fill(platform, filled, () => `scale-${next++}`, live);
      const fillMs = Date.now() - fillStart;
      const onboarding: number[] = [];
      for (let i = 0; i < MEASURED; i++) {
        const tenantId = `scale-${next++}`;
        onboarding.push((await platform.onboard(tenantId)).ms);
        live.push(tenantId);
      }
      const listStart = performance.now();
      await listAllApis(platform);
      const listAllApisMs = performance.now() - listStart;
      const oneTenant = await health(platform, [live[0]!]);
      const twenty = await health(platform, live.slice(0, 20));
      points.push({
        tenants: point,
        onboardingP50Ms: percentile(onboarding, 50),
        onboardingMaxMs: percentile(onboarding, 100),
        healthOneTenantP50Ms: percentile(oneTenant, 50),
        healthTwentyTenantsP50Ms: percentile(twenty, 50),
        listAllApisMs: round(listAllApisMs),
        fillTenantsPerMinute: round((filled / fillMs) * 60_000),
        rssMiB: round(process.memoryUsage().rss / 2 ** 20),
      });
      process.stdout.write(`${JSON.stringify(points.at(-1))}\n`);
    }
  } finally {
    await platform.stop();
  }
  const first = points[0]!;
  const last = points.at(-1)!;
  process.stdout.write(
    [
      '',
      `${'tenants'.padEnd(8)} ${'onboarding p50 ms'.padStart(18)} ${'max ms'.padStart(8)} ${'/health p50 ms (1)'.padStart(19)} ${'(20)'.padStart(6)} ${'list all APIs ms'.padStart(17)}`,
      ...points.map(
        (p) =>
          `${String(p.tenants).padEnd(8)} ${String(p.onboardingP50Ms).padStart(18)} ${String(p.onboardingMaxMs).padStart(8)} ${String(p.healthOneTenantP50Ms).padStart(19)} ${String(p.healthTwentyTenantsP50Ms).padStart(6)} ${String(p.listAllApisMs).padStart(17)}`,
      ),
      `onboarding at ${last.tenants} / at ${first.tenants}: ${round(last.onboardingP50Ms / first.onboardingP50Ms)}; /health (20 tenants) at ${last.tenants} / at ${first.tenants}: ${round(last.healthTwentyTenantsP50Ms / first.healthTwentyTenantsP50Ms)}`,
      '',
    ].join('\n'),
  );
  process.stdout.write(`${JSON.stringify({ scale: points }, null, 2)}\n`);
}

/** Every HTTP API of the account, page by page, as the API lookup did before the function recorded it. */
async function listAllApis(platform: BenchPlatform): Promise<void> {
  const apigw = new ApiGatewayV2Client({
    endpoint: platform.endpoints.aws,
    region: platform.endpoints.region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  try {
    let NextToken: string | undefined;
    do NextToken = (await apigw.send(new GetApisCommand({ NextToken }))).NextToken;
    while (NextToken);
  } finally {
    apigw.destroy();
  }
}

/** Onboards `count` tenants, C at a time, through the Step Functions API; each must succeed. */
async function fill(platform: BenchPlatform, count: number, nextId: () => string, live: string[]) {
  let left = count;
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (left > 0) {
        left -= 1;
        const tenantId = nextId();
        await platform.onboard(tenantId);
        live.push(tenantId);
      }
    }),
  );
}

/** `GET /health` through the gateway, round-robin over `tenants`, after one warm-up round. */
async function health(platform: BenchPlatform, tenants: string[]): Promise<number[]> {
  const call = async (tenantId: string) => {
    const started = performance.now();
    const { status } = await gatewayRequest(
      platform.endpoints.gateway,
      `api.${tenantId}.localhost`,
      '/health',
    );
    if (status !== 200) throw new Error(`/health of ${tenantId} answered ${status}`);
    return performance.now() - started;
  };
  for (const tenantId of tenants) await call(tenantId);
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) times.push(await call(tenants[i % tenants.length]!));
  return times;
}

runBench('bench:scale', main);
