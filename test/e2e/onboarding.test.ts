import { GetRoutesCommand, GetStagesCommand } from '@aws-sdk/client-apigatewayv2';
import { ListInvalidationsCommand } from '@aws-sdk/client-cloudfront';
import { DescribeLogGroupsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import { LocalPlatformNames } from '../../common/names';
import type { ExecutionRecord, LocalPlatform } from '../../local/platform';
import { aws } from '../../workflow-tasks/lib/aws';
import { getTenant } from '../../workflow-tasks/records/registry';
import type { StepResults } from '../../workflow-tasks/lib/types';
import { apiEvent } from '../fixtures/events';
import { LOCAL_ROUTING_ENDPOINT } from '../../local/cloudfront/saas-manager';
import { INJECTED_FAULT } from '../../local/tasks/faults';
import {
  footprint,
  nothingOf,
  settledDomain,
  startTestPlatform,
  tenantInput,
  uniqueTenantId,
} from '../fixtures/platform';

let platform: LocalPlatform;
let cleanup: () => Promise<void>;

/** Fails at "Attach domain", once it has started the domain's workflow. */
const LATE_FAILURE = 'late-failure';

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform({
    faults: [{ tenantId: LATE_FAILURE, step: 'attach-domain', kind: 'after-effect', times: 1 }],
  }));
});

afterAll(async () => {
  await cleanup();
});

interface TenantSecret {
  host: string;
  port: number;
  dbname: string;
  username: string;
  password: string;
}

async function tenantSecret(secretArn: string): Promise<TenantSecret> {
  const out = await aws().secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
  return JSON.parse(out.SecretString ?? '{}') as TenantSecret;
}

/** Names of the states an execution entered, in order, from its history. */
function entered(record: ExecutionRecord): string[] {
  return record.events
    .filter((e) => e.type.endsWith('StateEntered'))
    .map((e) => e.stateEnteredEventDetails?.name ?? '');
}

function resultsOf(output: unknown): StepResults {
  return (output as { results: StepResults }).results;
}

