/**
 * `npm run cost`: what the platform costs on AWS, per month and per tenant, and what one onboarding costs,
 * for the shared and dedicated tiers. Computed, not copied: the resources and Lambda memory come from the
 * synthesized PlatformStack, the state transitions and task durations from onboardings run on the local
 * platform, and the unit prices from bench/aws-prices.json (the only assumption; edit it for your region).
 * Usage assumptions of a tenant are the COST_* variables below. Prints a table, then JSON.
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DEDICATED_INSTANCE, RECORD_ROLLBACK_FAILURE, STEPS } from '../common/steps';
import { TaskEnv } from '../common/names';
import { PlatformStack } from '../infra/platform-stack';
import { LocalPlatform } from '../local/platform';
import { runBench } from './platform';

/** A tenant's month: API requests, their average billed duration, frontend traffic. */
const USAGE = {
  apiRequests: Number(process.env.COST_API_REQUESTS ?? 100_000),
  apiMsPerRequest: Number(process.env.COST_API_MS ?? 20),
  siteGb: Number(process.env.COST_SITE_GB ?? 5),
  siteRequests: Number(process.env.COST_SITE_REQUESTS ?? 200_000),
  /** How many shared-tier tenants one shared instance carries. */
  tenantsPerSharedInstance: Number(process.env.COST_TENANTS_PER_INSTANCE ?? 50),
  /** Minutes RDS takes to create a dedicated instance on AWS (rounds of the wait loop beyond the local ones). */
  dedicatedCreateMinutes: Number(process.env.COST_DEDICATED_MINUTES ?? 10),
};
const ONBOARDINGS = 5;
const DEDICATED_ONBOARDINGS = 3;
/** The tenant API function's memory (deploy-function creates it with 256 MB). */
const TENANT_FUNCTION_MB = 256;
/** Dedicated instances get 20 GB (create-database). */
const DEDICATED_STORAGE_GB = 20;

type Prices = Record<string, number> & { rdsPerHour: Record<string, number> };
type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

