import { runInNewContext } from 'node:vm';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { capacitySettings } from '../../common/capacity';
import { EventTypes, PlatformNames, TaskEnv } from '../../common/names';
import { TenantArchive, type ArchiveLockMode } from '../../infra/archive';
import { checkWithCdkNag } from '../../infra/nag';
import { PlatformStack, type PlatformConfig } from '../../infra/platform-stack';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** The stack as `cdk synth` builds it (cdk-nag included), without bundling the Lambdas: fast. */
function synth(config: PlatformConfig = {}): { template: Template; report: NagReport; outdir: string } {
  const outdir = mkdtempSync(join(tmpdir(), 'platform-stack-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new PlatformStack(app, 'TenantPlatform', config);
  checkWithCdkNag(app, stack);
  app.synth(); // throws ValidationFailed on any unacknowledged cdk-nag error
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as NagReport;
  return { template: Template.fromStack(stack), report, outdir };
}

interface NagReport {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: { ruleName: string; severity: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

let template: Template;
let report: NagReport;
let resources: Resources;

beforeAll(() => {
  const built = synth();
  ({ template, report } = built);
  resources = template.toJSON().Resources as Resources;
  rmSync(built.outdir, { recursive: true, force: true });
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged error or warning', () => {
    const aws = report.pluginReports.find((p) => p.pluginName === 'AwsSolutions');
    const findings = (aws?.violations ?? []).map(
      (v) => `${v.severity} ${v.ruleName} ${v.violatingConstructs.map((c) => c.constructPath).join(', ')}`,
    );
    expect(aws?.conclusion).toBe('success');
    expect(findings).toEqual([]);
  });

  it('fails the synth when a finding is not acknowledged', () => {
    const app = new App({
      outdir: mkdtempSync(join(tmpdir(), 'platform-stack-')),
      context: { 'aws:cdk:bundling-stacks': [] },
    });
    const stack = new PlatformStack(app, 'TenantPlatform', { sharedDbMultiAz: true });
    checkWithCdkNag(app, stack);
    // Multi-AZ is acknowledged only when off; an extra, unacknowledged, public security group rule:
    stack.network.databases.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(5432));
    expect(() => app.synth()).toThrow(/AwsSolutions-EC23/);
    rmSync(app.outdir, { recursive: true, force: true });
  });
});

describe('the TenantSignedUp (and TenantImportRequested) rule', () => {
  it('starts one onboarding per event, through the signup Lambda, with retries and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': [EventTypes.TenantSignedUp, EventTypes.TenantImportRequested] },
      EventBusName: { Ref: Match.stringLikeRegexp('EventBus') },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^signup'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SignupDeadLetterQueue'), 'Arn'] },
          },
        }),
      ],
    });
    // A start that still fails after Lambda's own retries goes to the same dead-letter queue.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^signup') },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('SignupDeadLetterQueue'), 'Arn'] },
        },
      },
    });
    // It may start the onboarding state machine, and nothing else.
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'states:StartExecution',
            Resource: { Ref: Match.stringLikeRegexp('^TenantOnboardingStateMachine') },
          }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^signup') }],
    });
  });
});

describe('the state machine', () => {
  it('logs every event to a log group with retention, is traced and has a timeout', () => {
    const [, machine] = ofType('AWS::StepFunctions::StateMachine')[0]!;
    expect(machine.Properties).toMatchObject({
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [
          { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } } },
        ],
      },
      TracingConfiguration: { Enabled: true },
    });
    const logGroupId = (
      machine.Properties as {
        LoggingConfiguration: {
          Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': string[] } } }[];
        };
      }
    ).LoggingConfiguration.Destinations[0]!.CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0]!;
    expect(resources[logGroupId]?.Properties?.RetentionInDays).toBe(30);
    expect(JSON.stringify(machine.Properties?.DefinitionString)).toContain('"TimeoutSeconds\\":3600');
  });
});

/** The statements of the task Lambdas' policies under a construct (its state machine's role left out). */
/** A CloudFront viewer-request event for `host` and `uri`. */
function viewerRequest(host: string, uri: string, querystring: Record<string, { value: string }> = {}) {
  return { request: { uri, querystring, headers: { host: { value: host } } } };
}

/** The CloudFront Function whose comment starts so, as a callable (its inline code, evaluated). */
function viewerFunction(from: Template, comment: string): (event: unknown) => unknown {
  const functions = Object.values(from.findResources('AWS::CloudFront::Function'));
  const found = functions.find((f) =>
    String((f.Properties as { FunctionConfig: { Comment: string } }).FunctionConfig.Comment).startsWith(
      comment,
    ),
  );
  const code = String((found?.Properties as { FunctionCode: string }).FunctionCode);
  // The function's own code, from the template, run in a context of its own as CloudFront's runtime does.
  return runInNewContext(`${code}\nhandler`) as (event: unknown) => unknown;
}

