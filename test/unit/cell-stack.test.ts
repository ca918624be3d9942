import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { Template } from 'aws-cdk-lib/assertions';
import { capacitySettings } from '../../common/capacity';
import { PlatformNames, TaskEnv } from '../../common/names';
import { cellNames, grantCellAccess } from '../../infra/cell-access';
import { CellStack, cellCidr } from '../../infra/cell-stack';
import { checkWithCdkNag } from '../../infra/nag';
import { localDefinitions } from '../../local/stepfunctions/asl';
import { PlatformStack } from '../../infra/platform-stack';

const PLATFORM = '123456789012';
const CELL = '210987654321';
const REGION = 'eu-west-1';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource?: unknown; Condition?: unknown; Effect: string };

/** The platform and its cell-2 as `cdk synth` builds them for those accounts (cdk-nag included, no bundling). */
function synth() {
  const outdir = mkdtempSync(join(tmpdir(), 'cell-stack-'));
  const zones = (account: string): [string, string[]] => [
    `availability-zones:account=${account}:region=${REGION}`,
    [`${REGION}a`, `${REGION}b`],
  ];
  const app = new App({
    outdir,
    context: { 'aws:cdk:bundling-stacks': [], ...Object.fromEntries([zones(PLATFORM), zones(CELL)]) },
  });
  const platform = new PlatformStack(app, 'TenantPlatform', {
    env: { account: PLATFORM, region: REGION },
    quotas: capacitySettings({ cells: 2, cellAccounts: { 'cell-2': CELL } }, 'test'),
  });
  const cell = new CellStack(app, 'TenantPlatform-cell-2', {
    env: { account: CELL, region: REGION },
    platform: platform.cellSource,
    cell: 'cell-2',
    cidr: cellCidr('cell-2'),
  });
  checkWithCdkNag(app, platform, [cell]);
  app.synth(); // throws on any unacknowledged cdk-nag error
  const report = readFileSync(join(outdir, 'validation-report.json'), 'utf8');
  const resources = (stack: PlatformStack | CellStack) =>
    Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, Resource>);
  const templates = { platform: resources(platform), cell: resources(cell), report };
  rmSync(outdir, { recursive: true, force: true });
  return templates;
}

const built = synth();
const copies = built.cell.filter((r) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName);
const statementsOf = (role: Resource) =>
  (role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
    (p) => p.PolicyDocument.Statement,
  );
const copyNamed = (suffix: string) => {
  const found = copies.find((r) => String(r.Properties.RoleName).endsWith(suffix));
  if (!found) throw new Error(`no copy of ${suffix}`);
  return found;
};