describe('onboarding a tenant on the local platform', () => {
  const tenantId = uniqueTenantId('full');
  const domain = `${tenantId}.example.com`;
  let results: StepResults;
  let executionJson: string;

  beforeAll(async () => {
    const record = await platform.runExecution(tenantInput(tenantId, { domain }));
    if (record.status !== 'SUCCEEDED')
      throw new Error(`onboarding ${record.status}: ${record.error} ${record.cause}`);
    results = resultsOf(record.output);
    executionJson = JSON.stringify({ output: record.output, events: record.events });
  });

  it('creates the database with the shop schema and the admin user, owned by the tenant role', async () => {
    const secret = await tenantSecret(results.secret.secretArn);
    const client = new Client({
      host: secret.host,
      port: secret.port,
      database: secret.dbname,
      user: secret.username,
      password: secret.password,
    });
    await client.connect();
    try {
      const tables = await client.query<{ tablename: string; tableowner: string }>(
        `SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
      );
      expect(tables.rows).toEqual(
        ['order_lines', 'orders', 'products', 'schema_migrations', 'users'].map((tablename) => ({
          tablename,
          tableowner: results.database.role,
        })),
      );
      const admins = await client.query('SELECT email, role FROM users');
      expect(admins.rows).toEqual([{ email: `admin@${tenantId}.example`, role: 'admin' }]);
    } finally {
      await client.end();
    }
    expect(results.database).toMatchObject({
      database: tenantId.replace(/-/g, '_'),
      role: tenantId.replace(/-/g, '_'),
    });
  });

  it('stores the credentials only in Secrets Manager, tagged for the tenant', async () => {
    const secret = await tenantSecret(results.secret.secretArn);
    expect(secret.password.length).toBeGreaterThanOrEqual(40);
    const described = await aws().secrets.send(
      new DescribeSecretCommand({ SecretId: results.secret.secretArn }),
    );
    expect(described.Name).toBe(`tenants/${tenantId}/credentials`);
    expect(described.Tags).toEqual(expect.arrayContaining([{ Key: 'tenant', Value: tenantId }]));
    expect(executionJson).not.toContain(secret.password);
    const fn = await aws().lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: results.function.functionName }),
    );
    expect(JSON.stringify(fn)).not.toContain(secret.password);
  });

  it("gives the function a log group with the platform's retention, tagged for the tenant", async () => {
    const name = `/aws/lambda/${results.function.functionName}`;
    const { logGroups = [] } = await aws().logs.send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: name }),
    );
    expect(logGroups.map((g) => [g.logGroupName, g.retentionInDays])).toEqual([[name, 7]]);
    const arn = (logGroups[0]?.logGroupArn ?? logGroups[0]?.arn ?? '').replace(/:\*$/, '');
    const { tags } = await aws().logs.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    expect(tags).toMatchObject({ tenant: tenantId });
  });

  it('deploys the function with TENANT_ID and the secret ARN, behind an HTTP API with a $default route', async () => {
    const fn = await aws().lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: `tenant-${tenantId}-api` }),
    );
    expect(fn.Environment?.Variables).toEqual({
      TENANT_ID: tenantId,
      TENANT_SECRET_ARN: results.secret.secretArn,
    });
    const routes = await aws().apigw.send(new GetRoutesCommand({ ApiId: results.function.apiId }));
    expect(routes.Items?.map((r) => r.RouteKey)).toEqual(['$default']);
    const stages = await aws().apigw.send(new GetStagesCommand({ ApiId: results.function.apiId }));
    expect(stages.Items?.map((s) => s.StageName)).toEqual(['$default']);
  });

  it("starts the domain's own workflow and returns the records the customer adds", async () => {
    expect(results.domain).toEqual({
      skipped: false,
      domain,
      executionArn: expect.stringContaining(`:execution:tenant-domain:domain-${tenantId}-attach-`) as string,
      records: [
        expect.objectContaining({ name: domain, type: 'CNAME', value: LOCAL_ROUTING_ENDPOINT }),
        { name: `www.${domain}`, type: 'CNAME', value: LOCAL_ROUTING_ENDPOINT },
        { name: `api.${domain}`, type: 'CNAME', value: LOCAL_ROUTING_ENDPOINT },
      ],
    });
    // It claims the domain for the tenant and requests its certificates, in the background.
    expect(await settledDomain(tenantId, domain)).toMatchObject({ status: 'PENDING_VALIDATION' });
  });

  it('publishes the frontend and a config.json naming the tenant API', async () => {
    expect(results.frontend.files).toEqual(['app.js', 'index.html', 'style.css']);
    const config = await aws().s3.send(
      new GetObjectCommand({ Bucket: LocalPlatformNames.siteBucket, Key: `tenants/${tenantId}/config.json` }),
    );
    expect(JSON.parse(await config.Body!.transformToString())).toEqual({
      tenantId,
      companyName: `Company ${tenantId}`,
      apiUrl: results.function.apiEndpoint,
    });
  });

  it('invalidates the tenant paths on the distribution', async () => {
    const list = await aws().cloudfront.send(
      new ListInvalidationsCommand({ DistributionId: platform.environment.DISTRIBUTION_ID }),
    );
    expect(list.InvalidationList?.Items?.map((i) => i.Id)).toContain(results.invalidation.invalidationId);
    expect(results.invalidation.paths).toEqual([`/tenants/${tenantId}/*`]);
  });

  it('marks the tenant ACTIVE in the registry with its resource ids', async () => {
    const tenant = await getTenant(tenantId);
    expect(tenant).toMatchObject({ status: 'ACTIVE', tier: 'shared', domain });
    expect(tenant?.resources).toMatchObject({
      secretArn: results.secret.secretArn,
      functionArn: results.function.functionArn,
      apiId: results.function.apiId,
      domain,
    });
  });

  it('answers GET /health through the deployed function, from its own database', async () => {
    const response = (await platform.functions.invoke(
      results.function.functionName,
      apiEvent('GET', '/health'),
    )) as {
      statusCode: number;
      body: string;
    };
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      tenantId,
      database: 'ok',
      schemaVersion: 3,
      suspended: false,
    });
  });
});

describe('two tenants side by side', () => {
  it("cannot open each other's databases with their own credentials", async () => {
    const [a, b] = [uniqueTenantId('iso-a'), uniqueTenantId('iso-b')];
    const [ra, rb] = await Promise.all([
      platform.runExecution(tenantInput(a)),
      platform.runExecution(tenantInput(b)),
    ]);
    expect([ra.status, rb.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const secretA = await tenantSecret(resultsOf(ra.output).secret.secretArn);
    const dbB = resultsOf(rb.output).database.database;

    const intoB = new Client({ ...secretA, user: secretA.username, database: dbB });
    await expect(intoB.connect()).rejects.toMatchObject({ code: '42501' });
    await intoB.end().catch(() => undefined);

    const own = new Client({ ...secretA, user: secretA.username, database: secretA.dbname });
    await own.connect();
    const { rows } = await own.query<{ db: string }>('SELECT current_database() AS db');
    expect(rows[0]?.db).toBe(secretA.dbname);
    await own.end();
  });
});

describe('a tenant without a domain', () => {
  it('skips the domain and points config.json at the HTTP API endpoint', async () => {
    const tenantId = uniqueTenantId('nodomain');
    const record = await platform.runExecution(tenantInput(tenantId));
    expect(record.status).toBe('SUCCEEDED');
    const results = resultsOf(record.output);
    expect(results.domain).toEqual({ skipped: true });
    expect(results.frontend.apiUrl).toBe(results.function.apiEndpoint);
    expect(entered(record)).toContain('No domain to attach');
    expect(entered(record)).not.toContain('Attach domain');
  });
});

describe('onboarding an existing tenant again', () => {
  it('fails fast at registration and changes nothing of the existing tenant', async () => {
    const tenantId = uniqueTenantId('again');
    const first = await platform.runExecution(tenantInput(tenantId, { domain: `${tenantId}.example.org` }));
    expect(first.status).toBe('SUCCEEDED');
    const before = await footprint(platform, tenantId, `${tenantId}.example.org`);
    const secretBefore = await tenantSecret(resultsOf(first.output).secret.secretArn);

    const second = await platform.runExecution(tenantInput(tenantId, { domain: `${tenantId}.example.org` }));
    expect(second.status).toBe('FAILED');
    expect(second.error).toBe('TenantAlreadyRegistered');
    const states = entered(second);
    expect(states).toEqual([
      'Validate input',
      'Import?',
      'Register tenant',
      'Rollback: mark tenant rolled back',
      'Rollback: imported?',
      'Onboarding failed',
    ]);

    expect(await footprint(platform, tenantId, `${tenantId}.example.org`)).toEqual(before);
    expect(before).toEqual({
      ...before,
      database: true,
      secret: true,
      function: true,
      apis: 1,
      domain: true,
      domainNames: 3,
    });
    expect(await tenantSecret(resultsOf(first.output).secret.secretArn)).toEqual(secretBefore);
    expect(await getTenant(tenantId)).toMatchObject({ status: 'ACTIVE', executionArn: first.executionArn });
  });
});

describe('a step that fails', () => {
  it('rolls back everything created before it, the domain it started too', async () => {
    const domain = `${LATE_FAILURE}.example.org`;
    const record = await platform.runExecution(tenantInput(LATE_FAILURE, { domain }));
    expect([record.status, record.error]).toEqual(['FAILED', INJECTED_FAULT]);
    expect(entered(record)).toEqual(
      expect.arrayContaining([
        'Activate tenant',
        'Attach domain',
        'Rollback: detach domain',
        'Rollback: drop database',
      ]),
    );
    expect(await footprint(platform, LATE_FAILURE, domain)).toEqual(nothingOf('ROLLED_BACK'));
    expect((await getTenant(LATE_FAILURE))?.error).toMatchObject({ Error: INJECTED_FAULT });
  });

  it("refuses a domain another tenant holds, without touching that tenant's resources", async () => {
    const owner = uniqueTenantId('domain-owner');
    const intruder = uniqueTenantId('domain-intruder');
    const domain = `${owner}.example.net`;
    expect((await platform.runExecution(tenantInput(owner, { domain }))).status).toBe('SUCCEEDED');
    const before = await footprint(platform, owner, domain);

    const record = await platform.runExecution(tenantInput(intruder, { domain }));
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('ResourceConflict');
    expect(await footprint(platform, owner, domain)).toEqual(before);
    // The failed signup is on record, and nothing of it exists.
    expect(await footprint(platform, intruder)).toEqual(nothingOf('ROLLED_BACK'));
    expect(await getTenant(owner)).toMatchObject({ status: 'ACTIVE', domain });
  });

  it('refuses a name under or above a domain another tenant holds, naming the holder', async () => {
    const owner = uniqueTenantId('nested-owner');
    const domain = `${owner}.nested.example`;
    expect((await platform.runExecution(tenantInput(owner, { domain }))).status).toBe('SUCCEEDED');
    const before = await footprint(platform, owner, domain);
    for (const [intruder, claimed] of [
      [uniqueTenantId('nested-below'), `shop.${domain}`],
      [uniqueTenantId('nested-above'), 'nested.example'],
    ] as const) {
      const record = await platform.runExecution(tenantInput(intruder, { domain: claimed }));
      expect([record.status, record.error]).toEqual(['FAILED', 'ResourceConflict']);
      expect(record.cause).toContain(
        `domain ${claimed} is under or above ${domain}, which tenant ${owner} holds`,
      );
      expect(await footprint(platform, intruder)).toEqual(nothingOf('ROLLED_BACK'));
    }
    expect(await footprint(platform, owner, domain)).toEqual(before);
  });
});
