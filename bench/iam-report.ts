/**
 * `npm run iam-report`: least privilege, measured. Runs every workflow on a local platform with IAM
 * enforced (a shared and a dedicated tenant's whole life: onboarding with a domain, a release and a
 * rolled-back one, suspend and resume, offboarding, restore from the export and from the final snapshot;
 * an onboarding rolled back after each step's effect; a stopped onboarding and its cleanup; a signup
 * event), then prints, per role, the grants its calls used and those granted but never used, and JSON.
 * `npm run iam-report -- --from DIR` reports instead what the platforms of a test run recorded there
 * (`TENANTCTL_IAM_USAGE_DIR=DIR npm run test:e2e`).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PlatformNames } from '../common/names';
import { STEPS } from '../common/steps';
import type { Usage } from '../local/iam/enforcer';
import { leastPrivilege, type Grant, type RoleUsage } from '../local/iam/least-privilege';
import type { LocalRole } from '../local/iam/roles';
import { LocalPlatform, type ExecutionRecord } from '../local/platform';
import { waitFor } from '../local/processes/ports';
import { aws } from '../workflow-tasks/lib/aws';
import { getTenant } from '../workflow-tasks/records/registry';
import { makeStateDir } from '../test/fixtures/state-dir';
import { tenantInput } from '../test/fixtures/platform';
import { runRelease, uploadVersion } from '../test/fixtures/releases';
import { runBench } from './platform';

/** The onboarding steps with an undo: each gets a tenant whose onboarding fails right after its effect. */
const UNDONE_STEPS = STEPS.filter((step) => step.undoStateName).map((step) => step.id);
const undoTenant = (step: string) => `iam-undo-${step}`;

async function main(): Promise<void> {
  const from = process.argv.indexOf('--from');
  const reports = from > 0 ? await recorded(process.argv[from + 1] ?? '') : await exercised();
  print(reports);
}

/** Runs the scenario on a fresh platform; its roles' usage. */
async function exercised(): Promise<RoleUsage[]> {
  const stateDir = await makeStateDir('iam-report');
  const platform = await LocalPlatform.start({
    stateDir,
    iam: true,
    faults: [
      ...UNDONE_STEPS.map((step) => ({ tenantId: undoTenant(step), step })),
      { tenantId: 'iam-undo-dedicated', step: 'activate-tenant' },
    ].map((fault) => ({ ...fault, kind: 'after-effect' as const, times: 1 })),
  }).catch(async (error: unknown) => {
    await rm(stateDir, { recursive: true, force: true });
    throw error;
  });
  try {
    await scenario(platform);
    const iam = platform.iam!;
    const denied = iam.denials();
    if (denied.length > 0) throw new Error(`calls were refused: ${denied.map((d) => d.message).join('\n')}`);
    return leastPrivilege(iam.roles, iam.usage());
  } finally {
    await platform.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

async function scenario(platform: LocalPlatform): Promise<void> {
  const { onboarding, suspension, offboarding } = platform.stateMachines;
  const run = async (label: string, input: unknown, arn: string, expected = 'SUCCEEDED') => {
    const record: ExecutionRecord = await platform.runExecution(input, { stateMachineArn: arn });
    if (record.status !== expected)
      throw new Error(`${label}: ${record.status} (expected ${expected}): ${record.cause ?? ''}`);
    process.stderr.write(`  ${label}: ${record.status}\n`);
    return record;
  };
  const tiers = [
    { tenantId: 'iam-shared', tier: 'shared' },
    { tenantId: 'iam-dedicated', tier: 'dedicated' },
  ] as const;
  for (const { tenantId, tier } of tiers)
    await run(
      `onboard ${tier}`,
      tenantInput(tenantId, { tier, domain: `${tenantId}.example.com` }),
      onboarding.arn,
    );

  const good = await uploadVersion({ build: 'iam-report' });
  const released = await runRelease(platform, { version: good });
  if (released.record.status !== 'SUCCEEDED') throw new Error(`release: ${released.record.cause ?? ''}`);
  const broken = await uploadVersion({ brokenHealth: true });
  await runRelease(platform, { version: broken, canary: 1 });
  process.stderr.write('  releases: one released, one rolled back\n');

  for (const action of ['suspend', 'resume'])
    await run(action, { tenantId: 'iam-shared', action }, suspension.arn);

  for (const { tenantId, tier } of tiers) {
    await run(`offboard ${tier}`, { tenantId }, offboarding.arn);
    const exported = (await getTenant(tenantId))?.offboarding?.export?.key;
    if (!exported) throw new Error(`offboard ${tier}: no export recorded`);
    await run(
      `restore ${tier}${tier === 'dedicated' ? ' from the final snapshot' : ''}`,
      tenantInput(tenantId, {
        tier,
        restoreFrom: exported,
        ...(tier === 'dedicated' ? { fromSnapshot: true } : {}),
      }),
      onboarding.arn,
    );
  }

  for (const step of UNDONE_STEPS)
    await run(
      `rolled back after ${step}`,
      tenantInput(undoTenant(step), { domain: `${undoTenant(step)}.example.com` }),
      onboarding.arn,
      'FAILED',
    );
  await run(
    'rolled back (dedicated) after activate-tenant',
    tenantInput('iam-undo-dedicated', { tier: 'dedicated' }),
    onboarding.arn,
    'FAILED',
  );

  const stopped = await platform.startExecution(tenantInput('iam-stopped', { tier: 'dedicated' }), {
    stateMachineArn: onboarding.arn,
  });
  await waitFor(
    'the onboarding to create its database',
    async () => Boolean(await getTenant('iam-stopped')),
    60_000,
  );
  await platform.stopExecution(stopped.executionArn, { error: 'Operator', cause: 'iam-report' });
  await waitFor(
    'the stopped onboarding to be cleaned up',
    async () => (await getTenant('iam-stopped'))?.status === 'ROLLED_BACK',
    300_000,
  );
  process.stderr.write('  stopped onboarding: cleaned up\n');

  await aws().events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: PlatformNames.eventBus,
          Source: 'shop.signup',
          DetailType: 'TenantSignedUp',
          Detail: JSON.stringify(tenantInput('iam-signup')),
        },
      ],
    }),
  );
  await waitFor(
    'the signed-up tenant to be live',
    async () => (await getTenant('iam-signup'))?.status === 'ACTIVE',
    120_000,
  );
  process.stderr.write('  signup event: onboarded\n');
}

