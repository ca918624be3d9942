import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  type ExecutionListItem,
} from '@aws-sdk/client-sfn';
import type { Client } from 'pg';
import { LocalPlatformNames, PlatformNames } from '../../common/names';
import { waitFor } from '../../local/processes/ports';
import type { LocalPlatform } from '../../local/platform';
import { listTenants } from '../../workflow-tasks/records/registry';
import { adminClient, everythingOf, footprint, startTestPlatform, tenantInput } from '../fixtures/platform';

// A burst of signups: 100 TenantSignedUp events put at once, through the platform's EventBridge API.
const LIMIT = 4;
const valid = Array.from({ length: 96 }, (_, i) => `burst-${i}`);
const hostile = [
  tenantInput('Robert; DROP TABLE tenants'),
  tenantInput('admin'),
  tenantInput('burst-no-email', { adminEmail: 'not an address' }),
  // The same signup delivered twice (EventBridge delivers at least once).
  tenantInput('burst-0'),
];

let platform: LocalPlatform;
let cleanup: () => Promise<void>;
let sfn: SFNClient;
let events: EventBridgeClient;
let registry: Client;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform({ maxConcurrentOnboardings: LIMIT }));
  const config = {
    endpoint: platform.endpointUrl,
    region: LocalPlatformNames.region,
    credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
  };
  sfn = new SFNClient(config);
  events = new EventBridgeClient(config);
  registry = await adminClient(platform, PlatformNames.platformDatabase);
});

afterAll(async () => {
  sfn?.destroy();
  events?.destroy();
  await registry?.end();
  await cleanup?.();
});

async function executions(): Promise<ExecutionListItem[]> {
  const listed = await sfn.send(
    new ListExecutionsCommand({ stateMachineArn: platform.stateMachineArn, maxResults: 1000 }),
  );
  return listed.executions ?? [];
}

describe('a burst of 100 signups', () => {
  it('ends with every valid signup live exactly once and the hostile ones failed, never more than the limit provisioning at once', async () => {
    const signups = [...valid.map((id) => tenantInput(id)), ...hostile];
    expect(signups).toHaveLength(100);
    // Sampled while the burst runs: how many tenants are provisioning at once.
    let maxProvisioning = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await registry.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM tenants WHERE status = 'PROVISIONING'`,
        );
        maxProvisioning = Math.max(maxProvisioning, rows[0]?.n ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    const batches = Array.from({ length: 10 }, (_, i) => signups.slice(i * 10, i * 10 + 10));
    const put = await Promise.all(
      batches.map((batch) =>
        events.send(
          new PutEventsCommand({
            Entries: batch.map((detail) => ({
              EventBusName: PlatformNames.eventBus,
              Source: 'shop.signup',
              DetailType: 'TenantSignedUp',
              Detail: JSON.stringify(detail),
            })),
          }),
        ),
      ),
    );
    expect(put.map((p) => p.FailedEntryCount)).toEqual(Array(10).fill(0));

    await waitFor(
      'the 100 onboardings to end',
      async () => {
        const all = await executions();
        return all.length === 100 && all.every((e) => e.status !== 'RUNNING');
      },
      600_000,
    );
    sampling = false;
    await sampler;

    const all = await executions();
    const inputs = await Promise.all(
      all.map(async (e) => {
        const described = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
        return { ...e, tenantId: (JSON.parse(described.input ?? '{}') as { tenantId: string }).tenantId };
      }),
    );
    // Every valid signup: one execution that succeeded, and a live tenant.
    for (const id of valid) {
      const succeeded = inputs.filter((e) => e.tenantId === id && e.status === 'SUCCEEDED');
      expect([id, succeeded.length]).toEqual([id, 1]);
    }
    const active = (await listTenants()).filter((t) => t.status === 'ACTIVE').map((t) => t.id);
    expect(active.sort()).toEqual([...valid].sort());
    // The hostile ones failed without leaving anything: the bad inputs at validation, the duplicate at
    // registration (after its twin took the tenant).
    const failed = inputs.filter((e) => e.status === 'FAILED');
    expect(failed).toHaveLength(hostile.length);
    const errors = await Promise.all(
      failed.map(async (e) => {
        const history = await sfn.send(
          new GetExecutionHistoryCommand({ executionArn: e.executionArn, reverseOrder: true, maxResults: 1 }),
        );
        return [e.tenantId, history.events?.[0]?.executionFailedEventDetails?.error];
      }),
    );
    expect(errors.sort()).toEqual(
      [
        ['Robert; DROP TABLE tenants', 'InvalidInput'],
        ['admin', 'InvalidInput'],
        ['burst-no-email', 'InvalidInput'],
        ['burst-0', 'TenantAlreadyRegistered'],
      ].sort(),
    );
    expect(await footprint(platform, 'burst-0')).toEqual(everythingOf(false, 'burst-0'));
    // The limit held, and was reached: the others waited for a slot rather than all running at once.
    expect(maxProvisioning).toBeLessThanOrEqual(LIMIT);
    expect(maxProvisioning).toBeGreaterThanOrEqual(2);
    const waitedForSlot = await Promise.all(
      inputs
        .filter((e) => e.status === 'SUCCEEDED')
        .map(async (e) => {
          const history = await sfn.send(
            new GetExecutionHistoryCommand({ executionArn: e.executionArn, maxResults: 1000 }),
          );
          return history.events?.some((h) => h.taskFailedEventDetails?.error === 'OnboardingSlotsFull');
        }),
    );
    expect(waitedForSlot.filter(Boolean).length).toBeGreaterThan(0);
  }, 660_000); // beyond its own 600 s deadline for the burst to end (a busy machine took over 180 s)
});
