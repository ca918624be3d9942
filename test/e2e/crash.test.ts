import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiGatewayV2Client, GetApisCommand } from '@aws-sdk/client-apigatewayv2';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { Client } from 'pg';
import { tenantResourceNames } from '../../common/names';
import { stopLeftovers } from '../../local/processes/children';
import { waitFor } from '../../local/processes/ports';
import type { Endpoints } from '../../cli/services';
import {
  alive,
  awsCli,
  descendants,
  instanceServers,
  stop,
  tenantctl,
  up,
  type Up,
} from '../fixtures/processes';
import { makeStateDir } from '../fixtures/state-dir';
import { tenantInput } from '../fixtures/platform';
import { tenantApiRequest } from '../fixtures/tenant-api';

const credentials = { accessKeyId: 'any', secretAccessKey: 'any' };
const tenant = {
  tenantId: 'crash-shop',
  companyName: 'Crash Shop',
  adminEmail: 'owner@crash.example',
  domain: 'crash.example',
};

let stateDir: string;

beforeAll(async () => {
  stateDir = await makeStateDir('crash');
});

afterAll(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

const sfnAt = (e: Endpoints) => new SFNClient({ endpoint: e.stepFunctions, region: e.region, credentials });

/** Waits until the onboarding `onboard-<tenantId>` has entered `stateName`, read through the aws CLI. */
function untilEntered(endpoints: Endpoints, tenantId: string, stateName: string): Promise<void> {
  const executionArn = `${endpoints.stateMachineArn.replace(':stateMachine:', ':execution:')}:onboard-${tenantId}`;
  return waitFor(
    `the onboarding to enter "${stateName}"`,
    async () => {
      const { events } = (await awsCli(endpoints.aws, [
        'stepfunctions',
        'get-execution-history',
        '--execution-arn',
        executionArn,
      ])) as { events: { stateEnteredEventDetails?: { name: string } }[] };
      return events.some((e) => e.stateEnteredEventDetails?.name === stateName);
    },
    60_000,
  );
}

/**
 * After a test: kills its first platform if a failure left it running, stops what a killed platform left
 * in the state dir (as its next start would), and removes the state dir.
 */
async function cleanUp(dir: string, first: Up | undefined): Promise<void> {
  if (first && first.process.exitCode === null && first.process.signalCode === null)
    await stop(first, 'SIGKILL');
  await stopLeftovers(dir);
  await rm(dir, { recursive: true, force: true });
}

describe('the local platform killed with SIGKILL in the middle of an onboarding', () => {
  it('reports that execution as failed after a restart, and onboarding the tenant again converges', async () => {
    // "Deploy function" never answers for this tenant, so the onboarding is surely mid-way when killed.
    const first = await up(stateDir, {
      TENANTCTL_FAULTS: JSON.stringify([
        { tenantId: tenant.tenantId, step: 'deploy-function', kind: 'timeout', times: 1 },
      ]),
    });
    const sfn = sfnAt(first.endpoints);
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: first.endpoints.stateMachineArn,
        name: `onboard-${tenant.tenantId}`,
        input: JSON.stringify(tenant),
      }),
    );
    await waitFor(
      'the onboarding to reach "Deploy function"',
      async () => {
        const { events = [] } = await sfn.send(
          new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }),
        );
        return events.some((e) => e.stateEnteredEventDetails?.name === 'Deploy function');
      },
      60_000,
    );
    sfn.destroy();
    const leftBehind = descendants(first.process.pid!);
    expect(await stop(first, 'SIGKILL')).toBeNull();

    const second = await up(stateDir);
    try {
      // What the killed platform left running is stopped by the next one.
      expect(leftBehind.filter(alive)).toEqual([]);
      const sfn2 = sfnAt(second.endpoints);
      const killed = await sfn2.send(new DescribeExecutionCommand({ executionArn }));
      expect({ status: killed.status, error: killed.error }).toEqual({
        status: 'FAILED',
        error: 'PlatformRestarted',
      });
      sfn2.destroy();

      const file = join(stateDir, 'crash-shop.json');
      await writeFile(file, JSON.stringify(tenant));
      const again = await tenantctl(['onboard', file, '--json', '--state-dir', stateDir]);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({
        status: 'SUCCEEDED',
        executionArn: `${executionArn}-2`,
      });

      // Exactly one of everything: what the first attempt made was adopted, not duplicated.
      const { aws, region, postgres } = second.endpoints;
      const apigw = new ApiGatewayV2Client({ endpoint: aws, region, credentials });
      const secrets = new SecretsManagerClient({ endpoint: aws, region, credentials });
      const apis = (await apigw.send(new GetApisCommand({}))).Items?.filter(
        (a) => a.Name === 'tenant-crash-shop-api',
      );
      const tenantSecrets = (await secrets.send(new ListSecretsCommand({}))).SecretList?.filter((s) =>
        s.Name?.startsWith('tenants/crash-shop/'),
      );
      apigw.destroy();
      secrets.destroy();
      expect([apis?.length, tenantSecrets?.length]).toEqual([1, 1]);
      const admin = new Client({ connectionString: postgres });
      await admin.connect();
      const { rows } = await admin.query<{ n: number }>(
        `SELECT (SELECT count(*)::int FROM pg_database WHERE datname = 'crash_shop')
              + (SELECT count(*)::int FROM pg_roles WHERE rolname = 'crash_shop') AS n`,
      );
      await admin.end();
      expect(rows[0]?.n).toBe(2);

      const tenants = await tenantctl(['tenants', '--json', '--state-dir', stateDir]);
      expect(JSON.parse(tenants.stdout)).toEqual([
        expect.objectContaining({ tenantId: 'crash-shop', status: 'ACTIVE' }),
      ]);
      // Live on its platform address at once (its own domain is served once its DNS records are in place).
      const health = await tenantApiRequest(second.endpoints.gateway, 'api.crash-shop.localhost', '/health');
      expect(JSON.parse(health.body)).toEqual({
        tenantId: 'crash-shop',
        database: 'ok',
        schemaVersion: 3,
        suspended: false,
      });
    } finally {
      await stop(second);
    }
  });
});

