import { createServer, type IncomingMessage, type Server } from 'node:http';
import { CreateApiCommand, ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { CloudWatchClient, DeleteAlarmsCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DescribeLogGroupsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateRoleCommand, IAMClient, ListRolesCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import {
  CreateFunctionCommand,
  InvokeCommand,
  LambdaClient,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
} from '@aws-sdk/client-lambda';
import {
  CreateDBInstanceCommand,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { LocalIam } from '../../local/iam/enforcer';
import { authorizationsOf, type Authorization, type WireRequest } from '../../local/iam/operations';
import { asRole, roleOf, roleTokenPlugin } from '../../local/iam/principal';
import { allStates, localDefinitions } from '../../local/stepfunctions/asl';
import { LOCAL_ACCOUNT } from '../../local/account';

const local = { account: LOCAL_ACCOUNT, region: 'us-east-1' };
const arn = (service: string, resource: string) =>
  `arn:aws:${service}:us-east-1:${LOCAL_ACCOUNT}:${resource}`;
const boundary = `arn:aws:iam::${LOCAL_ACCOUNT}:policy/tenant-role-boundary`;
const lookups = {
  roleBoundary: () => Promise.resolve(boundary),
  runtimeRole: () => Promise.resolve(undefined),
};

/** Every request the SDK sends, as the endpoint receives it (answered 400, which the SDK reports). */
let server: Server;
let captured: { request: WireRequest; role: string | undefined }[] = [];
let endpoint = '';

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://local');
      const scope = /Credential=[^/,]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization));
      captured.push({
        role: roleOf(req),
        request: {
          service: scope?.[1] ?? '',
          method: req.method ?? '',
          path: url.pathname,
          query: url.searchParams,
          target: String(req.headers['x-amz-target'] ?? ''),
          headers: req.headers,
          body: Buffer.concat(chunks),
        },
      });
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"__type":"Captured","message":"captured"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Sendable {
  send(command: never): Promise<unknown>;
  destroy(): void;
  middlewareStack: { use(plugin: never): void };
}

/** Sends `command` with a real SDK client, as the task role `role`, and returns the request it made. */
async function sent(client: Sendable, command: unknown, role = 'SomeTaskRole') {
  captured = [];
  client.middlewareStack.use(roleTokenPlugin as never);
  await asRole(role, () => client.send(command as never)).catch(() => undefined);
  client.destroy();
  expect(captured).toHaveLength(1);
  return captured[0]!;
}

const config = () => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
});