describe("a cell's stack (its account's copies of the task roles, the boundary, the network)", () => {
  it('passes cdk-nag with the platform, every finding acknowledged with its reason', () => {
    const aws = (
      JSON.parse(built.report) as { pluginReports: { pluginName: string; conclusion: string }[] }
    ).pluginReports.find((p) => p.pluginName === 'AwsSolutions');
    expect(aws?.conclusion).toBe('success');
  });

  it("copies each task role by its name, trusted by the platform's role of that name alone", () => {
    const taskRoles = built.platform
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => (r.Properties.Environment as { Variables: Record<string, string> }).Variables)
      .flatMap((v) => v?.[TaskEnv.taskRoleName] ?? []);
    // The roles the platform lets into the cell are those that have a copy there.
    expect(new Set(copies.map((c) => c.Properties.RoleName))).toEqual(new Set(taskRoles));
    expect(taskRoles.filter((name) => !name.startsWith('TenantPlatform-'))).toEqual([]);
    expect(copies.length).toBeGreaterThan(40);
    for (const copy of copies) {
      const name = String(copy.Properties.RoleName);
      expect(taskRoles).toContain(name);
      expect(copy.Properties.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Principal: {
              AWS: {
                'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${PLATFORM}:role/${name}`]],
              },
            },
          },
        ],
      });
    }
    // A role with nothing to do in a cell has no copy: starting onboardings from signup events, a
    // customer's domain's distribution tenants (the edge stays home), writing the registry.
    const names = copies.map((c) => String(c.Properties.RoleName));
    for (const without of [
      'TenantPlatform-signup',
      'TenantPlatform-domain-claim',
      'TenantPlatform-domain-check',
      'TenantPlatform-attach-domain-run',
      'TenantPlatform-offboarding-markOffboarded',
      'TenantPlatform-release-plan',
    ])
      expect(names).not.toContain(without);
    // The domain workflow reads the tenant's API where it is.
    expect(names).toContain('TenantPlatform-domain-requestCertificates');
  });

  it('is what the local IAM check enforces in a cell account: the same roles with the same actions', () => {
    const local = localDefinitions('LOCAL', { 'cell-2': CELL }).cellRoles.get(CELL) ?? [];
    const actionsOf = (statements: readonly { Action?: unknown }[]) =>
      [...new Set(statements.flatMap((st) => [st.Action].flat() as string[]))].sort();
    const byFunction = (prefix: string, roles: { name: string; actions: string[] }[]) =>
      Object.fromEntries(roles.map((r) => [r.name.slice(prefix.length), r.actions]));
    expect(
      byFunction(
        'tenant-',
        local.map((r) => ({
          name: r.name,
          actions: actionsOf(r.policies.flatMap((p) => p.document.Statement as { Action?: unknown }[])),
        })),
      ),
    ).toEqual(
      byFunction(
        'TenantPlatform-',
        copies
          // The control plane's API is the local platform's own (tenantctl cells reads it in-process).
          .filter((c) => c.Properties.RoleName !== 'TenantPlatform-control-plane')
          .map((c) => ({ name: String(c.Properties.RoleName), actions: actionsOf(statementsOf(c)) })),
      ),
    );
  });

  it("grants what the platform's role grants on tenant resources, in the cell's account, and nothing of the platform's own", () => {
    for (const copy of copies) {
      const text = JSON.stringify(statementsOf(copy));
      // The platform's account only in the artifact bucket's condition; no platform resource by reference
      // or by name: no state machine, distribution, bus, queue or bucket of its.
      expect(text.replaceAll(`"s3:ResourceAccount":"${PLATFORM}"`, '')).not.toContain(PLATFORM);
      expect(text).not.toMatch(/"Fn::GetAtt"|sts:AssumeRole|xray:|states:|cloudfront:|events:|sqs:|sns:/);
      expect(text.replace(':s3:::*/tenant-api/*', '')).not.toContain(':s3:');
      expect(text).not.toMatch(/secret:platform|tenant-imports/);
      // The cell's own boundary and subnet group, by the platform's ones' names.
      expect(text).not.toMatch(/"Ref":"(?!AWS::)(?!TenantFunctionBoundary)(?!DedicatedSubnetGroup)/);
    }
    const deploy = statementsOf(copyNamed('-deploy-function-run'));
    const create = deploy.find((s) => [s.Action].flat().includes('iam:CreateRole'));
    // Tenant roles are created under the cell's own boundary, by the platform's boundary's name.
    expect(create?.Condition).toEqual({
      StringEquals: {
        'iam:PermissionsBoundary': { Ref: expect.stringMatching(/^TenantFunctionBoundary/) as string },
      },
    });
    expect(JSON.stringify(create?.Resource)).toContain(`:iam::${CELL}:role/tenant-*`);
    expect(deploy).toContainEqual({
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::*/tenant-api/*']] },
      Condition: { StringEquals: { 's3:ResourceAccount': PLATFORM } },
    });
    // Registering a tenant reads the registry at home: its copy keeps the quota reads only.
    const register = JSON.stringify(statementsOf(copyNamed('-register-tenant-run')));
    expect(register).toContain('servicequotas:GetServiceQuota');
    expect(register).not.toContain('secretsmanager:GetSecretValue');
  });

  it("names its boundary and subnet group as the tasks are told, and leaves the platform's named as they were", () => {
    const named = (resources: Resource[], type: string, key: string) =>
      resources.filter((r) => r.Type === type).map((r) => r.Properties[key]);
    const told = (variable: string) =>
      new Set(
        built.platform
          .filter((r) => r.Type === 'AWS::Lambda::Function')
          .flatMap(
            (r) =>
              (r.Properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables?.[
                variable
              ] ?? [],
          ),
      );
    const boundary = 'TenantPlatform-cell-tenant-role-boundary';
    expect(told(TaskEnv.cellBoundaryName)).toEqual(new Set([boundary]));
    expect(named(built.cell, 'AWS::IAM::ManagedPolicy', 'ManagedPolicyName')).toEqual([boundary]);
    const group = 'tenantplatform-cell-dedicated';
    expect(told(TaskEnv.cellSubnetGroup)).toEqual(new Set([group]));
    expect(named(built.cell, 'AWS::RDS::DBSubnetGroup', 'DBSubnetGroupName')).toEqual([group]);
    // Adding a cell account replaces none of the platform's: CloudFormation names them as before.
    expect(named(built.platform, 'AWS::IAM::ManagedPolicy', 'ManagedPolicyName')).toEqual(
      expect.not.arrayContaining([expect.stringContaining('boundary')]),
    );
    expect(named(built.platform, 'AWS::RDS::DBSubnetGroup', 'DBSubnetGroupName')).toEqual([
      undefined,
      undefined,
    ]);
    expect(named(built.cell, 'AWS::EC2::VPC', 'CidrBlock')).toEqual(['10.2.0.0/16']);
    // The shared instances add-capacity makes there take the platform's parameter group by its name.
    expect(named(built.cell, 'AWS::RDS::DBParameterGroup', 'DBParameterGroupName')).toEqual([
      PlatformNames.sharedParameterGroup,
    ]);
  });

  it('tags its network so the tasks find it (workflow-tasks/lib/cell-network.ts)', () => {
    const taggedAs = (type: string, value: string) =>
      built.cell.filter(
        (r) =>
          r.Type === type &&
          (r.Properties.Tags as { Key: string; Value: string }[] | undefined)?.some(
            (t) => t.Key === PlatformNames.cellNetworkTag && t.Value === value,
          ),
      );
    expect(taggedAs('AWS::EC2::Subnet', 'tenant-functions')).toHaveLength(2);
    expect(taggedAs('AWS::EC2::SecurityGroup', 'tenant-functions')).toHaveLength(1);
    expect(taggedAs('AWS::EC2::SecurityGroup', 'databases')).toHaveLength(1);
  });

  it("lets the copies that make or update functions, by name, in the cell's account, read the tenant API versions", () => {
    const policies = built.platform
      .filter((r) => r.Type === 'AWS::S3::BucketPolicy')
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    const forCells = policies.filter((s) => JSON.stringify(s).includes(CELL));
    expect(forCells).toHaveLength(1);
    const readers = (
      (forCells[0]?.Condition as { ArnEquals: { 'aws:PrincipalArn': { 'Fn::Join': [string, unknown[]] }[] } })
        .ArnEquals['aws:PrincipalArn'] ?? []
    ).map((arn) => String(arn['Fn::Join'][1][2]));
    expect(forCells[0]?.Action).toBe('s3:GetObject');
    expect(readers.sort()).toEqual(
      copies
        .filter((c) => JSON.stringify(statementsOf(c)).match(/lambda:(CreateFunction|UpdateFunctionCode)/))
        .map((c) => `:iam::${CELL}:role/${String(c.Properties.RoleName)}`)
        .sort(),
    );
    expect(readers).toContain(`:iam::${CELL}:role/TenantPlatform-deploy-function-run`);
    expect(JSON.stringify(forCells[0]?.Resource)).toContain('/tenant-api/*');
  });

  it("peers with the platform's VPC through the platform's role, which lets the cell's account do that and no more", () => {
    const role = built.platform.find(
      (r) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName === 'TenantPlatform-cell-peering',
    );
    expect(JSON.stringify(role?.Properties.AssumeRolePolicyDocument)).toContain(`:iam::${CELL}:root`);
    const granted = (role?.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
      (p) => p.PolicyDocument.Statement,
    );
    expect(
      granted
        .map((st) => st.Action)
        .flat()
        .sort(),
    ).toEqual([
      'ec2:AcceptVpcPeeringConnection',
      'ec2:AcceptVpcPeeringConnection',
      'ec2:CreateRoute',
      'ec2:DeleteRoute',
      'ec2:DescribeRouteTables',
      'ec2:DescribeVpcs',
      'ec2:ReplaceRoute',
    ]);
    // Routes only in the platform's task subnets' route tables; peerings only of its VPC, from a cell's.
    expect(granted.find((st) => [st.Action].flat().includes('ec2:CreateRoute'))?.Condition).toEqual({
      StringEquals: { [`ec2:ResourceTag/${PlatformNames.platformNetworkTag}`]: 'task-functions' },
    });
    expect(JSON.stringify(granted)).toContain(
      `"ec2:RequesterVpc":[{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":ec2:${REGION}:${CELL}:vpc/*"]]}]`,
    );
    // The cell's databases take PostgreSQL from the platform's task subnets (through the peering) only.
    const ingress = built.cell
      .filter((r) => r.Type === 'AWS::EC2::SecurityGroup')
      .flatMap((r) => (r.Properties.SecurityGroupIngress as { CidrIp?: string; FromPort?: number }[]) ?? []);
    expect(ingress.filter((rule) => String(rule.CidrIp).startsWith('10.0.'))).toEqual([
      expect.objectContaining({ CidrIp: '10.0.16.0/20', FromPort: 5432, ToPort: 5432 }),
      expect.objectContaining({ CidrIp: '10.0.32.0/20', FromPort: 5432, ToPort: 5432 }),
    ]);
    // Its custom resources' function may assume the platform's role and nothing else.
    const crPolicies = built.cell
      .filter(
        (r) => r.Type === 'AWS::IAM::Policy' && String(r.Properties.PolicyName).includes('CustomResource'),
      )
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    expect(crPolicies).toHaveLength(4);
    expect(new Set(crPolicies.map((st) => JSON.stringify([st.Action, st.Resource])))).toEqual(
      new Set([
        JSON.stringify([
          'sts:AssumeRole',
          {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, `:iam::${PLATFORM}:role/TenantPlatform-cell-peering`],
            ],
          },
        ]),
      ]),
    );
  });

  it('refuses two task functions that would name one role, naming both', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Twice', { env: { account: PLATFORM, region: REGION } });
    const entry = join(__dirname, '..', '..', 'workflow-tasks', 'signup', 'handler.ts');
    for (const scope of ['Onboarding', 'Release'])
      new NodejsFunction(new Construct(stack, scope), 'run', { entry, runtime: lambda.Runtime.NODEJS_22_X });
    const source = { stack, boundary: stack, names: cellNames('Twice') };
    expect(() => grantCellAccess(source, [CELL], new s3.Bucket(stack, 'Artifacts'))).toThrow(
      'Twice/Release/run and Twice/Onboarding/run would both have the role Twice-run: rename one',
    );
  });

  it('refuses a cell in the platform account, and a platform whose account is not known', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const quotas = capacitySettings({ cells: 2, cellAccounts: { 'cell-2': CELL } }, 'test');
    const unknown = new PlatformStack(app, 'Anywhere', { quotas });
    expect(
      () =>
        new CellStack(app, 'A', {
          env: { account: CELL },
          platform: unknown.cellSource,
          cell: 'cell-2',
          cidr: '10.2.0.0/16',
        }),
    ).toThrow("CellStack A: the platform's stack needs its account");
    const home = new PlatformStack(app, 'Home', { env: { account: CELL, region: REGION }, quotas });
    expect(
      () =>
        new CellStack(app, 'B', {
          env: { account: CELL, region: REGION },
          platform: home.cellSource,
          cell: 'cell-2',
          cidr: '10.2.0.0/16',
        }),
    ).toThrow(`CellStack B: cell-2 is in the platform's account ${CELL}`);
    expect(() => cellCidr('cell-256')).toThrow('cell-256: no address range for it');
  });
});
