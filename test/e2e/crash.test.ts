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
import { gatewayRequest } from '../../cli/describe';
import { waitFor } from '../../local/ports';
import type { Endpoints } from '../../local/services';
import { alive, descendants, stop, tenantctl, up } from '../fixtures/processes';
import { makeStateDir } from '../fixtures/state-dir';

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
      const health = await gatewayRequest(second.endpoints.gateway, 'api.crash.example', '/health');
      expect(JSON.parse(health.body)).toEqual({ tenantId: 'crash-shop', database: 'ok', schemaVersion: 3 });
    } finally {
      await stop(second);
    }
  });
});
