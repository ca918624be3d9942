import type { Fault } from '../../local/tasks/faults';
import type { LocalPlatform } from '../../local/platform';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import {
  GetFunctionConfigurationCommand,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { TenantApiEnv, tenantResourceNames } from '../../common/names';
import { aws } from '../../workflow-tasks/lib/aws';
import { apiEvent } from '../fixtures/events';
import { footprint, nothingOf, startTestPlatform, tenantInput, uniqueTenantId } from '../fixtures/platform';

/** A step that makes a call outside its role's policy: "Publish frontend" deleting a database instance. */
const overreaching = (tenantId: string): Fault => ({
  tenantId,
  step: 'publish-frontend',
  kind: 'overreach',
  times: 1,
});

describe('IAM enforced on the local platform (the default)', () => {
  const tenantId = uniqueTenantId('overreach');
  const dedicated = uniqueTenantId('iam-dedicated');
  let platform: LocalPlatform;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ platform, cleanup } = await startTestPlatform({ faults: [overreaching(tenantId)] }));
  });
  afterAll(async () => cleanup());

  it('a task calling outside its policy gets AccessDenied, and its step fails and rolls back as on AWS', async () => {
    const record = await platform.runExecution(tenantInput(tenantId));
    expect(record.status).toBe('FAILED');
    const instance = `arn:aws:rds:us-east-1:123456789012:db:${tenantResourceNames(tenantId).instanceId}`;
    expect(JSON.parse(record.cause ?? '{}')).toMatchObject({
      errorType: 'AccessDenied',
      errorMessage: expect.stringMatching(
        new RegExp(
          `assumed-role/TenantOnboardingpublishfrontendrun[^ ]* is not authorized to perform: rds:DeleteDBInstance on resource: ${instance} because no identity-based policy allows`,
        ),
      ) as unknown,
    });
    expect(await footprint(platform, tenantId)).toEqual(nothingOf('ROLLED_BACK'));
    expect(platform.iam?.denials().map((d) => [d.authorization.action, d.authorization.resource])).toEqual([
      ['rds:DeleteDBInstance', instance],
    ]);
  });

  it("a dedicated tenant's whole life passes with every call authorized, each task by its own role", async () => {
    const onboarded = await platform.runExecution(
      tenantInput(dedicated, { tier: 'dedicated', domain: `${dedicated}.example.net` }),
    );
    expect(onboarded.status).toBe('SUCCEEDED');
    const used = platform.iam?.usage() ?? new Map<string, ReadonlyMap<string, number>>();
    const actionsOf = (fragment: string) =>
      [...used.entries()]
        .filter(([role]) => role.includes(fragment))
        .flatMap(([, entries]) => [...entries.keys()]);
    expect(actionsOf('createdatabaserun')).toContain(
      `rds:CreateDBInstance arn:aws:rds:us-east-1:123456789012:db:${tenantResourceNames(dedicated).instanceId}`,
    );
    expect(actionsOf('deployfunctionrun')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^iam:CreateRole /),
        expect.stringMatching(/^iam:PassRole /),
        expect.stringMatching(/^lambda:CreateFunction /),
        expect.stringMatching(/^s3:GetObject arn:aws:s3:::/),
      ]),
    );
    // Each task read what it uses with its own role, as its own Lambda process would: the version's zip and
    // the master secret, although other tasks had read them first in this process (workflow-tasks/lib/process-scope.ts).
    expect(actionsOf('publishfrontendrun')).toContainEqual(
      expect.stringMatching(
        /^s3:GetObject arn:aws:s3:::tenant-platform-artifacts\/tenant-api\/[0-9a-f]{16}\.zip$/,
      ),
    );
    expect(actionsOf('activatetenantrun')).toContainEqual(
      expect.stringMatching(
        /^secretsmanager:GetSecretValue arn:aws:secretsmanager:[^ ]*:secret:platform\/shared-db\/master/,
      ),
    );
    // No role was used for another's calls: the publish step never touched RDS after its refusal.
    expect(actionsOf('publishfrontendrun').filter((a) => a.startsWith('rds:'))).toEqual([]);
    expect(platform.iam?.denials()).toHaveLength(1);
  });

  it("checks a tenant function's calls against the role Deploy function gave it: its own secret, not another's", async () => {
    const [mine, theirs] = [uniqueTenantId('iam-fn'), uniqueTenantId('iam-other')];
    for (const id of [mine, theirs])
      expect((await platform.runExecution(tenantInput(id))).status).toBe('SUCCEEDED');
    const names = tenantResourceNames(mine);
    const health = async () =>
      (await platform.functions.invoke(names.functionName, apiEvent('GET', '/health'))) as {
        statusCode: number;
      };
    expect((await health()).statusCode).toBe(200);
    const role = names.functionRoleName;
    const secretOf = async (id: string) =>
      (await aws().secrets.send(new DescribeSecretCommand({ SecretId: tenantResourceNames(id).secretName })))
        .ARN;
    expect([...(platform.iam?.usage().get(role)?.keys() ?? [])]).toEqual([
      `secretsmanager:GetSecretValue ${await secretOf(mine)}`,
    ]);

    // Pointed at the other tenant's secret, the function is refused it, as on AWS.
    const other = await secretOf(theirs);
    const { Environment } = await aws().lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: names.functionName }),
    );
    await aws().lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: names.functionName,
        Environment: { Variables: { ...Environment?.Variables, [TenantApiEnv.secretArn]: other! } },
      }),
    );
    // A new version: a worker of its own, which reads its secret on its first request.
    const { Version } = await aws().lambda.send(
      new PublishVersionCommand({ FunctionName: names.functionName }),
    );
    const refusedBefore = platform.iam?.denials().length ?? 0;
    const pointed = (await platform.functions.invoke(
      names.functionName,
      apiEvent('GET', '/health'),
      Version,
    )) as { statusCode: number };
    expect(pointed.statusCode).not.toBe(200);
    expect(platform.iam?.denials().slice(refusedBefore)).toEqual([
      expect.objectContaining({
        role,
        authorization: expect.objectContaining({
          action: 'secretsmanager:GetSecretValue',
          resource: other,
        }) as unknown,
      }),
    ]);
    // The function's own version still runs with its own secret.
    expect((await health()).statusCode).toBe(200);
  });
});

describe('IAM off (`tenantctl up --iam off`)', () => {
  const tenantId = uniqueTenantId('overreach-off');
  let platform: LocalPlatform;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ platform, cleanup } = await startTestPlatform({ faults: [overreaching(tenantId)], iam: false }));
  });
  afterAll(async () => cleanup());

  it('lets the same call through to RDS, which answers that there is no such instance', async () => {
    const record = await platform.runExecution(tenantInput(tenantId));
    expect(record.status).toBe('FAILED');
    expect(JSON.parse(record.cause ?? '{}')).toMatchObject({
      errorType: expect.stringMatching(/^DBInstanceNotFound/) as unknown,
    });
    expect(platform.iam).toBeUndefined();
  });
});