function taskStatements(construct: string): { id: string; actions: string[]; resource: string }[] {
  return ofType('AWS::IAM::Policy')
    .filter(([id]) => id.startsWith(construct) && !id.includes('StateMachine'))
    .flatMap(([id, p]) =>
      (
        (p.Properties?.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
          .Statement ?? []
      ).map((st) => ({
        id,
        actions: ([] as string[]).concat(st.Action),
        resource: JSON.stringify(st.Resource),
      })),
    );
}

describe('the release state machine', () => {
  const definition = () => {
    const [, machine] = ofType('AWS::StepFunctions::StateMachine').find(([id]) =>
      id.startsWith('TenantRelease'),
    )!;
    const parts = (machine.Properties?.DefinitionString as { 'Fn::Join': [string, unknown[]] })[
      'Fn::Join'
    ][1];
    // Function ARNs are tokens: stand-ins are enough to read the shape.
    return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'ARN')).join('')) as {
      TimeoutSeconds: number;
      States: Record<string, Record<string, unknown>>;
    };
  };

  it('runs each wave as a Distributed Map of child executions, bounded by the release concurrency', () => {
    const { States, TimeoutSeconds } = definition();
    expect(TimeoutSeconds).toBe(12 * 3600);
    expect(States['Release wave']).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.waves[0]',
      MaxConcurrencyPath: '$.release.concurrency',
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
    });
    const perTenant = (States['Release wave']!.ItemProcessor as { States: Record<string, unknown> }).States;
    expect(Object.keys(perTenant)).toEqual(
      expect.arrayContaining([
        'Claim tenant',
        'Migrate database',
        'Update function code',
        'Check health',
        'Move alias live',
        'Publish release frontend',
        'Record tenant updated',
        'Keep old version',
      ]),
    );
  });

  it('lets its tasks touch only tenant functions, and each only with the calls it makes', () => {
    const lambdaStatements = taskStatements('TenantRelease').filter((st) =>
      st.actions.some(
        (a) =>
          (a.startsWith('lambda:') && a !== 'lambda:InvokeFunction') ||
          (st.id.includes('checkHealth') && a === 'lambda:InvokeFunction'),
      ),
    );
    expect(lambdaStatements.length).toBeGreaterThanOrEqual(5);
    for (const st of lambdaStatements) expect(st.resource).toContain(':function:tenant-*');
    const actionsOf = (handler: string) =>
      lambdaStatements
        .filter((st) => st.id.includes(handler))
        .flatMap((st) => st.actions)
        .sort();
    expect(actionsOf('moveAlias')).toEqual(['lambda:UpdateAlias']);
    expect(actionsOf('checkHealth')).toEqual(['lambda:InvokeFunction']);
    expect(actionsOf('updateFunctionCode')).toEqual(['lambda:PublishVersion', 'lambda:UpdateFunctionCode']);
    expect(actionsOf('pruneVersions')).toEqual([
      'lambda:DeleteFunction',
      'lambda:ListAliases',
      'lambda:ListVersionsByFunction',
    ]);
    // Pruning deletes versions by their qualified ARN: no release task can delete a function.
    const deleting = lambdaStatements.filter((st) => st.actions.includes('lambda:DeleteFunction'));
    expect(deleting.map((st) => st.resource)).toEqual([
      expect.stringMatching(/:function:tenant-\*:\*"\]\]}$/),
    ]);
  });
});

describe('the suspension state machine', () => {
  it('lets its tasks change only tenant functions, and never delete one', () => {
    const statements = taskStatements('TenantSuspension');
    const lambdaCalls = statements.filter((st) => st.actions.some((a) => a.startsWith('lambda:')));
    expect(lambdaCalls.length).toBeGreaterThanOrEqual(2);
    for (const st of lambdaCalls) expect(st.resource).toContain(':function:tenant-*');
    const actions = statements.flatMap((st) => st.actions);
    expect(actions.filter((a) => /Delete/.test(a))).toEqual([]);
    expect(actions).toContain('lambda:PublishVersion');
  });
});