async function main(): Promise<void> {
  const prices = JSON.parse(await readFile(join(__dirname, 'aws-prices.json'), 'utf8')) as Prices;
  const stack = stackFacts();
  const { shared: run, dedicated } = await localOnboardings(stack.memoryMb);
  const p = (key: string) => {
    const value = prices[key];
    if (typeof value !== 'number') throw new Error(`bench/aws-prices.json has no ${key}`);
    return value;
  };
  const instanceHour = (cls: string) => {
    const price = prices.rdsPerHour[cls];
    if (price === undefined) throw new Error(`bench/aws-prices.json has no rdsPerHour["${cls}"]`);
    return price;
  };
  const hours = p('hoursPerMonth');

  // The platform itself, tenants or not.
  const sharedInstance =
    instanceHour(stack.sharedInstanceClass) * (stack.sharedMultiAz ? p('rdsMultiAzFactor') : 1) * hours +
    stack.sharedStorageGb * p('rdsGp3PerGbMonth');
  const platformMonthly = {
    sharedInstance,
    natGateways: stack.natGateways * p('natGatewayPerHour') * hours,
    interfaceEndpoints: stack.interfaceEndpointAzs * p('interfaceEndpointPerAzHour') * hours,
    kmsKeys: stack.kmsKeys * p('kmsKeyPerMonth'),
    alarms: stack.alarms * p('alarmPerMonth'),
    dashboards: stack.dashboards * p('dashboardPerMonth'),
    masterSecret: p('secretPerMonth'),
  };

  // One onboarding: transitions, Lambda GB-seconds and requests, secret reads, events, the invalidation.
  const lambdaCost = (gbSeconds: number, requests: number) =>
    gbSeconds * p('lambdaPerGbSecondArm') + requests * p('lambdaPerRequest');
  const sharedOnboarding = {
    stateTransitions: run.transitions * p('stepFunctionsPerTransition'),
    lambda: lambdaCost(run.gbSeconds, run.tasks),
    events: 2 * p('eventBridgePerEvent'), // TenantSignedUp + TenantProvisioned
    invalidation: p('cloudFrontInvalidationPerPath'),
  };
  // A dedicated onboarding as measured locally (its instance a real PostgreSQL server, ready within its
  // first rounds), plus the rounds RDS keeps it waiting on AWS, each Wait + Check instance + Choice, the
  // check billed as long as the measured ones.
  const rounds = Math.ceil((USAGE.dedicatedCreateMinutes * 60) / DEDICATED_INSTANCE.waitSeconds);
  const extraRounds = Math.max(0, rounds - dedicated.waitRounds);
  const checkGbSeconds = (dedicated.checkInstanceMs / 1000) * (stack.memoryMb / 1024);
  const dedicatedOnboarding = {
    ...sharedOnboarding,
    stateTransitions: (dedicated.transitions + 3 * extraRounds) * p('stepFunctionsPerTransition'),
    lambda: lambdaCost(dedicated.gbSeconds + extraRounds * checkGbSeconds, dedicated.tasks + extraRounds),
  };

  // One tenant's month.
  const tenantTraffic = {
    secret: p('secretPerMonth'),
    httpApi: USAGE.apiRequests * p('httpApiPerRequest'),
    apiFunction: lambdaCost(
      USAGE.apiRequests * (USAGE.apiMsPerRequest / 1000) * (TENANT_FUNCTION_MB / 1024),
      USAGE.apiRequests,
    ),
    cloudFront: USAGE.siteGb * p('cloudFrontPerGb') + USAGE.siteRequests * p('cloudFrontPerHttpsRequest'),
  };
  const sharedTenant = {
    ...tenantTraffic,
    alarms: p('alarmPerMonth'), // tenant-<id>-api-errors
    shareOfSharedInstance: sharedInstance / USAGE.tenantsPerSharedInstance,
  };
  const dedicatedTenant = {
    ...tenantTraffic,
    alarms: 2 * p('alarmPerMonth'), // api-errors and db-cpu
    ownInstance:
      instanceHour(stack.dedicatedInstanceClass) * hours + DEDICATED_STORAGE_GB * p('rdsGp3PerGbMonth'),
    instanceMasterSecret: p('secretPerMonth'),
  };

  const results = {
    prices: `bench/aws-prices.json (${String(prices.region)}, ${String(prices.checked)})`,
    usage: USAGE,
    fromTheStack: stack,
    fromLocalOnboardings: { shared: run, dedicated: { ...dedicated, awsWaitRounds: rounds } },
    platformPerMonth: withTotal(platformMonthly),
    per1000Onboardings: {
      shared: withTotal(times(sharedOnboarding, 1000)),
      dedicated: withTotal(times(dedicatedOnboarding, 1000)),
    },
    perTenantPerMonth: { shared: withTotal(sharedTenant), dedicated: withTotal(dedicatedTenant) },
  };
  printTable(results);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

/** What the synthesized stack creates that costs money, and the task Lambdas' memory. */
function stackFacts() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new PlatformStack(app, 'TenantPlatform');
  const resources = Template.fromStack(stack).toJSON().Resources as Resources;
  const all = (type: string) => Object.values(resources).filter((r) => r.Type === type);
  const [db] = all('AWS::RDS::DBInstance');
  const taskMemory = new Set(
    Object.entries(resources)
      .filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('TenantOnboarding'))
      .map(([, r]) => Number(r.Properties?.MemorySize)),
  );
  if (taskMemory.size !== 1)
    throw new Error(`task Lambdas have different memory sizes: ${[...taskMemory].join(', ')}`);
  const deploy = Object.entries(resources).find(
    ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('TenantOnboardingdeployfunctionrun'),
  );
  const env = (deploy?.[1].Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
  const endpoints = all('AWS::EC2::VPCEndpoint').filter((r) => r.Properties?.VpcEndpointType === 'Interface');
  return {
    memoryMb: [...taskMemory][0]!,
    sharedInstanceClass: String(db?.Properties?.DBInstanceClass),
    sharedMultiAz: db?.Properties?.MultiAZ === true,
    sharedStorageGb: Number(db?.Properties?.AllocatedStorage),
    dedicatedInstanceClass: String(env[TaskEnv.dedicatedInstanceClass]),
    natGateways: all('AWS::EC2::NatGateway').length,
    interfaceEndpointAzs: endpoints.reduce(
      (sum, r) => sum + ((r.Properties?.SubnetIds as unknown[]) ?? []).length,
      0,
    ),
    kmsKeys: all('AWS::KMS::Key').length,
    alarms: all('AWS::CloudWatch::Alarm').length,
    dashboards: all('AWS::CloudWatch::Dashboard').length,
  };
}

/**
 * Onboardings on the local platform, shared and dedicated tier: transitions, task count and billed
 * durations; for the dedicated tier also its wait rounds, billed ms per "Check instance" and wall time.
 */
