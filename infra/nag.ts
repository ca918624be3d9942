import { Stack, Token, Validations } from 'aws-cdk-lib';
import type { App, CfnResource } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { CellStack } from './cell-stack';
import { PlatformNames } from '../common/names';
import type { PlatformStack } from './platform-stack';
import { domainStateMachineOf } from './tenant-domain';
import { capacityStateMachineOf } from './add-capacity';
import { onboardingStateMachineName } from './tenant-onboarding';

/**
 * Runs cdk-nag's AwsSolutions pack on every synth of `app` (a CDK policy validation plugin: an error fails
 * the synth, every finding lands in the cloud assembly's validation-report.json), with the stack's accepted
 * findings acknowledged.
 */
export function checkWithCdkNag(app: App, stack: PlatformStack, cells: readonly CellStack[] = []): void {
  acknowledgeNagFindings(stack);
  acknowledgePeeringFindings(stack);
  for (const cell of cells) acknowledgeCellFindings(cell);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/** How cdk-nag writes the stack's account and region in a finding: the literal when the stack has one. */
function placeOf(stack: Stack): { account: string; region: string } {
  return {
    account: Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account,
    region: Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region,
  };
}

const ack = (construct: IConstruct, finding: string, reason: string) =>
  Validations.of(construct).acknowledge({ id: `AwsSolutions::AwsSolutions-${finding}`, reason });
const iam5 = (construct: IConstruct, findings: string[], reason: string) => {
  for (const finding of findings) ack(construct, `IAM5[${finding}]`, reason);
};

/**
 * The resources a task Lambda's role names by pattern (tenant resources are created at run time, named by
 * common/names.ts), in `stack`'s account: the platform's, or a cell's for its copies of the roles.
 */
function tenantPatterns(stack: Stack): string[] {
  const { account, region } = placeOf(stack);
  const arn = (service: string, resource: string, inAccount = account) =>
    `arn:<AWS::Partition>:${service}:${region}:${inAccount}:${resource}`;
  return [
    `Resource::${arn('secretsmanager', 'secret:tenants/*')}`,
    `Resource::${arn('secretsmanager', 'secret:rds!*')}`,
    `Resource::${arn('rds', 'db:tenant-*')}`,
    `Resource::${arn('rds', 'pg:default.postgres*')}`,
    `Resource::${arn('rds', 'og:default:postgres*')}`,
    `Resource::${arn('lambda', 'function:tenant-*')}`,
    // A release prunes the versions of tenant functions (never a function: only the qualified ARNs).
    `Resource::${arn('lambda', 'function:tenant-*:*')}`,
    `Resource::${arn('cloudwatch', 'alarm:tenant-*')}`,
    `Resource::${arn('logs', 'log-group:/aws/lambda/tenant-*')}`,
    `Resource::${arn('logs', 'log-group:*')}`,
    `Resource::arn:<AWS::Partition>:iam::${account}:role/tenant-*`,
    `Resource::${arn('apigateway', '/apis/*', '')}`,
    `Resource::${arn('apigateway', '/domainnames/*', '')}`,
    `Resource::${arn('apigateway', '/tags/*', '')}`,
    // An import's source credentials (tenantctl import makes one secret per attempt).
    `Resource::${arn('secretsmanager', 'secret:tenant-imports/*')}`,
    `Resource::${arn('rds', 'snapshot:tenant-*')}`,
    // Offboarding's claim asks whether the execution that holds a tenant still runs.
    `Resource::${arn('states', 'execution:*')}`,
    // Customers' domains: distribution tenants have CloudFront's ids (`dt_...`); an onboarding rolled back
    // stops the domain workflow it started (its execution is named at run time).
    `Resource::arn:<AWS::Partition>:cloudfront::${account}:distribution-tenant/*`,
    // Shared instances add-capacity makes are `platform-shared-instance-<n>`.
    `Resource::${arn('rds', 'db:platform-shared-instance-*')}`,
    // Placement counts the region's RDS instances beside the platform's (rds:DescribeDBInstances, a read).
    `Resource::${arn('rds', 'db:*')}`,
  ];
}

const TENANT_PATTERNS_REASON =
  "Tenant resources are created at run time and named by common/names.ts: the wildcards are exactly those names (tenants/* secrets, tenant-* functions (and their versions), roles, instances, final snapshots, alarms and log groups, the tenants/ prefix, the tenant API versions under tenant-api/, the exports under exports/, the tenant-imports/* credentials and imports/ dumps of imports), RDS-managed rds!* secrets of dedicated instances; logs:DescribeLogGroups is only authorized on log-group:*; an offboarding execution is looked up by the ARN the registry recorded; Check instance reads the history of the onboarding executions (its own); placement counts the region's RDS instances beside the platform's.";
const BOUNDARY_REASON =
  'The boundary is the ceiling of every tenant function role: tenants/* secrets, tenant-* log groups, and the network interfaces of a function in a VPC (no resource-level permissions).';

/** A cell's stack (infra/cell-stack.ts): its copies of the task roles grant what the platform's do. */
function acknowledgeCellFindings(cell: CellStack): void {
  const { account, region } = placeOf(cell);
  for (const role of cell.roles.values()) {
    iam5(
      role,
      tenantPatterns(cell),
      `The grants of the platform's task role of the same name on this account's resources (acknowledged there): ${TENANT_PATTERNS_REASON}`,
    );
    iam5(
      role,
      ['Resource::*'],
      "Actions with no resource-level permissions: the EC2 Describe calls that find the cell's network and that CreateFunction makes for a VpcConfig, logs:DescribeLogGroups, and (placement) iam:ListRoles.",
    );
    iam5(
      role,
      [`Resource::arn:<AWS::Partition>:s3:::*/${PlatformNames.tenantApiArtifactPrefix}*`],
      "The tenant API versions in the platform's artifact bucket (its account only, s3:ResourceAccount), which CreateFunction here reads.",
    );
  }
  iam5(
    cell.tenantRoleBoundary,
    [
      `Resource::arn:<AWS::Partition>:secretsmanager:${region}:${account}:secret:tenants/*`,
      `Resource::arn:<AWS::Partition>:logs:${region}:${account}:log-group:/aws/lambda/tenant-*`,
      'Resource::*',
    ],
    BOUNDARY_REASON,
  );
  ack(
    cell.network.secretsEndpoint,
    'EC23',
    'The Secrets Manager endpoint accepts HTTPS from the VPC CIDR only (a token cdk-nag cannot read).',
  );
  ack(
    cell,
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "CDK's AwsCustomResource function (the route to the platform's VPC, infra/cell-peering.ts): the AWS-managed Lambda execution policy, CloudWatch Logs writes; it may only assume the platform's peering role.",
  );
}

/** The role the cells' stacks peer with the platform's VPC through (infra/cell-peering.ts). */
function acknowledgePeeringFindings(stack: PlatformStack): void {
  const role = stack.cellSource.peering?.role;
  if (!role) return;
  const { account, region } = placeOf(stack);
  iam5(
    role,
    [
      `Resource::arn:<AWS::Partition>:ec2:${region}:${account}:vpc-peering-connection/*`,
      `Resource::arn:<AWS::Partition>:ec2:${region}:${account}:route-table/*`,
      'Resource::*',
    ],
    "A peering connection is made by the cell's stack, so it has no id before: accepted only into the platform's VPC (ec2:AccepterVpc) from a cell account's VPC (ec2:RequesterVpc); routes are added only to the route tables tagged as the platform's task subnets' (ec2:ResourceTag); DescribeVpcs and DescribeRouteTables have no resource-level permissions.",
  );
}

/**
 * The cdk-nag AwsSolutions findings this stack accepts, each on the construct it concerns and with its
 * reason. Anything else cdk-nag reports fails `cdk synth` and test/unit/platform-stack.test.ts.
 */
function acknowledgeNagFindings(stack: PlatformStack): void {
  const { account, region } = placeOf(stack);
  const arn = (service: string, resource: string) =>
    `arn:<AWS::Partition>:${service}:${region}:${account}:${resource}`;
  const attr = (construct: IConstruct) =>
    `<${Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnResource)}.Arn>`;

  // Every Lambda: the AWS-managed execution policies.
  for (const policy of ['AWSLambdaBasicExecutionRole', 'AWSLambdaVPCAccessExecutionRole']) {
    ack(
      stack,
      `IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${policy}]`,
      'The AWS-managed Lambda execution policies: CloudWatch Logs writes, and the network interfaces a function in a VPC needs; maintained by AWS.',
    );
  }

  // The task Lambdas: tenant resources are created at run time, named by common/names.ts, so the resources
  // are exactly those name patterns.
  const { onboarding, release, suspension, offboarding, cleanup, domain, capacity, move, web, archive } =
    stack;
  const platformPatterns = [
    ...tenantPatterns(stack),
    `Resource::${attr(web.siteBucket)}/tenants/*`,
    `Resource::${attr(web.artifactBucket)}/tenant-api/*`,
    `Resource::${attr(archive.bucket)}/exports/*`,
    `Resource::${attr(archive.bucket)}/imports/*`,
    `Resource::${arn('states', `execution:${domainStateMachineOf(stack).name}:*`)}`,
    // "Register tenant" asks whether the add-capacity execution it started still runs.
    `Resource::${arn('states', `execution:${capacityStateMachineOf(stack).name}:*`)}`,
    // "Check instance" reads its own execution's history: has the web branch beside it failed?
    `Resource::${arn('states', `execution:${onboardingStateMachineName(stack)}:*`)}`,
  ];
  const taskFunctions = new Set([
    ...[onboarding, release, suspension, offboarding, cleanup, domain, capacity, move].flatMap((workflow) => [
      ...workflow.taskFunctions.values(),
    ]),
    stack.controlPlane.handler,
    stack.signupStarter,
  ]);
  for (const fn of taskFunctions) {
    iam5(fn, platformPatterns, TENANT_PATTERNS_REASON);
    iam5(
      fn,
      ['Resource::*'],
      "Actions with no resource-level permissions: X-Ray trace writes, (Deploy function) the EC2 Describe calls CreateFunction makes for a VpcConfig, and (placement) iam:ListRoles, counting the account's roles beside the tenants'.",
    );
  }
  for (const workflow of [onboarding, release, suspension, offboarding, cleanup, domain, capacity, move]) {
    iam5(
      workflow.stateMachine,
      [...workflow.taskFunctions.values()].map((fn) => `Resource::${attr(fn)}:*`),
      "Invoking a task Lambda's versions and aliases (what LambdaInvoke grants).",
    );
    iam5(
      workflow.stateMachine,
      ['Resource::*'],
      'X-Ray trace writes and CloudWatch Logs delivery management have no resource-level permissions.',
    );
  }
  const releaseMachine = Stack.of(release).getLogicalId(
    release.stateMachine.node.defaultChild as CfnResource,
  );
  const releaseExecutions = `arn:<AWS::Partition>:states:${region}:${account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${releaseMachine}"}]}]}`;
  iam5(
    release.stateMachine,
    [`Resource::${releaseExecutions}:*`, `Resource::${releaseExecutions}/ReleaseWave:*`],
    "The Distributed Map's child executions and its map runs: their ids are made at run time, under the release state machine's own name.",
  );
  iam5(
    stack.tenantRoleBoundary,
    [
      `Resource::${arn('secretsmanager', 'secret:tenants/*')}`,
      `Resource::${arn('logs', 'log-group:/aws/lambda/tenant-*')}`,
      'Resource::*',
    ],
    BOUNDARY_REASON,
  );

  // CDK's own helper: the BucketDeployment function.
  for (const child of stack.node.children) {
    if (child.node.id.startsWith('Custom::CDKBucketDeployment')) {
      ack(child, 'L1', 'CDK-managed BucketDeployment function: its runtime is chosen by aws-cdk-lib.');
      iam5(
        child,
        [
          'Resource::*',
          ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'].map(
            (a) => `Action::${a}`,
          ),
          `Resource::${attr(web.artifactBucket)}/*`,
          `Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${account}-${region}/*`,
        ],
        'CDK-managed BucketDeployment: reads the CDK asset bucket and writes the artifact bucket.',
      );
    }
    if (child.node.id.startsWith('LogRetention')) {
      iam5(
        child,
        ['Resource::*'],
        'CDK-managed log retention function: sets retention on any log group it is given.',
      );
    }
  }

  ack(
    stack.network.secretsEndpoint,
    'EC23',
    'The Secrets Manager endpoint accepts HTTPS from the VPC CIDR only (a token cdk-nag cannot read).',
  );
  ack(
    stack.database.instance,
    'RDS11',
    'PostgreSQL listens on 5432: the instance is private, reachable only from the database-clients security group; a non-default port adds nothing here.',
  );
  if (!stack.database.multiAz)
    ack(
      stack.database.instance,
      'RDS3',
      'Single-AZ asked for by the context sharedDbMultiAz=false (a cheap dev stack); Multi-AZ is the default; backups are kept.',
    );
  ack(
    stack.deadLetterQueue,
    'SQS3',
    'This queue is the dead-letter queue of the TenantSignedUp rule target (cdk-nag cannot see EventBridge DLQs).',
  );
  ack(web.distribution, 'CFR1', 'Tenants serve customers worldwide: no geo restriction.');
  for (const tenants of [stack.domainEdge.siteTenants, stack.domainEdge.apiTenants]) {
    ack(tenants, 'CFR1', "Customers' domains serve customers worldwide: no geo restriction.");
    ack(
      tenants,
      'CFR2',
      'WAF is left to the operator (a web ACL per platform costs money and needs rules tuned to the shop).',
    );
    ack(
      tenants,
      'CFR4',
      'A multi-tenant distribution serves only through its distribution tenants, each with its own managed certificate: it has no viewer certificate of its own.',
    );
  }
  ack(
    web.distribution,
    'CFR2',
    'WAF is left to the operator (a web ACL per platform costs money and needs rules tuned to the shop); the site is static.',
  );
  if (!web.hasCustomDomain)
    ack(
      web.distribution,
      'CFR4',
      'Without a platformDomain the distribution uses the cloudfront.net certificate, whose security policy CloudFront fixes; with one it is TLSv1.2_2021.',
    );
}
