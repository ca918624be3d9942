import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateDBInstanceCommand,
  DeleteDBInstanceCommand,
  DescribeDBSnapshotsCommand,
  DescribeDBInstancesCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { Client } from 'pg';
import { STEPS } from '../../common/steps';
import { tenantResourceNames } from '../../common/names';
import type { Fault } from '../../local/tasks/faults';
import { waitFor } from '../../local/processes/ports';
import { startLocalServices, type LocalServices } from '../../cli/services';
import type { TenantSecret } from '../../common/tenant-secret';
import { adminClient, footprint, nothingOf, tenantInput } from '../fixtures/platform';
import { awsCli, instanceServers, tenantctl } from '../fixtures/processes';
import { makeStateDir } from '../fixtures/state-dir';
import { tenantApiRequest } from '../fixtures/tenant-api';

// Every step after "Create database" fails once after doing its work, for a dedicated tenant of its own.
const AFTER_CREATE = [
  'check-instance',
  ...STEPS.map((s) => s.id).slice(STEPS.findIndex((s) => s.id === 'create-database') + 1),
];
const faultCases = AFTER_CREATE.map((step) => ({ step, tenantId: `ded-${step}`.slice(0, 32) }));
const faults: Fault[] = faultCases.map(({ step, tenantId }) => ({
  tenantId,
  step,
  kind: 'after-effect',
  times: 1,
}));
const domainOf = (tenantId: string) => `${tenantId}.example.com`;

let stateDir: string;
let services: LocalServices;
let endpoint: string;

beforeAll(async () => {
  stateDir = await makeStateDir('dedicated');
  services = await startLocalServices({ stateDir, port: 0, gatewayPort: 0, faults });
  endpoint = services.endpoints.aws;
});