/** Each operation the tasks call, sent by its SDK client, and what IAM authorizes for it. */
const CASES: [string, () => Sendable, unknown, Authorization[]][] = [
  [
    'CreateSecret with tags',
    () => new SecretsManagerClient(config()),
    new CreateSecretCommand({
      Name: 'tenants/acme',
      SecretString: 'x',
      Tags: [{ Key: 'tenant', Value: 'acme' }],
    }),
    [
      {
        action: 'secretsmanager:CreateSecret',
        resource: arn('secretsmanager', 'secret:tenants/acme-AbCdEf'),
        context: { 'aws:RequestTag/tenant': 'acme', 'aws:TagKeys': ['tenant'] },
      },
      { action: 'secretsmanager:TagResource', resource: arn('secretsmanager', 'secret:tenants/acme-AbCdEf') },
    ],
  ],
  [
    'GetSecretValue by ARN',
    () => new SecretsManagerClient(config()),
    new GetSecretValueCommand({ SecretId: arn('secretsmanager', 'secret:tenants/acme-x1y2z3') }),
    [
      {
        action: 'secretsmanager:GetSecretValue',
        resource: arn('secretsmanager', 'secret:tenants/acme-x1y2z3'),
      },
    ],
  ],
  [
    'CreateLogGroup',
    () => new CloudWatchLogsClient(config()),
    new CreateLogGroupCommand({ logGroupName: '/aws/lambda/tenant-acme-api' }),
    [
      {
        action: 'logs:CreateLogGroup',
        resource: arn('logs', 'log-group:/aws/lambda/tenant-acme-api'),
        context: {},
      },
    ],
  ],
  [
    'DescribeLogGroups',
    () => new CloudWatchLogsClient(config()),
    new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/tenant-acme' }),
    [{ action: 'logs:DescribeLogGroups', resource: '*' }],
  ],
  [
    'PutEvents on the platform bus',
    () => new EventBridgeClient(config()),
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: 'tenant-platform',
          Source: 'tenant.platform',
          DetailType: 'TenantActivated',
          Detail: '{}',
        },
      ],
    }),
    [
      {
        action: 'events:PutEvents',
        resource: arn('events', 'event-bus/tenant-platform'),
        context: { 'events:source': 'tenant.platform', 'events:detail-type': 'TenantActivated' },
      },
    ],
  ],
  [
    'StartExecution',
    () => new SFNClient(config()),
    new StartExecutionCommand({
      stateMachineArn: arn('states', 'stateMachine:tenant-onboarding'),
      input: '{}',
    }),
    [{ action: 'states:StartExecution', resource: arn('states', 'stateMachine:tenant-onboarding') }],
  ],
  [
    'DescribeExecution',
    () => new SFNClient(config()),
    new DescribeExecutionCommand({ executionArn: arn('states', 'execution:tenant-onboarding:e1') }),
    [{ action: 'states:DescribeExecution', resource: arn('states', 'execution:tenant-onboarding:e1') }],
  ],
  [
    'PutMetricAlarm with tags',
    () => new CloudWatchClient(config()),
    new PutMetricAlarmCommand({
      AlarmName: 'tenant-acme-errors',
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      Period: 60,
      Statistic: 'Sum',
      Tags: [{ Key: 'tenant', Value: 'acme' }],
    }),
    [
      {
        action: 'cloudwatch:PutMetricAlarm',
        resource: arn('cloudwatch', 'alarm:tenant-acme-errors'),
        context: { 'aws:RequestTag/tenant': 'acme', 'aws:TagKeys': ['tenant'] },
      },
      { action: 'cloudwatch:TagResource', resource: arn('cloudwatch', 'alarm:tenant-acme-errors') },
    ],
  ],
  [
    'DeleteAlarms',
    () => new CloudWatchClient(config()),
    new DeleteAlarmsCommand({ AlarmNames: ['tenant-acme-errors', 'tenant-acme-db-cpu'] }),
    [
      { action: 'cloudwatch:DeleteAlarms', resource: arn('cloudwatch', 'alarm:tenant-acme-errors') },
      { action: 'cloudwatch:DeleteAlarms', resource: arn('cloudwatch', 'alarm:tenant-acme-db-cpu') },
    ],
  ],
  [
    'CreateDBInstance with a managed master password',
    () => new RDSClient(config()),
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: 'tenant-acme',
      DBInstanceClass: 'db.t4g.micro',
      Engine: 'postgres',
      DBSubnetGroupName: 'tenant-dedicated',
      ManageMasterUserPassword: true,
      Tags: [{ Key: 'tenant', Value: 'acme' }],
    }),
    [
      {
        action: 'rds:CreateDBInstance',
        resource: arn('rds', 'db:tenant-acme'),
        context: { 'aws:RequestTag/tenant': 'acme', 'aws:TagKeys': ['tenant'] },
      },
      { action: 'rds:CreateDBInstance', resource: arn('rds', 'subgrp:tenant-dedicated') },
      { action: 'rds:AddTagsToResource', resource: arn('rds', 'db:tenant-acme') },
      {
        action: 'secretsmanager:CreateSecret',
        resource: arn('secretsmanager', 'secret:rds!db-00000000-0000-0000-0000-000000000000-AbCdEf'),
      },
      {
        action: 'secretsmanager:TagResource',
        resource: arn('secretsmanager', 'secret:rds!db-00000000-0000-0000-0000-000000000000-AbCdEf'),
      },
    ],
  ],
  [
    'RestoreDBInstanceFromDBSnapshot',
    () => new RDSClient(config()),
    new RestoreDBInstanceFromDBSnapshotCommand({
      DBInstanceIdentifier: 'tenant-acme',
      DBSnapshotIdentifier: 'tenant-acme-final-20261204',
      DBSubnetGroupName: 'tenant-dedicated',
    }),
    [
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: arn('rds', 'db:tenant-acme'), context: {} },
      {
        action: 'rds:RestoreDBInstanceFromDBSnapshot',
        resource: arn('rds', 'snapshot:tenant-acme-final-20261204'),
      },
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: arn('rds', 'subgrp:tenant-dedicated') },
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: arn('rds', 'pg:default.postgres17') },
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: arn('rds', 'og:default:postgres-17') },
    ],
  ],
  [
    'DeleteDBInstance with a final snapshot',
    () => new RDSClient(config()),
    new DeleteDBInstanceCommand({
      DBInstanceIdentifier: 'tenant-acme',
      FinalDBSnapshotIdentifier: 'tenant-acme-final-1',
    }),
    [
      { action: 'rds:DeleteDBInstance', resource: arn('rds', 'db:tenant-acme') },
      { action: 'rds:CreateDBSnapshot', resource: arn('rds', 'db:tenant-acme') },
      { action: 'rds:CreateDBSnapshot', resource: arn('rds', 'snapshot:tenant-acme-final-1') },
    ],
  ],
  [
    'CreateRole with a boundary',
    () => new IAMClient(config()),
    new CreateRoleCommand({
      RoleName: 'tenant-acme-api-role',
      AssumeRolePolicyDocument: '{}',
      PermissionsBoundary: boundary,
    }),
    [
      {
        action: 'iam:CreateRole',
        resource: `arn:aws:iam::${LOCAL_ACCOUNT}:role/tenant-acme-api-role`,
        context: { 'iam:PermissionsBoundary': boundary },
      },
    ],
  ],
  [
    'PutRolePolicy (conditioned on the boundary the role has)',
    () => new IAMClient(config()),
    new PutRolePolicyCommand({ RoleName: 'tenant-acme-api-role', PolicyName: 'p', PolicyDocument: '{}' }),
    [
      {
        action: 'iam:PutRolePolicy',
        resource: `arn:aws:iam::${LOCAL_ACCOUNT}:role/tenant-acme-api-role`,
        context: { 'iam:PermissionsBoundary': boundary },
      },
    ],
  ],
  [
    'CreateFunction from S3',
    () => new LambdaClient(config()),
    new CreateFunctionCommand({
      FunctionName: 'tenant-acme-api',
      Role: `arn:aws:iam::${LOCAL_ACCOUNT}:role/tenant-acme-api-role`,
      Code: { S3Bucket: 'artifacts', S3Key: 'tenant-api/1.zip' },
      Tags: { tenant: 'acme' },
    }),
    [
      {
        action: 'lambda:CreateFunction',
        resource: arn('lambda', 'function:tenant-acme-api'),
        context: { 'aws:RequestTag/tenant': 'acme', 'aws:TagKeys': ['tenant'] },
      },
      {
        action: 'iam:PassRole',
        resource: `arn:aws:iam::${LOCAL_ACCOUNT}:role/tenant-acme-api-role`,
        context: { 'iam:PassedToService': 'lambda.amazonaws.com' },
      },
      { action: 'lambda:TagResource', resource: arn('lambda', 'function:tenant-acme-api') },
      // The code is read from the platform's bucket, in its account, wherever the function is made.
      {
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::artifacts/tenant-api/1.zip',
        context: { 's3:ResourceAccount': '123456789012' },
      },
    ],
  ],
  [
    'UpdateFunctionCode from S3',
    () => new LambdaClient(config()),
    new UpdateFunctionCodeCommand({
      FunctionName: 'tenant-acme-api',
      S3Bucket: 'artifacts',
      S3Key: 'tenant-api/2.zip',
    }),
    [
      { action: 'lambda:UpdateFunctionCode', resource: arn('lambda', 'function:tenant-acme-api') },
      // The code is read from the platform's bucket, in its account, wherever the function is made.
      {
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::artifacts/tenant-api/2.zip',
        context: { 's3:ResourceAccount': '123456789012' },
      },
    ],
  ],
  [
    'UpdateAlias',
    () => new LambdaClient(config()),
    new UpdateAliasCommand({ FunctionName: 'tenant-acme-api', Name: 'live', FunctionVersion: '2' }),
    [{ action: 'lambda:UpdateAlias', resource: arn('lambda', 'function:tenant-acme-api:live') }],
  ],
  [
    'Invoke by ARN and qualifier',
    () => new LambdaClient(config()),
    new InvokeCommand({ FunctionName: arn('lambda', 'function:tenant-acme-api'), Qualifier: 'live' }),
    [{ action: 'lambda:InvokeFunction', resource: arn('lambda', 'function:tenant-acme-api:live') }],
  ],
  [
    'API Gateway v2 CreateApi',
    () => new ApiGatewayV2Client(config()),
    new CreateApiCommand({ Name: 'tenant-acme-api', ProtocolType: 'HTTP' }),
    [{ action: 'apigateway:POST', resource: 'arn:aws:apigateway:us-east-1::/apis' }],
  ],
  [
    'GetObject',
    () => new S3Client({ ...config(), forcePathStyle: true }),
    new GetObjectCommand({ Bucket: 'archive', Key: 'exports/acme/2026 dump.json' }),
    [{ action: 's3:GetObject', resource: 'arn:aws:s3:::archive/exports/acme/2026 dump.json' }],
  ],
  [
    'PutObject',
    () => new S3Client({ ...config(), forcePathStyle: true }),
    new PutObjectCommand({ Bucket: 'site', Key: 'tenants/acme/index.html', Body: 'x' }),
    [{ action: 's3:PutObject', resource: 'arn:aws:s3:::site/tenants/acme/index.html' }],
  ],
  [
    'ListObjectsV2 with a prefix',
    () => new S3Client({ ...config(), forcePathStyle: true }),
    new ListObjectsV2Command({ Bucket: 'site', Prefix: 'tenants/acme/' }),
    [{ action: 's3:ListBucket', resource: 'arn:aws:s3:::site', context: { 's3:prefix': 'tenants/acme/' } }],
  ],
  [
    'DeleteObjects: one DeleteObject per key',
    () => new S3Client({ ...config(), forcePathStyle: true }),
    new DeleteObjectsCommand({
      Bucket: 'site',
      Delete: { Objects: [{ Key: 'tenants/acme/a&b.js' }, { Key: 'tenants/acme/index.html' }] },
    }),
    [
      { action: 's3:DeleteObject', resource: 'arn:aws:s3:::site/tenants/acme/a&b.js' },
      { action: 's3:DeleteObject', resource: 'arn:aws:s3:::site/tenants/acme/index.html' },
    ],
  ],
  [
    'GetServiceQuota',
    () => new ServiceQuotasClient(config()),
    new GetServiceQuotaCommand({ ServiceCode: 'rds', QuotaCode: 'L-7B6409FD' }),
    [
      {
        action: 'servicequotas:GetServiceQuota',
        resource: arn('servicequotas', 'rds/L-7B6409FD'),
        context: { 'servicequotas:service': 'rds' },
      },
    ],
  ],
  [
    'ListRoles: every role of the account',
    () => new IAMClient(config()),
    new ListRolesCommand({}),
    [{ action: 'iam:ListRoles', resource: '*' }],
  ],
  [
    'DescribeDBInstances: every instance of the region',
    () => new RDSClient(config()),
    new DescribeDBInstancesCommand({}),
    [{ action: 'rds:DescribeDBInstances', resource: arn('rds', 'db:*') }],
  ],
  [
    'CreateInvalidation',
    () => new CloudFrontClient(config()),
    new CreateInvalidationCommand({
      DistributionId: 'E123',
      InvalidationBatch: { CallerReference: 'r', Paths: { Quantity: 1, Items: ['/tenants/acme/*'] } },
    }),
    [
      {
        action: 'cloudfront:CreateInvalidation',
        resource: `arn:aws:cloudfront::${LOCAL_ACCOUNT}:distribution/E123`,
      },
    ],
  ],
];

