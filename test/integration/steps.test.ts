import { ListInvalidationsCommand } from '@aws-sdk/client-cloudfront';
import { STEPS, type StepId } from '../../common/steps';
import type { LocalPlatform } from '../../local/platform';
import { STEP_HANDLERS } from '../../workflow-tasks';
import { CreatePolicyCommand, GetRoleCommand, GetRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetApisCommand, GetRoutesCommand, GetStagesCommand } from '@aws-sdk/client-apigatewayv2';
import {
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  TagResourceCommand,
} from '@aws-sdk/client-lambda';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { TaskEnv, tenantResourceNames } from '../../common/names';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { tagList } from '../../workflow-tasks/lib/tags';
import { aws } from '../../workflow-tasks/lib/aws';
import type { OnboardingState, StepResults } from '../../workflow-tasks/lib/types';
import { taskEvent } from '../fixtures/events';
import {
  everythingOf,
  footprint,
  nothingOf,
  startTestPlatform,
  tenantInput,
  uniqueTenantId,
} from '../fixtures/platform';

let platform: LocalPlatform;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform());
});

afterAll(async () => {
  await cleanup();
});

const executionArn = (name: string) =>
  `arn:aws:states:us-east-1:123456789012:execution:tenant-onboarding:${name}`;

/** Runs every forward step of a tenant in order, as the state machine would (a domain, so none is skipped). */
async function runAllSteps(
  arn: string,
  input: Record<string, unknown>,
  each?: (id: StepId, first: unknown, second: unknown) => void,
) {
  let state: OnboardingState = { ...input };
  for (const step of STEPS) {
    const run = STEP_HANDLERS[step.id].run;
    const first = await run({ executionArn: arn, state });
    const second = await run({ executionArn: arn, state });
    each?.(step.id, first, second);
    state = { ...state, results: { ...state.results, [step.resultKey]: first } };
  }
  return state.results as StepResults;
}

/** Runs the forward steps up to and including `last`, once each; the state after them. */
async function runStepsThrough(
  last: StepId,
  arn: string,
  input: Record<string, unknown>,
): Promise<OnboardingState> {
  let state: OnboardingState = { ...input };
  for (const step of STEPS.slice(0, STEPS.findIndex((s) => s.id === last) + 1)) {
    const result = await STEP_HANDLERS[step.id].run({ executionArn: arn, state });
    state = { ...state, results: { ...state.results, [step.resultKey]: result } };
  }
  return state;
}

describe('every step run twice', () => {
  it('returns the same result the second time and creates no duplicate resource', async () => {
    const tenantId = uniqueTenantId('twice');
    const domain = `${tenantId}.example.com`;
    const arn = executionArn(tenantId);
    const invalidationCount = async () =>
      (
        await aws().cloudfront.send(
          new ListInvalidationsCommand({ DistributionId: platform.environment.DISTRIBUTION_ID }),
        )
      ).InvalidationList?.Quantity ?? 0;
    const invalidationsBefore = await invalidationCount();
    const compared: StepId[] = [];
    await runAllSteps(arn, tenantInput(tenantId, { domain }), (id, first, second) => {
      expect([id, second]).toEqual([id, first]);
      compared.push(id);
    });
    expect(compared).toEqual(STEPS.map((s) => s.id));

    expect(await footprint(platform, tenantId, domain)).toEqual(everythingOf(true, tenantId));
    expect(await invalidationCount()).toBe(invalidationsBefore + 1);
  });
});