describe("customers' own domains", () => {
  it('are served by two multi-tenant distributions behind one connection group, each tenant with its own certificate', () => {
    template.resourceCountIs('AWS::CloudFront::ConnectionGroup', 1);
    for (const [origin, path] of [
      ['site', '/tenants/{{tenantId}}'],
      ['api', Match.absent()],
    ] as const)
      template.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: Match.objectLike({
          ConnectionMode: 'tenant-only',
          TenantConfig: {
            ParameterDefinitions: Match.arrayWith([Match.objectLike({ Name: 'tenantId' })]),
          },
          Origins: [Match.objectLike({ Id: origin, OriginPath: path })],
          Logging: Match.objectLike({ Bucket: Match.anyValue() }),
        }),
      });
    // The API's distribution passes every request to the tenant's HTTP API, uncached.
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Origins: [Match.objectLike({ DomainName: '{{apiHost}}' })],
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'https-only' }),
      }),
    });
  });

  it('are attached by the domain workflow, started by TenantDomainRequested events and by onboarding', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': [EventTypes.TenantDomainRequested] },
      Targets: [
        Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('TenantDomain') }, InputPath: '$.detail' }),
      ],
    });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'TenantPlatform-domain',
    });
    const starts = taskStatements('TenantOnboarding').filter((st) =>
      st.actions.includes('states:StartExecution'),
    );
    // "Attach domain" starts the domain workflow; "Register tenant" the addition of a shared instance.
    expect(starts.map((st) => st.resource).sort()).toEqual([
      expect.stringContaining(':stateMachine:TenantPlatform-capacity'),
      expect.stringContaining(':stateMachine:TenantPlatform-domain'),
    ]);
  });

  it('redirect www.<domain> to <domain>, keeping the path and query', () => {
    const redirect = viewerFunction(template, 'www.<domain>');
    expect(redirect(viewerRequest('www.shop.example', '/a', { b: { value: '1' } }))).toEqual({
      statusCode: 301,
      statusDescription: 'Moved Permanently',
      headers: { location: { value: 'https://shop.example/a?b=1' } },
    });
    expect(redirect(viewerRequest('shop.example', '/a'))).toMatchObject({ uri: '/a' });
  });

  it('let only the request make distribution tenants, and only the removals (and a takeover) delete them', () => {
    const statements = taskStatements('TenantDomain');
    const by = (action: string) => [
      ...new Set(statements.filter((st) => st.actions.includes(action)).map((st) => st.id)),
    ];
    expect(by('cloudfront:CreateDistributionTenant')).toEqual([
      expect.stringMatching(/^TenantDomaindomainrequestCertificates/),
    ]);
    // The claim removes a domain another request left unfinished (its execution ended without it).
    expect(by('cloudfront:DeleteDistributionTenant').sort()).toEqual([
      expect.stringMatching(/^TenantDomaindomainclaim/),
      expect.stringMatching(/^TenantDomaindomaindetach/),
      expect.stringMatching(/^TenantDomaindomaingiveUp/),
      expect.stringMatching(/^TenantDomaindomainremoveReplaced/),
      expect.stringMatching(/^TenantDomaindomainrollback/),
    ]);
  });
});

describe('the offboarding state machine', () => {
  it('is started by TenantOffboardingRequested events, with retries and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': [EventTypes.TenantOffboardingRequested] },
      Targets: [
        Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp('TenantOffboarding') },
          InputPath: '$.detail',
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
        }),
      ],
    });
  });

  it('writes exports only under exports/, and keeps a final snapshot of a dedicated instance', () => {
    const statements = taskStatements('TenantOffboarding');
    const s3Writes = statements.filter((st) => st.actions.some((a) => a.startsWith('s3:PutObject')));
    expect(s3Writes.length).toBeGreaterThanOrEqual(2);
    for (const st of s3Writes) expect(st.resource).toMatch(/\/(exports|tenant-api)\/\*|tenants\/\*/);
    // DeleteDBInstance with FinalDBSnapshotIdentifier is authorized as CreateDBSnapshot, whose resources are
    // the instance and the snapshot (the service authorization reference: db* and snapshot*, both required).
    const snapshotting = statements.filter((st) => st.actions.includes('rds:CreateDBSnapshot'));
    expect(snapshotting).toHaveLength(1);
    expect(snapshotting[0]!.resource).toMatch(/:db:tenant-\*/);
    expect(snapshotting[0]!.resource).toMatch(/:snapshot:tenant-\*/);
    // Exports are never deleted by the platform: Object Lock keeps them for the retention period.
    const archiveDeletes = statements.filter(
      (st) => st.resource.includes('exports/') && st.actions.some((a) => /Delete|Bypass/.test(a)),
    );
    expect(archiveDeletes).toEqual([]);
  });
});