async function localOnboardings(memoryMb: number) {
  const stateDir = await mkdtemp(join(tmpdir(), 'tenant-cost-'));
  // mkdtemp makes it mode 700: as root, the postgres user must be able to enter it (else the data would go
  // to /var/lib/tenantctl and outlive this run).
  await chmod(stateDir, 0o755);
  const platform = await LocalPlatform.start({ stateDir });
  try {
    // The first one loads the handler modules.
    await measure(platform, 'cost-warmup', 'shared', memoryMb);
    const shared = [];
    const dedicated = [];
    for (let i = 0; i < ONBOARDINGS; i++)
      shared.push(await measure(platform, `cost-${i}`, 'shared', memoryMb));
    for (let i = 0; i < DEDICATED_ONBOARDINGS; i++)
      dedicated.push(await measure(platform, `cost-ded-${i}`, 'dedicated', memoryMb));
    const summary = (samples: Measured[]) => ({
      onboardings: samples.length,
      transitions: median(samples.map((s) => s.transitions)),
      tasks: median(samples.map((s) => s.tasks)),
      gbSeconds: Math.round(median(samples.map((s) => s.gbSeconds)) * 1000) / 1000,
    });
    return {
      shared: summary(shared),
      dedicated: {
        ...summary(dedicated),
        waitRounds: median(dedicated.map((s) => s.checks)),
        checkInstanceMs: median(dedicated.map((s) => s.checkMs / Math.max(1, s.checks))),
        wallMs: median(dedicated.map((s) => s.wallMs)),
      },
    };
  } finally {
    await platform.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

interface Measured {
  transitions: number;
  tasks: number;
  gbSeconds: number;
  checks: number;
  checkMs: number;
  wallMs: number;
}

async function measure(
  platform: LocalPlatform,
  tenantId: string,
  tier: 'shared' | 'dedicated',
  memoryMb: number,
): Promise<Measured> {
  const taskStates = new Set([
    ...STEPS.map((s) => s.stateName),
    DEDICATED_INSTANCE.check.stateName,
    RECORD_ROLLBACK_FAILURE.stateName,
  ]);
  const record = await platform.runExecution({
    tenantId,
    companyName: `Cost ${tenantId}`,
    adminEmail: `admin@${tenantId}.example`,
    tier,
  });
  if (record.status !== 'SUCCEEDED') throw new Error(`${tenantId}: ${record.status} ${record.error ?? ''}`);
  const entered = new Map<string, number>();
  const measured: Measured = { transitions: 0, tasks: 0, gbSeconds: 0, checks: 0, checkMs: 0, wallMs: 0 };
  let ms = 0;
  for (const e of record.events) {
    if (e.type?.endsWith('StateEntered')) {
      measured.transitions++;
      const name = e.stateEnteredEventDetails?.name ?? '';
      if (taskStates.has(name)) entered.set(name, Number(e.timestamp ?? 0));
    }
    const name = e.stateExitedEventDetails?.name ?? '';
    if (e.type === 'TaskStateExited' && entered.has(name)) {
      measured.tasks++;
      // Lambda bills each invocation rounded up to the millisecond.
      const billed = Math.ceil(Number(e.timestamp ?? 0) - (entered.get(name) ?? 0));
      ms += billed;
      if (name === DEDICATED_INSTANCE.check.stateName) {
        measured.checks++;
        measured.checkMs += billed;
      }
    }
  }
  measured.gbSeconds = (ms / 1000) * (memoryMb / 1024);
  measured.wallMs = (record.stopDate?.getTime() ?? 0) - record.startDate.getTime();
  return measured;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
}

function times<T extends Record<string, number>>(items: T, factor: number): T {
  return Object.fromEntries(Object.entries(items).map(([k, v]) => [k, v * factor])) as T;
}

function withTotal<T extends Record<string, number>>(items: T): T & { total: number } {
  const total = Object.values(items).reduce((sum, v) => sum + v, 0);
  const rounded = Object.fromEntries(Object.entries(items).map(([k, v]) => [k, cents(v)])) as T;
  return { ...rounded, total: cents(total) };
}

/** Dollars, to a hundredth of a cent (onboardings cost fractions of a cent). */
function cents(dollars: number): number {
  return Math.round(dollars * 10_000) / 10_000;
}

function printTable(r: {
  platformPerMonth: { total: number };
  per1000Onboardings: { shared: { total: number }; dedicated: { total: number } };
  perTenantPerMonth: { shared: { total: number }; dedicated: { total: number } };
  fromLocalOnboardings: {
    shared: { transitions: number; gbSeconds: number };
    dedicated: {
      transitions: number;
      gbSeconds: number;
      wallMs: number;
      checkInstanceMs: number;
      awsWaitRounds: number;
    };
  };
}): void {
  const { shared, dedicated } = r.fromLocalOnboardings;
  const usd = (n: number) => `$${n.toFixed(4)}`;
  process.stdout.write(
    [
      `${''.padEnd(34)} ${'shared'.padStart(12)} ${'dedicated'.padStart(12)}`,
      `${'per 1,000 onboardings'.padEnd(34)} ${usd(r.per1000Onboardings.shared.total).padStart(12)} ${usd(r.per1000Onboardings.dedicated.total).padStart(12)}`,
      `${'per tenant per month'.padEnd(34)} ${usd(r.perTenantPerMonth.shared.total).padStart(12)} ${usd(r.perTenantPerMonth.dedicated.total).padStart(12)}`,
      `platform per month (no tenant): ${usd(r.platformPerMonth.total)}`,
      `measured locally per onboarding: shared ${shared.transitions} transitions, ${shared.gbSeconds} GB-s of task Lambdas;`,
      `  dedicated ${dedicated.transitions} transitions, ${dedicated.gbSeconds} GB-s, ${dedicated.wallMs} ms start to SUCCEEDED, Check instance ${dedicated.checkInstanceMs} ms;`,
      `  on AWS the wait loop runs ${dedicated.awsWaitRounds} rounds (COST_DEDICATED_MINUTES) at that check's cost`,
      '',
    ].join('\n'),
  );
}

runBench('cost', main);