describe('every undo', () => {
  it('removes what its step created, and succeeds when run twice', async () => {
    const tenantId = uniqueTenantId('undo');
    const domain = `${tenantId}.example.com`;
    const arn = executionArn(tenantId);
    const results = await runAllSteps(arn, tenantInput(tenantId, { domain }));
    const event = taskEvent(arn, results, { error: { Error: 'Injected', Cause: 'test' } });

    for (const step of [...STEPS].reverse()) {
      const undo = STEP_HANDLERS[step.id].undo;
      if (!undo) continue;
      await undo(event);
      await undo(event);
    }
    expect(await footprint(platform, tenantId, domain)).toEqual(nothingOf('ROLLED_BACK'));
  });

  it("Create database's undo run three times at once (retries after timeouts, the first still running) removes it once, without failing", async () => {
    const tenantId = uniqueTenantId('undo-at-once');
    const arn = executionArn(tenantId);
    const state = await runStepsThrough('create-database', arn, tenantInput(tenantId));
    expect(await footprint(platform, tenantId)).toMatchObject({ database: true, role: true });
    const undo = STEP_HANDLERS['create-database'].undo!;
    const event = taskEvent(arn, state.results);
    const outcomes = await Promise.allSettled([undo(event), undo(event), undo(event)]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : o.status))).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(await footprint(platform, tenantId)).toMatchObject({ database: false, role: false });
  });

  it('succeeds when there is nothing to undo, and touches no other tenant', async () => {
    const bystander = uniqueTenantId('bystander');
    const bystanderDomain = `${bystander}.example.com`;
    await runAllSteps(executionArn(bystander), tenantInput(bystander, { domain: bystanderDomain }));
    const before = await footprint(platform, bystander, bystanderDomain);

    const ghost = uniqueTenantId('ghost');
    const tenant = (await STEP_HANDLERS['validate-input'].run({
      executionArn: executionArn(ghost),
      state: tenantInput(ghost, { domain: bystanderDomain }),
    })) as StepResults['tenant'];
    const event = taskEvent(executionArn(ghost), { tenant });
    for (const step of [...STEPS].reverse()) await STEP_HANDLERS[step.id].undo?.(event);

    // Nothing was made; the last undo records the failed signup, as for a registration that failed.
    expect(await footprint(platform, ghost)).toEqual(nothingOf('ROLLED_BACK'));
    expect(await footprint(platform, bystander, bystanderDomain)).toEqual(before);
  });
});

describe('the dedicated tier against the emulator', () => {
  it('creates one encrypted, tagged RDS instance with an RDS-managed master password, twice alike, and its undo deletes it', async () => {
    const tenantId = uniqueTenantId('dedicated');
    const arn = executionArn(tenantId);
    const tenant = (await STEP_HANDLERS['validate-input'].run({
      executionArn: arn,
      state: tenantInput(tenantId, { tier: 'dedicated' }),
    })) as StepResults['tenant'];
    const event = taskEvent(arn, { tenant });
    const first = await STEP_HANDLERS['create-database'].run(event);
    expect(await STEP_HANDLERS['create-database'].run(event)).toEqual(first);
    expect(first).toMatchObject({ instanceId: `tenant-${tenantId}` });

    const { DBInstances = [] } = await aws().rds.send(new DescribeDBInstancesCommand({}));
    const instances = DBInstances.filter((i) => i.DBInstanceIdentifier === `tenant-${tenantId}`);
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({
      Engine: 'postgres',
      StorageEncrypted: true,
      PubliclyAccessible: false,
      MasterUsername: 'tenant_admin',
    });
    expect(instances[0]?.MasterUserSecret?.SecretArn).toContain(':secret:rds!');
    expect(instances[0]?.TagList).toContainEqual({ Key: 'tenant', Value: tenantId });

    await STEP_HANDLERS['create-database'].undo!(event);
    await STEP_HANDLERS['create-database'].undo!(event);
    expect((await footprint(platform, tenantId)).instance).toBe(false);
  });
});

describe('Store secret', () => {
  it("refuses by name a secret of the tenant's that is scheduled for deletion, and changes nothing", async () => {
    const tenantId = uniqueTenantId('deleted-secret');
    const { secretName } = tenantResourceNames(tenantId);
    await aws().secrets.send(
      new CreateSecretCommand({ Name: secretName, SecretString: '{"kept":true}', Tags: tagList(tenantId) }),
    );
    await aws().secrets.send(new DeleteSecretCommand({ SecretId: secretName, RecoveryWindowInDays: 7 }));
    await expect(
      runStepsThrough('store-secret', executionArn(tenantId), tenantInput(tenantId)),
    ).rejects.toMatchObject({
      name: 'ResourceConflict',
      message: `secret ${secretName} exists but is not a live secret of tenant ${tenantId}`,
    });
    const kept = await aws().secrets.send(new DescribeSecretCommand({ SecretId: secretName }));
    expect(kept.DeletedDate).toBeDefined();
  });
});

