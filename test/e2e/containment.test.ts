import { rm } from 'node:fs/promises';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Client } from 'pg';
import { tenantResourceNames } from '../../common/names';
import type { Endpoints } from '../../cli/services';
import { waitFor } from '../../local/processes/ports';
import { TASK_CRASHED } from '../../local/tasks/containment';
import type { Fault } from '../../local/tasks/faults';
import { tenantInput } from '../fixtures/platform';
import { alive, stop, tenantctl, up, type Up } from '../fixtures/processes';
import { makeStateDir } from '../fixtures/state-dir';
import { tenantApiRequest } from '../fixtures/tenant-api';

// A crash is an uncaught exception: a stream whose read throws, nobody listening for its 'error' event,
// inside a task handler. Jest catches uncaught exceptions of its own process itself, so the platform runs
// as a user runs it: `tenantctl up`, in a process of its own.
const faults: Fault[] = [
  { tenantId: 'crash-schema', step: 'apply-schema', kind: 'crash', times: 1 },
  { tenantId: 'crash-publish', step: 'publish-frontend', kind: 'crash', times: 1 },
];
const credentials = { accessKeyId: 'any', secretAccessKey: 'any' };

let stateDir: string;
let platform: Up;
let sfn: SFNClient;

beforeAll(async () => {
  stateDir = await makeStateDir('containment');
  platform = await up(
    stateDir,
    { TENANTCTL_FAULTS: JSON.stringify(faults) },
    { args: ['--gateway-port', '0'] },
  );
  sfn = new SFNClient({
    endpoint: platform.endpoints.stepFunctions,
    region: platform.endpoints.region,
    credentials,
  });
});

afterAll(async () => {
  sfn?.destroy();
  if (platform) await stop(platform);
  await rm(stateDir, { recursive: true, force: true });
});

/** Starts an onboarding through the Step Functions API and resolves to how it ended. */
async function onboard(
  endpoints: Endpoints,
  tenantId: string,
  name = `onboard-${tenantId}`,
): Promise<{ status?: string; error?: string; cause?: string }> {
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: endpoints.stateMachineArn,
      name,
      input: JSON.stringify(tenantInput(tenantId)),
    }),
  );
  let ended: { status?: string; error?: string; cause?: string } = {};
  await waitFor(
    `${name} to end`,
    async () => {
      ended = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return ended.status !== 'RUNNING';
    },
    120_000,
  );
  return ended;
}

async function registryStatus(tenantId: string): Promise<unknown> {
  const { stdout } = await tenantctl(['tenants', '--json', '--state-dir', stateDir]);
  return (JSON.parse(stdout) as { tenantId: string; status: string }[]).find((t) => t.tenantId === tenantId)
    ?.status;
}

async function databaseExists(endpoints: Endpoints, tenantId: string): Promise<boolean> {
  const client = new Client({ connectionString: endpoints.postgres });
  await client.connect();
  try {
    const { database } = tenantResourceNames(tenantId);
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1;
  } finally {
    await client.end();
  }
}

async function secretExists(endpoints: Endpoints, tenantId: string): Promise<boolean> {
  const secrets = new SecretsManagerClient({
    endpoint: endpoints.aws,
    region: endpoints.region,
    credentials,
  });
  try {
    await secrets.send(new DescribeSecretCommand({ SecretId: tenantResourceNames(tenantId).secretName }));
    return true;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return false;
    throw error;
  } finally {
    secrets.destroy();
  }
}

const health = (tenantId: string) =>
  tenantApiRequest(platform.endpoints.gateway, `api.${tenantId}.localhost`, '/health').then((r) => r.status);

describe('a task handler that crashes', () => {
  it('fails only its own invocation: the onboarding rolls back, the platform and other tenants keep running', async () => {
    const { endpoints } = platform;
    expect((await onboard(endpoints, 'crash-bystander')).status).toBe('SUCCEEDED');

    const crashed = await onboard(endpoints, 'crash-schema');

    expect({ status: crashed.status, error: crashed.error }).toEqual({
      status: 'FAILED',
      error: TASK_CRASHED,
    });
    expect(crashed.cause).toContain('injected crash fault in apply-schema: thrown from a stream callback');
    expect(await registryStatus('crash-schema')).toBe('ROLLED_BACK');
    expect(await databaseExists(endpoints, 'crash-schema')).toBe(false);
    expect(await secretExists(endpoints, 'crash-schema')).toBe(false);
    // The process, its engine, its gateway and the other tenant's API are all still there.
    expect(alive(platform.process.pid!)).toBe(true);
    expect(await health('crash-bystander')).toBe(200);
    expect(platform.output()).toContain('task "Apply schema" crashed (uncaught exception)');
  });

  it('a crash in the web branch is compensated too, and onboarding that tenant again succeeds', async () => {
    const { endpoints } = platform;
    const crashed = await onboard(endpoints, 'crash-publish');
    expect({ status: crashed.status, error: crashed.error }).toEqual({
      status: 'FAILED',
      error: TASK_CRASHED,
    });
    expect(await registryStatus('crash-publish')).toBe('ROLLED_BACK');
    expect(await databaseExists(endpoints, 'crash-publish')).toBe(false);

    expect((await onboard(endpoints, 'crash-publish', 'onboard-crash-publish-2')).status).toBe('SUCCEEDED');
    expect(await health('crash-publish')).toBe(200);
    expect(await health('crash-bystander')).toBe(200);
  });
});