describe('the cleanup state machine', () => {
  it('is started by Step Functions when an onboarding, release, suspension, offboarding, move or addition of capacity ends ABORTED, TIMED_OUT or FAILED', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          status: ['ABORTED', 'TIMED_OUT', 'FAILED'],
          stateMachineArn: [
            { Ref: Match.stringLikeRegexp('^TenantOnboarding') },
            { Ref: Match.stringLikeRegexp('^TenantRelease') },
            { Ref: Match.stringLikeRegexp('^TenantSuspension') },
            { Ref: Match.stringLikeRegexp('^TenantOffboarding') },
            { Ref: Match.stringLikeRegexp('^TenantMove') },
            { Ref: Match.stringLikeRegexp('^AddCapacity') },
          ],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp('TenantCleanup') },
          InputPath: '$.detail',
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
        }),
      ],
    });
  });

  it('may run every onboarding undo and switch a tenant back, and never touches the archive', () => {
    const actions = taskStatements('TenantCleanup').flatMap((st) => st.actions);
    for (const undo of [
      'secretsmanager:DeleteSecret',
      'lambda:DeleteFunction',
      'rds:DeleteDBInstance',
      'lambda:UpdateAlias',
    ])
      expect(actions).toContain(undo);
    expect(taskStatements('TenantCleanup').filter((st) => st.resource.includes('exports/'))).toEqual([]);
  });
});

describe("placement's reads of the whole account", () => {
  it('every RDS instance (db:*) only to be described, and every role only to be listed', () => {
    const all = taskStatements('');
    const onEveryInstance = all.filter((st) => st.resource.includes(':db:*'));
    expect(onEveryInstance.length).toBeGreaterThan(0);
    for (const st of onEveryInstance) expect(st.actions).toEqual(['rds:DescribeDBInstances']);
    const listing = all.filter((st) => st.actions.includes('iam:ListRoles'));
    expect(listing.length).toBeGreaterThan(0);
    for (const st of listing) expect([st.actions, st.resource]).toEqual([['iam:ListRoles'], '"*"']);
  });
});

describe('the control-plane API', () => {
  it('answers only IAM-signed GETs of the registry, from a Lambda in the VPC, with access logs', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((r) => r?.RouteKey).sort()).toEqual([
      'GET /cells',
      'GET /releases',
      'GET /tenants',
      'GET /tenants/{tenantId}',
    ]);
    for (const route of routes) expect(route?.AuthorizationType).toBe('AWS_IAM');
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
    const [, fn] = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith('ControlPlane'))!;
    expect(fn.Properties?.VpcConfig).toBeDefined();
    // It reads the registry and the account's quotas (GET /cells: their applied values, the roles and RDS
    // instances listed), and nothing else: no write.
    const actions = taskStatements('ControlPlane').flatMap((st) => st.actions);
    const reads =
      /^(secretsmanager:(GetSecretValue|DescribeSecret)|servicequotas:GetServiceQuota|iam:ListRoles|rds:DescribeDBInstances)$|^(xray|ec2):/;
    expect(actions.filter((a) => !reads.test(a))).toEqual([]);
  });
});

describe('alarms', () => {
  it('watch failed and timed-out onboardings, releases and cleanups, rollback failures and the dead-letter queue, and notify the topic', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties ?? {});
    const metrics = alarms
      .filter((a) => a.MetricName !== undefined)
      .map((a) => `${String(a.Namespace)}/${String(a.MetricName)}`)
      .sort();
    // The cleanup's: failed + timed out executions of the cleanup state machine, one alarm.
    const [cleanup, ...others] = alarms.filter((a) => a.MetricName === undefined);
    expect(others).toEqual([]);
    const stats = (cleanup?.Metrics as { MetricStat?: { Metric: Record<string, unknown> } }[]).flatMap((m) =>
      m.MetricStat ? [m.MetricStat.Metric] : [],
    );
    expect(stats.map((m) => m.MetricName)).toEqual(['ExecutionsFailed', 'ExecutionsTimedOut']);
    for (const metric of stats) expect(JSON.stringify(metric.Dimensions)).toMatch(/TenantCleanup/);
    expect(metrics).toEqual([
      'AWS/Events/TriggeredRules',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
      'AWS/States/ExecutionsFailed',
      'AWS/States/ExecutionsFailed',
      'AWS/States/ExecutionsTimedOut',
      'AWS/States/ExecutionsTimedOut',
    ]);
    for (const alarm of alarms) {
      expect(alarm).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [{ Ref: expect.stringMatching(/AlarmTopic/) as string }],
      });
    }
    // The TriggeredRules alarm watches the rule that matches TenantRollbackFailed and TenantOffboardingFailed.
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'detail-type': [EventTypes.TenantRollbackFailed, EventTypes.TenantOffboardingFailed],
      },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('AlarmTopic') } })],
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  it('e-mail the configured address', () => {
    const { template: withEmail, outdir } = synth({ alarmEmail: 'ops@example.com' });
    withEmail.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    rmSync(outdir, { recursive: true, force: true });
  });
});