describe('Deploy function stopped after making the API, before recording it on the function', () => {
  it('adopts that API when run again: one API, recorded, with its route and stage', async () => {
    const tenantId = uniqueTenantId('unrecorded');
    const arn = executionArn(tenantId);
    const state = await runStepsThrough('deploy-function', arn, tenantInput(tenantId));
    const made = (state.results as StepResults).function;
    // As a run leaves it that stopped between CreateApi and recording its id.
    await aws().lambda.send(
      new TagResourceCommand({ Resource: made.functionArn, Tags: { 'api-id': 'creating' } }),
    );

    const again = await STEP_HANDLERS['deploy-function'].run({ executionArn: arn, state });
    expect(again).toEqual(made);
    const apis = (await aws().apigw.send(new GetApisCommand({}))).Items?.filter(
      (api) => api.Name === `tenant-${tenantId}-api`,
    );
    expect(apis?.map((api) => api.ApiId)).toEqual([made.apiId]);
    const { Tags } = await aws().lambda.send(new GetFunctionCommand({ FunctionName: made.functionName }));
    expect(Tags?.['api-id']).toBe(made.apiId);
    const [routes, stages] = await Promise.all([
      aws().apigw.send(new GetRoutesCommand({ ApiId: made.apiId })),
      aws().apigw.send(new GetStagesCommand({ ApiId: made.apiId })),
    ]);
    expect([routes.Items?.map((r) => r.RouteKey), stages.Items?.map((s) => s.StageName)]).toEqual([
      ['$default'],
      ['$default'],
    ]);

    const event = taskEvent(arn, state.results, {
      error: { Error: 'Injected', Cause: 'test' },
    });
    for (const step of [...STEPS].reverse()) await STEP_HANDLERS[step.id].undo?.(event);
    expect(await footprint(platform, tenantId)).toEqual(nothingOf('ROLLED_BACK'));
  });
});

describe('Deploy function as on AWS (a VPC and a permissions boundary configured)', () => {
  const vpcEnv = {
    [TaskEnv.tenantSubnetIds]: 'subnet-0a1b2c3d,subnet-4e5f6a7b',
    [TaskEnv.tenantSecurityGroupId]: 'sg-0123456789abcdef0',
  };
  let saved: Record<string, string | undefined>;

  beforeAll(async () => {
    const boundary = await aws().iam.send(
      new CreatePolicyCommand({
        PolicyName: `tenant-boundary-${process.pid}`,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '*' }],
        }),
      }),
    );
    const env = { ...vpcEnv, [TaskEnv.tenantRoleBoundaryArn]: boundary.Policy!.Arn! };
    saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
    Object.assign(process.env, env);
  });

  afterAll(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('creates the role under the boundary, allows network interfaces, and puts the function in the subnets', async () => {
    const tenantId = uniqueTenantId('vpc');
    const arn = executionArn(tenantId);
    const state = await runStepsThrough('deploy-function', arn, tenantInput(tenantId));
    const results = state.results as StepResults;

    const { Role } = await aws().iam.send(new GetRoleCommand({ RoleName: results.function.roleName }));
    expect(Role?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(
      process.env[TaskEnv.tenantRoleBoundaryArn],
    );
    const policy = await aws().iam.send(
      new GetRolePolicyCommand({ RoleName: results.function.roleName, PolicyName: 'read-own-secret' }),
    );
    const document = JSON.parse(decodeURIComponent(policy.PolicyDocument ?? '{}')) as {
      Statement: { Action: string | string[]; Resource: string }[];
    };
    expect(document.Statement.map((s) => s.Resource)).toEqual([
      results.secret.secretArn,
      expect.stringContaining(`/aws/lambda/tenant-${tenantId}-api`),
      '*',
    ]);
    expect(document.Statement[2]?.Action).toContain('ec2:CreateNetworkInterface');

    const fn = await aws().lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: results.function.functionName }),
    );
    expect(fn.VpcConfig).toMatchObject({
      SubnetIds: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'],
      SecurityGroupIds: ['sg-0123456789abcdef0'],
    });

    const event = taskEvent(arn, results, { error: { Error: 'Injected', Cause: 'test' } });
    for (const step of [...STEPS].reverse()) await STEP_HANDLERS[step.id].undo?.(event);
    expect(await footprint(platform, tenantId)).toEqual(nothingOf('ROLLED_BACK'));
  });
});