afterAll(async () => {
  await services?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

interface Described {
  status?: string;
  error?: string;
}

/** StartExecution through the aws CLI at the one endpoint, then DescribeExecution until it ends. */
async function onboardWithCli(name: string, input: Record<string, unknown>): Promise<Described> {
  const { stateMachineArn } = services.endpoints;
  const { executionArn } = (await awsCli(endpoint, [
    'stepfunctions',
    'start-execution',
    '--state-machine-arn',
    stateMachineArn,
    '--name',
    name,
    '--input',
    JSON.stringify(input),
  ])) as { executionArn: string };
  let described: Described = {};
  await waitFor(
    `${name} to end`,
    async () => {
      described = (await awsCli(endpoint, [
        'stepfunctions',
        'describe-execution',
        '--execution-arn',
        executionArn,
      ])) as Described;
      return described.status !== 'RUNNING';
    },
    120_000,
  );
  return described;
}

async function tenantSecret(tenantId: string): Promise<TenantSecret> {
  const { SecretString } = (await awsCli(endpoint, [
    'secretsmanager',
    'get-secret-value',
    '--secret-id',
    tenantResourceNames(tenantId).secretName,
  ])) as { SecretString: string };
  return JSON.parse(SecretString) as TenantSecret;
}

/** Connects and runs `SELECT current_database()`; resolves to the error's code when it is refused. */
async function tryConnect(config: {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}) {
  const client = new Client({ ...config, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    return (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db;
  } catch (error) {
    return `refused: ${(error as { code?: string }).code ?? (error as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function psql(url: string, sql: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('psql', [url, '-tAc', sql], (error, stdout, stderr) =>
      error ? reject(new Error(`psql: ${stderr}`)) : resolve(stdout.trim()),
    ),
  );
}

describe('a dedicated-tier tenant on the local platform', () => {
  const tenantId = 'ded-live';
  let instance: {
    DBInstanceStatus: string;
    Endpoint: { Address: string; Port: number };
    MasterUsername: string;
    MasterUserSecret: { SecretArn: string };
  };

  let onboarded: Described;

  beforeAll(async () => {
    onboarded = await onboardWithCli(`onboard-${tenantId}`, tenantInput(tenantId, { tier: 'dedicated' }));
    const { DBInstances } = (await awsCli(endpoint, [
      'rds',
      'describe-db-instances',
      '--db-instance-identifier',
      tenantResourceNames(tenantId).instanceId,
    ])) as { DBInstances: (typeof instance)[] };
    instance = DBInstances[0]!;
  });

  it('has its own instance, available on 127.0.0.1, where psql signs in with the managed secret', async () => {
    expect(onboarded).toMatchObject({ status: 'SUCCEEDED' });
    expect(instance.DBInstanceStatus).toBe('available');
    expect(instance.Endpoint.Address).toBe('127.0.0.1');
    expect(instance.Endpoint.Port).not.toBe(services.platform.postgres.port);
    const { SecretString } = (await awsCli(endpoint, [
      'secretsmanager',
      'get-secret-value',
      '--secret-id',
      instance.MasterUserSecret.SecretArn,
    ])) as { SecretString: string };
    const master = JSON.parse(SecretString) as { username: string; password: string };
    expect(master.username).toBe(instance.MasterUsername);
    const url = `postgresql://${master.username}:${encodeURIComponent(master.password)}@127.0.0.1:${instance.Endpoint.Port}/postgres`;
    expect(await psql(url, "SELECT datname FROM pg_database WHERE datname = 'ded_live'")).toBe('ded_live');
  });

  it('answers /health from its own instance, and the shared instance holds no database of it', async () => {
    const health = await tenantApiRequest(services.endpoints.gateway, `api.${tenantId}.localhost`, '/health');
    expect([health.status, JSON.parse(health.body)]).toEqual([
      200,
      { tenantId, database: 'ok', schemaVersion: 3, suspended: false },
    ]);
    const secret = await tenantSecret(tenantId);
    expect([secret.host, secret.port]).toEqual(['127.0.0.1', instance.Endpoint.Port]);
    const admin = await adminClient(services.platform);
    try {
      const onShared = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', ['ded_live']);
      expect(onShared.rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });

  it('answers aws lambda invoke at the one endpoint with its deployed code, and a missing function is a 404', async () => {
    const out = join(stateDir, 'invoke.json');
    // fileb:// is read as raw bytes by the aws CLI v1 and v2 alike (v2 takes an inline payload as base64).
    const event = join(stateDir, 'event.json');
    await writeFile(
      event,
      JSON.stringify({
        version: '2.0',
        rawPath: '/health',
        requestContext: { http: { method: 'GET', path: '/health' } },
      }),
    );
    const invoked = (await awsCli(endpoint, [
      'lambda',
      'invoke',
      '--function-name',
      tenantResourceNames(tenantId).functionName,
      '--payload',
      `fileb://${event}`,
      out,
    ])) as { StatusCode: number; FunctionError?: string };
    expect(invoked).toMatchObject({ StatusCode: 200 });
    expect(invoked.FunctionError).toBeUndefined();
    const answer = JSON.parse(await readFile(out, 'utf8')) as { statusCode: number; body: string };
    expect([answer.statusCode, JSON.parse(answer.body)]).toEqual([
      200,
      { tenantId, database: 'ok', schemaVersion: 3, suspended: false },
    ]);
    await expect(
      awsCli(endpoint, ['lambda', 'invoke', '--function-name', 'tenant-nobody-api', out]),
    ).rejects.toThrow(/ResourceNotFoundException.*Function not found: tenant-nobody-api/);
  });

  it('is isolated across tiers: neither tenant can sign in to the other one’s instance', async () => {
    const shared = 'ded-shared-peer';
    expect(await onboardWithCli(`onboard-${shared}`, tenantInput(shared))).toMatchObject({
      status: 'SUCCEEDED',
    });
    const sharedSecret = await tenantSecret(shared);
    const dedicatedSecret = await tenantSecret(tenantId);
    const as = (s: TenantSecret) => ({ user: s.username, password: s.password, database: s.dbname });
    // Each connects to its own ...
    expect(await tryConnect({ ...as(sharedSecret), host: sharedSecret.host, port: sharedSecret.port })).toBe(
      'ded_shared_peer',
    );
    expect(
      await tryConnect({ ...as(dedicatedSecret), host: dedicatedSecret.host, port: dedicatedSecret.port }),
    ).toBe('ded_live');
    // ... and to nothing of the other tier's.
    const onDedicated = await tryConnect({
      ...as(sharedSecret),
      host: '127.0.0.1',
      port: instance.Endpoint.Port,
    });
    const onShared = await tryConnect({
      ...as(dedicatedSecret),
      host: '127.0.0.1',
      port: services.platform.postgres.port,
    });
    expect([onDedicated, onShared]).toEqual(['refused: 28P01', 'refused: 28P01']);
  });
});

describe('a dedicated tenant whose onboarding fails after "Create database"', () => {
  it.each(faultCases)(
    'in $step: no instance, no secret and no PostgreSQL server of it remain',
    async ({ tenantId }) => {
      const described = await onboardWithCli(
        `onboard-${tenantId}`,
        tenantInput(tenantId, { tier: 'dedicated', domain: domainOf(tenantId) }),
      );
      expect(described).toMatchObject({ status: 'FAILED', error: 'InjectedFault' });
      expect(await footprint(services.platform, tenantId, domainOf(tenantId))).toEqual(
        nothingOf('ROLLED_BACK'),
      );
      expect(instanceServers(stateDir, tenantId)).toEqual([]);
    },
  );

  it('leaves no managed master secret of a deleted instance', async () => {
    const { DBInstances } = (await awsCli(endpoint, ['rds', 'describe-db-instances'])) as {
      DBInstances: { MasterUserSecret: { SecretArn: string } }[];
    };
    const { SecretList } = (await awsCli(endpoint, ['secretsmanager', 'list-secrets'])) as {
      SecretList: { ARN: string; Name: string }[];
    };
    expect(
      SecretList.filter((s) => s.Name.startsWith('rds!'))
        .map((s) => s.ARN)
        .sort(),
    ).toEqual(DBInstances.map((i) => i.MasterUserSecret.SecretArn).sort());
  });
});

describe('the tenants’ own alarms', () => {
  it('are listed by aws cloudwatch describe-alarms for each live tenant, and none for a rolled-back one', async () => {
    const { MetricAlarms } = (await awsCli(endpoint, ['cloudwatch', 'describe-alarms'])) as {
      MetricAlarms: { AlarmName: string; AlarmActions: string[]; Namespace: string }[];
    };
    const tenantAlarms = MetricAlarms.filter((a) => a.AlarmName.startsWith('tenant-'));
    expect(tenantAlarms.map((a) => [a.AlarmName, a.Namespace]).sort()).toEqual([
      ['tenant-ded-live-api-errors', 'AWS/Lambda'],
      ['tenant-ded-live-db-cpu', 'AWS/RDS'],
      ['tenant-ded-shared-peer-api-errors', 'AWS/Lambda'],
    ]);
    const topic = services.platform.environment.ALARM_TOPIC_ARN;
    expect(tenantAlarms.map((a) => a.AlarmActions)).toEqual(tenantAlarms.map(() => [topic]));
  });
});

describe('tenantctl --aws against the local endpoint, as with an AWS account', () => {
  // The normal credential chain and the TenantPlatform stack's outputs: only the endpoint is local.
  const env = () => ({
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'any',
    AWS_SECRET_ACCESS_KEY: 'any',
  });

  it('onboards, lists executions and reads the admin credentials', async () => {
    const tenantId = 'ded-aws-cli';
    const file = join(stateDir, `${tenantId}.json`);
    await writeFile(file, JSON.stringify(tenantInput(tenantId)));
    const onboarded = await tenantctl(['onboard', file, '--aws', '--json'], { env: env() });
    expect([onboarded.code, onboarded.stderr]).toEqual([0, '']);
    expect(JSON.parse(onboarded.stdout)).toMatchObject({
      status: 'SUCCEEDED',
      executionArn: `${services.endpoints.stateMachineArn.replace(':stateMachine:', ':execution:')}:onboard-${tenantId}`,
    });

    const executions = await tenantctl(['executions', '--aws', '--json'], { env: env() });
    expect(executions.code).toBe(0);
    expect(JSON.parse(executions.stdout)).toContainEqual(
      expect.objectContaining({ name: `onboard-${tenantId}`, status: 'SUCCEEDED' }),
    );

    const credentials = await tenantctl(['admin-credentials', tenantId, '--aws', '--json'], { env: env() });
    expect(credentials.code).toBe(0);
    const { email, password } = JSON.parse(credentials.stdout) as { email: string; password: string };
    expect(email).toBe(`admin@${tenantId}.example`);
    const login = await tenantApiRequest(
      services.endpoints.gateway,
      `api.${tenantId}.localhost`,
      '/auth/login',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      },
    );
    expect(login.status).toBe(200);
  });
});

describe('RDS at the one endpoint', () => {
  const rds = () =>
    new RDSClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
    });

  it('creates an instance with a given master password, and deletes it keeping a final snapshot', async () => {
    const client = rds();
    const DBInstanceIdentifier = 'plain-instance';
    try {
      const created = await client.send(
        new CreateDBInstanceCommand({
          DBInstanceIdentifier,
          DBInstanceClass: 'db.t4g.micro',
          Engine: 'postgres',
          MasterUsername: 'owner',
          MasterUserPassword: 'given-Passw0rd',
          DBName: 'appdb',
        }),
      );
      expect(created.DBInstance).toMatchObject({ DBInstanceIdentifier, DBInstanceStatus: 'creating' });
      let port = 0;
      await waitFor(
        'the instance to be available',
        async () => {
          const [instance] = (await client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier })))
            .DBInstances!;
          port = instance?.Endpoint?.Port ?? 0;
          return instance?.DBInstanceStatus === 'available';
        },
        60_000,
      );
      const owner = { host: '127.0.0.1', port, user: 'owner', password: 'given-Passw0rd', database: 'appdb' };
      expect(await tryConnect(owner)).toBe('appdb');
      await expect(client.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier }))).rejects.toMatchObject({
        name: 'InvalidParameterCombination',
      });
      const deleted = await client.send(
        new DeleteDBInstanceCommand({ DBInstanceIdentifier, FinalDBSnapshotIdentifier: 'plain-final' }),
      );
      expect(deleted.DBInstance?.DBInstanceStatus).toBe('deleting');
      await expect(
        client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier })),
      ).rejects.toMatchObject({
        name: 'DBInstanceNotFoundFault',
      });
      expect(await tryConnect(owner)).toMatch(/^refused: /);
      expect(existsSync(join(stateDir, 'rds-snapshots', 'plain-final', 'PG_VERSION'))).toBe(true);
      // The snapshot kept is one the RDS API finds, by its name and by its instance.
      const { DBSnapshots } = await client.send(
        new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'plain-final' }),
      );
      expect(DBSnapshots).toEqual([
        expect.objectContaining({
          DBSnapshotIdentifier: 'plain-final',
          DBInstanceIdentifier,
          Status: 'available',
          Engine: 'postgres',
        }),
      ]);
      const byInstance = await client.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier }));
      expect(byInstance.DBSnapshots?.map((x) => x.DBSnapshotIdentifier)).toEqual(['plain-final']);
      await expect(
        client.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'no-such-snapshot' })),
      ).rejects.toMatchObject({ name: 'DBSnapshotNotFoundFault' });
      expect(existsSync(join(stateDir, 'rds', DBInstanceIdentifier))).toBe(false);
    } finally {
      client.destroy();
    }
  });

  it('refuses bad requests by name, creating nothing', async () => {
    const client = rds();
    const base = {
      DBInstanceClass: 'db.t4g.micro',
      MasterUsername: 'owner',
      MasterUserPassword: 'x-Passw0rd',
    };
    try {
      const refused = (input: Record<string, unknown>) =>
        client.send(new CreateDBInstanceCommand({ ...base, ...input } as never)).then(
          () => 'created',
          (error: Error) => error.name,
        );
      expect(await refused({ DBInstanceIdentifier: '../../etc', Engine: 'postgres' })).toBe(
        'InvalidParameterValue',
      );
      expect(await refused({ DBInstanceIdentifier: 'my-sql', Engine: 'mysql' })).toBe(
        'InvalidParameterValue',
      );
      expect(
        await refused({
          DBInstanceIdentifier: 'bad-user',
          Engine: 'postgres',
          MasterUsername: '--superuser',
        }),
      ).toBe('InvalidParameterValue');
      expect(
        await refused({
          DBInstanceIdentifier: 'bad-db',
          Engine: 'postgres',
          DBName: 'x"; DROP DATABASE y; --',
        }),
      ).toBe('InvalidParameterValue');
      expect(
        await refused({ DBInstanceIdentifier: 'bad-pw', Engine: 'postgres', MasterUserPassword: 'short' }),
      ).toBe('InvalidParameterValue');
      expect(
        await refused({
          DBInstanceIdentifier: 'no-password',
          Engine: 'postgres',
          MasterUserPassword: undefined,
        }),
      ).toBe('InvalidParameterCombination');
      expect(await refused({ DBInstanceIdentifier: 'twice', Engine: 'postgres' })).toBe('created');
      expect(await refused({ DBInstanceIdentifier: 'twice', Engine: 'postgres' })).toBe(
        'DBInstanceAlreadyExistsFault',
      );
      await client.send(
        new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'twice', SkipFinalSnapshot: true }),
      );
      const { DBInstances = [] } = await client.send(new DescribeDBInstancesCommand({}));
      expect(DBInstances.map((i) => i.DBInstanceIdentifier)).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/etc|my-sql|no-password|bad-/)]),
      );
    } finally {
      client.destroy();
    }
  });
});