describe('storage', () => {
  it('encrypts every bucket, blocks public access and refuses plain HTTP', () => {
    const buckets = ofType('AWS::S3::Bucket');
    expect(buckets.length).toBe(4); // access logs, artifacts, site, archive
    for (const [id, bucket] of buckets) {
      expect([id, bucket.Properties]).toEqual([
        id,
        expect.objectContaining({
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
            ],
          },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
        }),
      ]);
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('keeps exports in a versioned archive bucket no one can empty before the retention ends', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        VersioningConfiguration: { Status: 'Enabled' },
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 90 } },
        },
        LifecycleConfiguration: {
          Rules: [
            Match.objectLike({
              Prefix: 'exports/',
              ExpirationInDays: 90,
              Status: 'Enabled',
            }),
            // The dumps tenantctl import uploads: kept as long as an export, no longer.
            Match.objectLike({
              Prefix: 'imports/',
              ExpirationInDays: 90,
              Status: 'Enabled',
            }),
          ],
        },
      }),
    });
    // The retention is a context value; the task Lambdas record the same number.
    // So is the lock mode: compliance, where nobody may delete an export early, not even the root user.
    const { template: longer, outdir } = synth({ archiveRetentionDays: 365, archiveLockMode: 'compliance' });
    longer.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: Match.objectLike({
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 365 } },
      }),
    });
    const scope = new Stack();
    expect(
      () =>
        new TenantArchive(scope, 'Archive', {
          retentionDays: 1,
          accessLogs: new Bucket(scope, 'Logs'),
          lockMode: 'legal-hold' as ArchiveLockMode,
        }),
    ).toThrow('TenantArchive: lockMode must be "governance" or "compliance", got "legal-hold"');
    longer.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ARCHIVE_RETENTION_DAYS: '365' }) },
    });
    rmSync(outdir, { recursive: true, force: true });
  });

  it('bounds the onboardings provisioning at once with a context value the task Lambdas get', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ MAX_CONCURRENT_ONBOARDINGS: '10', ONBOARDING_TIMEOUT_SECONDS: '3600' }),
      },
    });
    const { template: wider, outdir } = synth({ maxConcurrentOnboardings: 25 });
    wider.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MAX_CONCURRENT_ONBOARDINGS: '25' }) },
    });
    rmSync(outdir, { recursive: true, force: true });
    const unbundled = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(() => new PlatformStack(unbundled, 'Zero', { maxConcurrentOnboardings: 0 })).toThrow(
      'maxConcurrentOnboardings must be a positive integer, got 0',
    );
  });

  it('serves the site bucket only through CloudFront with origin access control', () => {
    // The platform's distribution, and the multi-tenant one serving customers' own domains.
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 2);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Origins: [Match.objectLike({ OriginAccessControlId: Match.anyValue() })],
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
        Logging: Match.objectLike({ Bucket: Match.anyValue() }),
      }),
    });
  });

  it("lets the database instances reach each other on PostgreSQL's port only (a move replicates a tenant)", () => {
    const [groupId] = ofType('AWS::EC2::SecurityGroup').find(([, r]) =>
      String(r.Properties?.GroupDescription).startsWith('PostgreSQL instances'),
    )!;
    const self = { 'Fn::GetAtt': [groupId, 'GroupId'] };
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: self,
      SourceSecurityGroupId: self,
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: self,
      DestinationSecurityGroupId: self,
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
    });
    const egress = ofType('AWS::EC2::SecurityGroupEgress').filter(
      ([, r]) => JSON.stringify(r.Properties?.GroupId) === JSON.stringify(self),
    );
    expect(egress).toHaveLength(1);
    expect(resources[groupId]?.Properties?.SecurityGroupEgress).toBeUndefined();
  });

  it('keeps the shared database encrypted, private, backed up and protected, its password managed by RDS', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      StorageEncrypted: true,
      PubliclyAccessible: false,
      DeletionProtection: true,
      BackupRetentionPeriod: 7,
      ManageMasterUserPassword: true,
      MasterUserPassword: Match.absent(),
      DBSubnetGroupName: Match.anyValue(),
      // Every shared tenant's database is on it: Multi-AZ by default, and named outside tenant-* (the
      // tasks' rds:*DBInstance grants cover db:tenant-*).
      MultiAZ: true,
      DBInstanceIdentifier: 'platform-shared-db',
    });
    template.hasResource('AWS::RDS::DBInstance', { DeletionPolicy: 'Snapshot' });
    // Logical replication on (a move copies a tenant while it serves), in the group add-capacity names too.
    template.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      DBParameterGroupName: PlatformNames.sharedParameterGroup,
      Family: 'postgres18',
      Parameters: { 'rds.logical_replication': '1', max_slot_wal_keep_size: '8192' },
    });
    const [instance] = ofType('AWS::RDS::DBInstance');
    expect(instance?.[1].Properties?.DBParameterGroupName).toEqual({ Ref: expect.any(String) as string });
    const { template: cheap, outdir } = synth({ sharedDbMultiAz: false });
    cheap.hasResourceProperties('AWS::RDS::DBInstance', { MultiAZ: false });
    rmSync(outdir, { recursive: true, force: true });
  });

  it('versions the site and artifact buckets, expiring what was replaced after 30 days', () => {
    const buckets = ofType('AWS::S3::Bucket').filter(([id]) => /^Web(Site|Artifact)Bucket/.test(id));
    expect(buckets.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'WebArtifactBucket',
      'WebSiteBucket',
    ]);
    for (const [, bucket] of buckets)
      expect(bucket.Properties).toMatchObject({
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: {
          Rules: [expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } })],
        },
      });
  });
});