describe('the local IAM check: what AWS authorizes for each operation the tasks call', () => {
  it.each(CASES)('%s', async (_name, client, command, expected) => {
    const { request, role } = await sent(client(), command);
    expect(role).toBe('SomeTaskRole');
    expect(await authorizationsOf(request, local, lookups)).toEqual(expected);
  });

  it('evaluates every one against iam-data: an allow-all role passes each, an empty role is refused the first', async () => {
    const everything = {
      name: 'Admin',
      policies: [
        {
          name: 'all',
          document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
        },
      ],
    };
    const nothing = { name: 'Nobody', policies: [] };
    const iam = new LocalIam([everything, nothing], local, () => lookups);
    for (const [name, client, command, expected] of CASES) {
      const { request } = await sent(client(), command);
      expect([name, await iam.authorize('Admin', request)]).toEqual([name, undefined]);
      const denial = await iam.authorize('Nobody', request);
      expect([name, denial?.authorization]).toEqual([name, expected[0]]);
      expect(denial?.message).toContain(
        `is not authorized to perform: ${expected[0]!.action} on resource: ${expected[0]!.resource}`,
      );
    }
  });

  it("a request without a role token is the operator's: it names no role", async () => {
    captured = [];
    const client = new SFNClient(config());
    client.middlewareStack.use(roleTokenPlugin);
    await client
      .send(new DescribeExecutionCommand({ executionArn: arn('states', 'execution:x:y') }))
      .catch(() => undefined);
    client.destroy();
    expect(captured.map((c) => c.role)).toEqual([undefined]);
  });
});