/** The usage files a test run's platforms wrote (local/platform.ts, TENANTCTL_IAM_USAGE_DIR), merged. */
async function recorded(dir: string): Promise<RoleUsage[]> {
  if (!dir) throw new Error('--from needs the directory the test run recorded into');
  const files = (await readdir(dir)).filter((file) => file.endsWith('.json'));
  if (files.length === 0) throw new Error(`${dir} holds no usage files`);
  const merged = new Map<string, RoleUsage>();
  for (const file of files) {
    const { roles, usage } = JSON.parse(await readFile(join(dir, file), 'utf8')) as {
      roles: LocalRole[];
      usage: Record<string, Record<string, number>>;
    };
    const asUsage: Usage = new Map(
      Object.entries(usage).map(([role, calls]) => [role, new Map(Object.entries(calls))]),
    );
    for (const report of leastPrivilege(roles, asUsage)) {
      const before = merged.get(report.role);
      merged.set(report.role, before ? sum(before, report) : report);
    }
  }
  return [...merged.values()];
}

/**
 * Two platforms' reports of one role, added up. Their grants differ only in the ids the platform's
 * bootstrap made (the distribution's), so they are matched by their action and place in the policy.
 */
function sum(a: RoleUsage, b: RoleUsage): RoleUsage {
  const all = (r: RoleUsage) =>
    [...r.used, ...r.unused].sort((x, y) =>
      `${x.action} ${x.resource}`.localeCompare(`${y.action} ${y.resource}`),
    );
  const left = all(a);
  const right = all(b);
  const grants = left.map((grant, i): Grant => {
    const other = right[i];
    if (!other || other.action !== grant.action) return grant;
    return {
      ...grant,
      calls: grant.calls + other.calls,
      usedAs: [...new Set([...grant.usedAs, ...other.usedAs])].sort(),
      examples: [...new Set([...grant.examples, ...other.examples])].slice(0, 3),
    };
  });
  return {
    role: a.role,
    used: grants.filter((g) => g.calls > 0),
    unused: grants.filter((g) => g.calls === 0),
  };
}

function print(reports: readonly RoleUsage[]): void {
  const out: string[] = [];
  const line = (grant: Grant) =>
    `${grant.action}  ${grant.resource}${grant.conditional ? '  (with a condition)' : ''}`;
  for (const { role, used, unused } of reports) {
    if (used.length === 0 && unused.length === 0) continue;
    out.push(`${role}`);
    for (const grant of used)
      out.push(
        `  used    ${line(grant)}  ${grant.calls} call(s)${grant.action.includes('*') ? ` as ${grant.usedAs.join(', ')}` : ''}, e.g. ${grant.examples[0] ?? ''}`,
      );
    for (const grant of unused) out.push(`  UNUSED  ${line(grant)}`);
  }
  const grants = reports.flatMap((r) => [...r.used, ...r.unused]);
  const unusedCount = reports.reduce((n, r) => n + r.unused.length, 0);
  out.push(
    '',
    `${reports.length} roles, ${grants.length} grants (action x resource), ${grants.length - unusedCount} used, ${unusedCount} never used`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({ roles: reports.length, grants: grants.length, unused: unusedCount, reports })}\n`,
  );
}

runBench('iam-report', main);