describe('IAM', () => {
  const statementsOf = (policy: unknown) =>
    ((policy as { Statement?: unknown[] } | undefined)?.Statement ?? []) as {
      Effect: string;
      Action: string | string[];
      Resource: unknown;
      Condition?: unknown;
    }[];
  const allStatements = () => [
    ...ofType('AWS::IAM::Policy').flatMap(([id, p]) =>
      statementsOf(p.Properties?.PolicyDocument).map((s) => ({ id, ...s })),
    ),
    ...ofType('AWS::IAM::ManagedPolicy').flatMap(([id, p]) =>
      statementsOf(p.Properties?.PolicyDocument).map((s) => ({ id, ...s })),
    ),
    ...ofType('AWS::IAM::Role').flatMap(([id, r]) =>
      ((r.Properties?.Policies ?? []) as { PolicyDocument: unknown }[]).flatMap((p) =>
        statementsOf(p.PolicyDocument).map((s) => ({ id, ...s })),
      ),
    ),
  ];

  it('has no statement allowing * actions on * resources', () => {
    const statements = allStatements();
    expect(statements.length).toBeGreaterThan(50);
    const list = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : [v]);
    const broad = statements.filter(
      (s) =>
        s.Effect === 'Allow' &&
        list(s.Action).some((a) => a === '*' || /^[a-z0-9-]+:\*$/.test(String(a))) &&
        list(s.Resource).includes('*'),
    );
    expect(broad).toEqual([]);
  });

  it('lets Deploy function create tenant roles only under the boundary, and pass them only to Lambda', () => {
    const deploy = allStatements().filter((s) => /deployfunctionrun/.test(s.id));
    const createRole = deploy.find((s) => [s.Action].flat().includes('iam:CreateRole'));
    expect(createRole).toMatchObject({
      Action: ['iam:CreateRole', 'iam:PutRolePolicy'],
      Condition: {
        StringEquals: {
          'iam:PermissionsBoundary': { Ref: expect.stringMatching(/TenantFunctionBoundary/) as string },
        },
      },
    });
    const passRole = deploy.find((s) => [s.Action].flat().includes('iam:PassRole'));
    expect(passRole).toMatchObject({
      Condition: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
    });
    expect(JSON.stringify(passRole?.Resource)).toContain(':role/tenant-*');
    // No other statement of any task grants IAM role writes but a move's to another account, which makes the
    // tenant's function there with Deploy function's code, under the same condition.
    const roleWrites = allStatements().filter((s) =>
      [s.Action]
        .flat()
        .some((a) => ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy'].includes(a)),
    );
    expect(roleWrites.map((s) => s.id)).toEqual([
      expect.stringMatching(/deployfunctionrun/),
      expect.stringMatching(/^TenantMovemovedeploy/),
    ]);
    for (const write of roleWrites)
      expect({ Action: write.Action, Condition: write.Condition }).toEqual({
        Action: createRole?.Action,
        Condition: createRole?.Condition,
      });
  });

  it('lets the tasks touch only alarms named for tenants, and only the steps that make or remove them', () => {
    const alarmStatements = allStatements().filter((s) =>
      [s.Action].flat().some((a) => a.startsWith('cloudwatch:') && a !== 'cloudwatch:PutMetricData'),
    );
    const tasks = alarmStatements.filter((s) => s.id.startsWith('TenantOnboarding'));
    expect([...new Set(tasks.map((s) => s.id.replace(/ServiceRoleDefaultPolicy.*$/, '')))].sort()).toEqual([
      'TenantOnboardingcheckinstancerun',
      'TenantOnboardingcreatedatabaseundo',
      'TenantOnboardingdeployfunctionrun',
      'TenantOnboardingdeployfunctionundo',
    ]);
    for (const statement of tasks)
      expect(JSON.stringify(statement.Resource)).toMatch(/^\{"Fn::Join":.*:alarm:tenant-\*"\]\]\}$/);
  });

  it('scopes tenant secrets, functions and site objects to the tenant name patterns', () => {
    const text = JSON.stringify(allStatements());
    expect(text).toContain('secret:tenants/*');
    expect(text).toContain('function:tenant-*');
    expect(text).toContain('/tenants/*');
  });
});

describe('Lambdas', () => {
  it('give every function a log group with retention', () => {
    const functions = ofType('AWS::Lambda::Function');
    // 20 onboarding (an import's inspection and the deletion of its credentials among them), 12 release,
    // 5 suspension, 12 offboarding, 1 cleanup, 8 domain, 4 add-capacity and 15 move task Lambdas, the
    // control plane's, the signup rule's target, and CDK's BucketDeployment function.
    expect(functions.length).toBe(80);
    for (const [id, fn] of functions) {
      const logGroup = (fn.Properties?.LoggingConfig as { LogGroup?: { Ref: string } } | undefined)?.LogGroup
        ?.Ref;
      expect([id, logGroup && resources[logGroup]?.Properties?.RetentionInDays]).toEqual([id, 30]);
    }
  });

  it('run the database steps in the VPC and tell Deploy function where tenant functions go', () => {
    const fns = ofType('AWS::Lambda::Function').filter(([id]) => id.startsWith('TenantOnboarding'));
    const inVpc = fns
      .filter(([, fn]) => fn.Properties?.VpcConfig)
      .map(([id]) => id.replace(/[A-Z0-9]{8}$/, ''));
    expect(inVpc.sort()).toEqual(
      [
        'TenantOnboardingactivatetenantrun',
        'TenantOnboardingapplyschemarun',
        'TenantOnboardingcheckinstancerun',
        'TenantOnboardingcreatedatabaserun',
        'TenantOnboardingcreatedatabaseundo',
        'TenantOnboardinginspectsourcerun',
        'TenantOnboardinginspectsourceundo',
        'TenantOnboardinginvalidatecacherun',
        'TenantOnboardingrecordrollbackfailurerun',
        'TenantOnboardingregistertenantrun',
        'TenantOnboardingregistertenantundo',
      ].sort(),
    );
    const deploy = fns.find(([id]) => id.startsWith('TenantOnboardingdeployfunctionrun'))![1];
    const variables = (deploy.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    for (const key of [
      TaskEnv.tenantSubnetIds,
      TaskEnv.tenantSecurityGroupId,
      TaskEnv.tenantRoleBoundaryArn,
      TaskEnv.dedicatedSubnetGroup,
      TaskEnv.dedicatedSecurityGroup,
      TaskEnv.alarmTopicArn,
    ]) {
      expect([key, variables[key]]).toEqual([key, expect.anything()]);
    }
  });
});

describe('outputs', () => {
  it('name the state machine, the event bus and the distribution', () => {
    const outputs = Object.keys(template.toJSON().Outputs as object);
    expect(outputs).toEqual(
      expect.arrayContaining([
        'StateMachineArn',
        'ReleaseStateMachineArn',
        'EventBusName',
        'DistributionDomainName',
        'DistributionId',
      ]),
    );
  });
});

describe('configuration', () => {
  it('refuses a log retention CloudWatch does not offer, and a domain without its certificate', () => {
    expect(() => new PlatformStack(new App(), 'A', { logRetentionDays: 31 })).toThrow(
      /logRetentionDays must be one of/,
    );
    expect(() => new PlatformStack(new App(), 'B', { platformDomain: 'shops.example.com' })).toThrow(
      /platformDomain and siteCertificateArn/,
    );
  });

  it('puts the platform domain on the distribution with TLS 1.2, every tenant at once on <id>.<domain>', () => {
    const { template: custom, outdir } = synth({
      platformDomain: 'shops.example.com',
      siteCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
      platformHostedZoneId: 'Z0123456789ABCDEFGHIJ',
      sharedDbMultiAz: true,
      sharedInstanceClass: 'm7g.large',
    });
    custom.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Aliases: ['shops.example.com', '*.shops.example.com'],
        ViewerCertificate: Match.objectLike({ MinimumProtocolVersion: 'TLSv1.2_2021' }),
        DefaultCacheBehavior: Match.objectLike({
          FunctionAssociations: [Match.objectLike({ EventType: 'viewer-request' })],
        }),
      }),
    });
    for (const Type of ['A', 'AAAA'])
      custom.hasResourceProperties('AWS::Route53::RecordSet', {
        Name: '*.shops.example.com.',
        Type,
        HostedZoneId: 'Z0123456789ABCDEFGHIJ',
        AliasTarget: Match.objectLike({ HostedZoneId: Match.anyValue() }),
      });
    const rewrite = viewerFunction(custom, '<tenantId>.<platform domain>');
    expect(rewrite(viewerRequest('shop-a.shops.example.com', '/'))).toMatchObject({
      uri: '/tenants/shop-a/index.html',
    });
    expect(rewrite(viewerRequest('shop-a.shops.example.com', '/app.js'))).toMatchObject({
      uri: '/tenants/shop-a/app.js',
    });
    // Not a tenant's address: unchanged.
    for (const host of ['shops.example.com', 'a.b.shops.example.com', 'shops.example.com.evil.test'])
      expect(rewrite(viewerRequest(host, '/tenants/x/'))).toMatchObject({ uri: '/tenants/x/' });
    custom.hasResourceProperties('AWS::RDS::DBInstance', { MultiAZ: true, DBInstanceClass: 'db.m7g.large' });
    rmSync(outdir, { recursive: true, force: true });
  });
});