describe('findings of the synthesized policies, shown by the check', () => {
  const definitions = localDefinitions();
  const roleOfState = (stateName: string, definition: 'offboarding' | 'onboarding') => {
    const resource = allStates(definitions[definition]).get(stateName)?.Resource;
    if (typeof resource !== 'string') throw new Error(`${stateName} is not a Task state`);
    const role = definitions.roles.get(resource.split(':function:')[1] ?? '');
    if (!role) throw new Error(`no role for ${stateName}`);
    return role;
  };
  /** A role with one inline policy allowing each of `statements`: what a role's grants were before a fix. */
  const roleAllowing = (name: string, ...statements: { Action: string | string[]; Resource: string }[]) => ({
    name,
    policies: [
      {
        name: 'before',
        document: {
          Version: '2012-10-17',
          Statement: statements.map((statement) => ({ Effect: 'Allow', ...statement })),
        },
      },
    ],
  });

  it("a dedicated tenant's final snapshot: CreateDBSnapshot was granted on the snapshot only; the db is required too", async () => {
    const removeDatabase = roleOfState('Remove database', 'offboarding');
    const { request } = await sent(
      new RDSClient(config()),
      new DeleteDBInstanceCommand({
        DBInstanceIdentifier: 'tenant-acme',
        FinalDBSnapshotIdentifier: 'tenant-acme-final-1',
      }),
    );
    const before = roleAllowing(
      'RemoveDatabaseBefore',
      { Action: ['rds:DescribeDBInstances', 'rds:DeleteDBInstance'], Resource: arn('rds', 'db:tenant-*') },
      { Action: ['rds:CreateDBSnapshot'], Resource: arn('rds', 'snapshot:tenant-*') },
    );
    const iam = new LocalIam([before, removeDatabase], local, () => lookups);
    expect((await iam.authorize(before.name, request))?.message).toMatch(
      /not authorized to perform: rds:CreateDBSnapshot on resource: arn:aws:rds:us-east-1:\d+:db:tenant-acme /,
    );
    expect(await iam.authorize(removeDatabase.name, request)).toBeUndefined();
  });

  it('DescribeLogGroups has no resource-level permissions: a grant on log-group:* does not allow it', async () => {
    const { request } = await sent(
      new CloudWatchLogsClient(config()),
      new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/tenant-a' }),
    );
    const before = roleAllowing('DeployFunctionBefore', {
      Action: 'logs:DescribeLogGroups',
      Resource: arn('logs', 'log-group:*'),
    });
    const deployFunction = roleOfState('Deploy function', 'onboarding');
    const iam = new LocalIam([before, deployFunction], local, () => lookups);
    expect((await iam.authorize(before.name, request))?.message).toContain(
      'is not authorized to perform: logs:DescribeLogGroups on resource: *',
    );
    expect(await iam.authorize(deployFunction.name, request)).toBeUndefined();
  });

  it("listing every RDS instance takes a grant on all of them: one on db:tenant-* does not allow it, placement's does", async () => {
    const { request } = await sent(new RDSClient(config()), new DescribeDBInstancesCommand({}));
    const tenantsOnly = roleAllowing('TenantInstancesOnly', {
      Action: 'rds:DescribeDBInstances',
      Resource: arn('rds', 'db:tenant-*'),
    });
    const registerTenant = roleOfState('Register tenant', 'onboarding');
    const iam = new LocalIam([tenantsOnly, registerTenant], local, () => lookups);
    expect((await iam.authorize(tenantsOnly.name, request))?.message).toContain(
      `is not authorized to perform: rds:DescribeDBInstances on resource: ${arn('rds', 'db:*')}`,
    );
    expect(await iam.authorize(registerTenant.name, request)).toBeUndefined();
  });

  it('a tenant role may only be created with the boundary: without it, CreateRole is refused', async () => {
    const deployFunction = roleOfState('Deploy function', 'onboarding');
    const iam = new LocalIam([deployFunction], local, () => lookups);
    const without = await sent(
      new IAMClient(config()),
      new CreateRoleCommand({ RoleName: 'tenant-acme-api-role', AssumeRolePolicyDocument: '{}' }),
    );
    expect((await iam.authorize(deployFunction.name, without.request))?.message).toContain('iam:CreateRole');
    const bounded = await sent(
      new IAMClient(config()),
      new CreateRoleCommand({
        RoleName: 'tenant-acme-api-role',
        AssumeRolePolicyDocument: '{}',
        PermissionsBoundary: boundary,
      }),
    );
    expect(await iam.authorize(deployFunction.name, bounded.request)).toBeUndefined();
  });
});