describe('the platform killed while a dedicated onboarding waits for its instance', () => {
  it('stops the instance’s server, and onboarding the tenant again converges on the same instance', async () => {
    const dir = await makeStateDir('dedicated-crash');
    const tenantId = 'ded-crash';
    let first: Up | undefined;
    try {
      // "Check instance" never answers the first time: the execution is surely inside the wait loop.
      first = await up(dir, {
        TENANTCTL_FAULTS: JSON.stringify([{ tenantId, step: 'check-instance', kind: 'timeout', times: 1 }]),
      });
      const file = join(dir, `${tenantId}.json`);
      await writeFile(file, JSON.stringify(tenantInput(tenantId, { tier: 'dedicated' })));
      const started = tenantctl(['onboard', file, '--json', '--state-dir', dir]);
      await untilEntered(first.endpoints, tenantId, 'Check instance');
      // The instance's own server runs (it may still have been initialising when the check began).
      let servers: number[] = [];
      await waitFor(
        'the instance server',
        () => Promise.resolve((servers = instanceServers(dir, tenantId)).length === 1),
        60_000,
      );
      expect(await stop(first, 'SIGKILL')).toBeNull();
      await started;

      const second = await up(dir);
      try {
        expect(servers.filter(alive)).toEqual([]); // the killed platform's instance server is stopped
        const again = await tenantctl(['onboard', file, '--json', '--state-dir', dir]);
        expect([again.code, JSON.parse(again.stdout)]).toEqual([
          0,
          expect.objectContaining({ status: 'SUCCEEDED' }),
        ]);
        const { DBInstances } = (await awsCli(second.endpoints.aws, ['rds', 'describe-db-instances'])) as {
          DBInstances: { DBInstanceIdentifier: string; DBInstanceStatus: string }[];
        };
        expect(DBInstances.map((i) => [i.DBInstanceIdentifier, i.DBInstanceStatus])).toEqual([
          [tenantResourceNames(tenantId).instanceId, 'available'],
        ]);
        expect(instanceServers(dir, tenantId)).toHaveLength(1);
        const health = await tenantApiRequest(
          second.endpoints.gateway,
          `api.${tenantId}.localhost`,
          '/health',
        );
        expect(health.status).toBe(200);
      } finally {
        expect(await stop(second)).toBe(0);
      }
      expect(instanceServers(dir, tenantId)).toEqual([]);
    } finally {
      await cleanUp(dir, first);
    }
  });
});

describe('the platform stopped with SIGTERM in the middle of an onboarding', () => {
  it('reports that execution aborted with PlatformStopped and releases its tenant, so onboarding again converges', async () => {
    const dir = await makeStateDir('stopped');
    const tenantId = 'stopped-shop';
    let first: Up | undefined;
    try {
      // "Deploy function" keeps failing with a transient error: the execution is in its retries when stopped.
      first = await up(dir, {
        TENANTCTL_FAULTS: JSON.stringify([
          { tenantId, step: 'deploy-function', kind: 'transient', times: 5 },
        ]),
      });
      const executionArn = `${first.endpoints.stateMachineArn.replace(':stateMachine:', ':execution:')}:onboard-${tenantId}`;
      const file = join(dir, `${tenantId}.json`);
      await writeFile(file, JSON.stringify(tenantInput(tenantId)));
      const started = tenantctl(['onboard', file, '--json', '--state-dir', dir]);
      await untilEntered(first.endpoints, tenantId, 'Deploy function');
      expect(await stop(first)).toBe(0);
      await started;

      const second = await up(dir);
      try {
        const described = (await awsCli(second.endpoints.aws, [
          'stepfunctions',
          'describe-execution',
          '--execution-arn',
          executionArn,
        ])) as { status: string; error: string };
        expect([described.status, described.error]).toEqual(['ABORTED', 'PlatformStopped']);
        const tenants = await tenantctl(['tenants', '--json', '--state-dir', dir]);
        expect(JSON.parse(tenants.stdout)).toEqual([
          expect.objectContaining({ tenantId, status: 'ROLLED_BACK' }),
        ]);
        const again = await tenantctl(['onboard', file, '--json', '--state-dir', dir]);
        expect([again.code, JSON.parse(again.stdout)]).toEqual([
          0,
          expect.objectContaining({ status: 'SUCCEEDED', executionArn: `${executionArn}-2` }),
        ]);
      } finally {
        expect(await stop(second)).toBe(0);
      }
    } finally {
      await cleanUp(dir, first);
    }
  });
});