describe('cells that are AWS accounts of their own (common/cells.ts)', () => {
  const CELL_ACCOUNT = '210987654321';
  const assumeStatements = (all: Resources) =>
    Object.values(all)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => (r.Properties?.PolicyDocument as { Statement: { Action: unknown }[] }).Statement)
      .filter((st) => st.Action === 'sts:AssumeRole');

  it("lets every task Lambda assume its own role's copy in each cell account, and names its role to it", () => {
    const built = synth({
      quotas: capacitySettings({ cells: 2, cellAccounts: { 'cell-2': CELL_ACCOUNT } }, 'test'),
    });
    rmSync(built.outdir, { recursive: true, force: true });
    const all = built.template.toJSON().Resources as Resources;
    const tasks = Object.entries(all).filter(
      ([, r]) =>
        r.Type === 'AWS::Lambda::Function' &&
        JSON.stringify(r.Properties?.Environment ?? {}).includes(TaskEnv.taskRoleName),
    );
    expect(tasks.length).toBeGreaterThan(20);
    for (const [, fn] of tasks) {
      const variables = (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      const role = (fn.Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      // Its own role's name, which the cell's stack names its copy (infra/cell-stack.ts).
      expect(variables[TaskEnv.taskRoleName]).toEqual(all[role]?.Properties?.RoleName);
      expect(variables[TaskEnv.taskRoleName]).toMatch(/^TenantPlatform-[a-zA-Z-]+$/);
    }
    const statements = assumeStatements(all).map((st) => JSON.stringify(st));
    expect(statements).toHaveLength(tasks.length);
    // Only those with work in a cell (a grant on tenant resources): not the signup starter, nor a step
    // that writes the registry only.
    const named = tasks.map(
      ([, fn]) =>
        (fn.Properties?.Environment as { Variables: Record<string, string> }).Variables[TaskEnv.taskRoleName],
    );
    expect(named).toEqual(
      expect.arrayContaining(['TenantPlatform-deploy-function-run', 'TenantPlatform-capacity-create']),
    );
    for (const without of [
      'TenantPlatform-signup',
      'TenantPlatform-offboarding-markOffboarded',
      'TenantPlatform-validate-input-run',
    ])
      expect(named).not.toContain(without);
    for (const statement of statements) {
      expect(statement).toContain(`:iam::${CELL_ACCOUNT}:role/`);
      expect(statement).not.toContain('*');
    }
  });

  it('adds nothing while every cell is in the platform account', () => {
    expect(assumeStatements(resources)).toEqual([]);
    // No role is named (CloudFormation names them as before), no bucket lets another account in.
    const functionRoles = new Set(
      ofType('AWS::Lambda::Function').map(
        ([, fn]) => (fn.Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0],
      ),
    );
    expect(
      ofType('AWS::IAM::Role').filter(([id, r]) => functionRoles.has(id) && r.Properties?.RoleName),
    ).toEqual([]);
    expect(JSON.stringify(ofType('AWS::S3::BucketPolicy'))).not.toContain('aws:PrincipalArn');
    expect(JSON.stringify(resources)).not.toMatch(/CELL_BOUNDARY_NAME|CELL_SUBNET_GROUP/);
    // No peering role, no tag on the network for the cells to find it by (infra/cell-peering.ts).
    expect(JSON.stringify(resources)).not.toMatch(/cell-peering|tenant-platform:platform-network/);
    const named = ofType('AWS::Lambda::Function').filter(([, r]) =>
      JSON.stringify(r.Properties?.Environment ?? {}).includes(TaskEnv.taskRoleName),
    );
    expect(named).toEqual([]);
  });
});
