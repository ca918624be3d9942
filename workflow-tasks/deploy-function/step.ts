import {
  CreateApiCommand,
  CreateIntegrationCommand,
  CreateRouteCommand,
  CreateStageCommand,
  DeleteApiCommand,
  GetApiCommand,
  GetApisCommand,
  GetIntegrationsCommand,
  GetRoutesCommand,
  GetStagesCommand,
  type Api,
} from '@aws-sdk/client-apigatewayv2';
import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetRoleCommand,
  PutRolePolicyCommand,
  type Role,
} from '@aws-sdk/client-iam';
import {
  AddPermissionCommand,
  CreateAliasCommand,
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  PublishVersionCommand,
  TagResourceCommand,
  type AliasConfiguration,
  type GetFunctionCommandOutput,
} from '@aws-sdk/client-lambda';
import { OnboardingError, PermanentErrors, TransientErrors } from '../../common/errors';
import { PlatformNames, TaskEnv, TenantApiEnv, tenantResourceNames } from '../../common/names';
import { codeVersionOf, tenantApiArtifactKey } from '../../common/versions';
import { deleteTenantAlarm, putTenantAlarm } from '../lib/alarms';
import { functionNetwork } from '../lib/cell-network';
import { cellAccount, cellAws, ignoreNotFound, isAlreadyExists, isNotFound } from '../lib/aws';
import { requiredEnv } from '../../common/env';
import { resultOf, tenantOf } from '../lib/handler';
import { settled } from '../lib/settled';
import { ownedBy, tagList, tagsFromList, tenantTags } from '../lib/tags';
import type { StepResults, TaskEvent, ValidatedTenant } from '../lib/types';
import { deleteLogGroup, ensureLogGroup } from './log-group';

const POLICY_NAME = 'read-own-secret';
/**
 * The function's tag naming its HTTP API, so the API is found with two reads instead of by listing every
 * tenant's APIs: `creating` from the function's creation until its API is recorded (an API made meanwhile
 * may be unrecorded), then the API's id.
 */
const API_ID_TAG = 'api-id';
const CREATING_API = 'creating';
/**
 * The tenant's frontend (on the CloudFront domain or its own) calls the API from another origin. The API
 * authenticates with bearer tokens, not cookies, so any origin may call it.
 */
const TENANT_API_CORS = {
  AllowOrigins: ['*'],
  AllowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
  AllowHeaders: ['authorization', 'content-type'],
  MaxAge: 600,
};
const DEFAULT_RUNTIME = 'nodejs22.x';

/**
 * The tenant's API: an IAM role that can read only this tenant's secret, the function's log group with the
 * platform's retention, the API Lambda from the platform's artifact (its environment names the secret,
 * never the password) at the version "Register tenant" picked, published as version 1 with the alias `live`
 * on it, an HTTP API whose `$default` route and stage send everything to that alias (a release moves it),
 * and the function's Errors alarm. Each piece is created first and looked up only when it exists already,
 * and what this run created new (a function, an API) is not looked into: a re-run adds nothing, and a first
 * run makes no call it does not need.
 *
 * What does not wait for another piece runs beside it, so the calls one after another are six, not twelve:
 * the role, then the function; then the version and alias beside the API, its integration and route (the
 * integration names the alias's ARN, known before the alias exists; the stage and the API's id on the
 * function go beside the route); then the API's permission to invoke the alias. The role's policy, the
 * log group and the alarm run meanwhile. The step ends only once every call has.
 */
export async function run(event: TaskEvent): Promise<StepResults['function']> {
  const tenant = tenantOf(event);
  const { secretArn } = resultOf(event, 'secret');
  const role = ensureRole(tenant);
  const deployed = role.then(async ({ Arn = '' }) => {
    const { fn, created } = await ensureFunction(event, tenant, Arn, secretArn);
    const functionArn = fn.Configuration?.FunctionArn ?? '';
    const [live, api] = await settled([
      ensureLiveAlias(tenant, created),
      ensureApi(tenant, fn, `${functionArn}:${PlatformNames.liveAlias}`, created),
    ]);
    await allowApiToInvoke(tenant, functionArn, api.ApiId ?? '');
    return { functionArn, live, api };
  });
  const [{ Arn: roleArn = '' }, { functionArn, live, api }] = await settled([
    role,
    deployed,
    role.then(() => putRolePolicy(tenant, secretArn)),
    ensureLogGroup(tenant),
    putTenantAlarm(tenant, 'api-errors'),
  ]);
  return {
    functionName: tenant.names.functionName,
    functionArn,
    aliasArn: live.alias.AliasArn ?? '',
    liveVersion: live.alias.FunctionVersion ?? '',
    codeVersion: codeVersionOf(live.codeSha256),
    roleName: tenant.names.functionRoleName,
    roleArn,
    apiId: api.ApiId ?? '',
    apiEndpoint: api.ApiEndpoint ?? '',
  };
}

/**
 * Deletes the function's alarm, the HTTP API, the function (its versions and alias with it), the role and
 * the log group, each only if it carries this tenant's tag.
 */
export async function undo(event: TaskEvent): Promise<void> {
  const tenant = tenantOf(event);
  const { apigw, lambda, iam } = cellAws();
  await deleteTenantAlarm(tenant, 'api-errors');
  const api = await findApi(tenant.tenantId);
  if (api?.ApiId) await ignoreNotFound(apigw.send(new DeleteApiCommand({ ApiId: api.ApiId })));

  const fn = await getFunction(tenant.names.functionName);
  if (fn && ownedBy(fn.Tags, tenant.tenantId)) {
    await ignoreNotFound(lambda.send(new DeleteFunctionCommand({ FunctionName: tenant.names.functionName })));
  }

  const role = await getRole(tenant.names.functionRoleName);
  if (role && ownedBy(tagsFromList(role.Tags), tenant.tenantId)) {
    const RoleName = tenant.names.functionRoleName;
    await ignoreNotFound(iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName: POLICY_NAME })));
    await ignoreNotFound(iam.send(new DeleteRoleCommand({ RoleName })));
  }
  await deleteLogGroup(tenant);
}

async function ensureRole(tenant: ValidatedTenant): Promise<Role> {
  const { iam } = cellAws();
  const RoleName = tenant.names.functionRoleName;
  const boundary = boundaryArn();
  let role: Role | undefined;
  try {
    const created = await iam.send(
      new CreateRoleCommand({
        RoleName,
        Description: `API function of tenant ${tenant.tenantId}`,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        }),
        Tags: tagList(tenant.tenantId),
        ...(boundary ? { PermissionsBoundary: boundary } : {}),
      }),
    );
    role = created.Role;
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    role = await getRole(RoleName);
    if (role && !ownedBy(tagsFromList(role.Tags), tenant.tenantId))
      throw conflict(`IAM role ${RoleName}`, tenant);
  }
  if (!role?.Arn) throw new Error(`IAM role ${RoleName} has no ARN`);
  return role;
}

/**
 * The permissions boundary the tenant's role is made under: the platform's, or in a cell that is an AWS
 * account of its own that cell's (its stack's, by the name the environment gives, infra/cell-stack.ts).
 */
function boundaryArn(): string | undefined {
  const home = process.env[TaskEnv.tenantRoleBoundaryArn];
  const account = cellAccount();
  if (!home || !account) return home;
  const partition = home.split(':')[1] ?? 'aws';
  return `arn:${partition}:iam::${account}:policy/${requiredEnv(TaskEnv.cellBoundaryName)}`;
}

/** The role's one inline policy: read the tenant's secret, write its log group (and its VPC interfaces). */
async function putRolePolicy(tenant: ValidatedTenant, secretArn: string): Promise<void> {
  const RoleName = tenant.names.functionRoleName;
  await cellAws().iam.send(
    new PutRolePolicyCommand({
      RoleName,
      PolicyName: POLICY_NAME,
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretArn },
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: `arn:aws:logs:*:*:log-group:/aws/lambda/${tenant.names.functionName}:*`,
          },
          ...((await functionNetwork())
            ? [
                {
                  // Lambda manages the function's network interfaces in the VPC with these; EC2 offers no
                  // resource-level permissions for the Describe call, and the boundary caps the rest.
                  Effect: 'Allow',
                  Action: [
                    'ec2:CreateNetworkInterface',
                    'ec2:DescribeNetworkInterfaces',
                    'ec2:DeleteNetworkInterface',
                    'ec2:AssignPrivateIpAddresses',
                    'ec2:UnassignPrivateIpAddresses',
                  ],
                  Resource: '*',
                },
              ]
            : []),
        ],
      }),
    }),
  );
}

/** The subnets and security group of tenant functions in the step's cell, when they run in a VPC (on AWS). */
async function vpcConfig(): Promise<{ SubnetIds: string[]; SecurityGroupIds: string[] } | undefined> {
  const network = await functionNetwork();
  return network && { SubnetIds: network.subnetIds, SecurityGroupIds: [network.securityGroupId] };
}

async function ensureFunction(
  event: TaskEvent,
  tenant: ValidatedTenant,
  roleArn: string,
  secretArn: string,
): Promise<{ fn: GetFunctionCommandOutput; created: boolean }> {
  const FunctionName = tenant.names.functionName;
  const Tags = { ...tenantTags(tenant.tenantId), [API_ID_TAG]: CREATING_API };
  const vpc = await vpcConfig();
  try {
    const configuration = await cellAws().lambda.send(
      new CreateFunctionCommand({
        FunctionName,
        Description: `Shop API of tenant ${tenant.tenantId}`,
        Runtime: (process.env[TaskEnv.tenantFunctionRuntime] ?? DEFAULT_RUNTIME) as never,
        Handler: 'index.handler',
        Role: roleArn,
        // The version "Register tenant" picked, whose migrations "Apply schema" runs.
        Code: {
          S3Bucket: requiredEnv(TaskEnv.artifactBucket),
          S3Key: tenantApiArtifactKey(resultOf(event, 'registration').tenantApiVersion),
        },
        Environment: {
          Variables: { [TenantApiEnv.tenantId]: tenant.tenantId, [TenantApiEnv.secretArn]: secretArn },
        },
        Timeout: 10,
        MemorySize: 256,
        Tags,
        ...(vpc ? { VpcConfig: vpc } : {}),
      }),
    );
    return { fn: { Configuration: configuration, Tags, $metadata: configuration.$metadata }, created: true };
  } catch (error) {
    const message = (error as Error).message ?? '';
    // A new IAM role takes a few seconds to become assumable by Lambda.
    if ((error as Error).name === 'InvalidParameterValueException' && /assume/i.test(message)) {
      throw new OnboardingError(TransientErrors.ResourceNotReady, `role not assumable yet: ${message}`, {
        cause: error,
      });
    }
    if (!isAlreadyExists(error)) throw error;
  }
  const existing = await getFunction(FunctionName);
  if (!existing) throw new Error(`function ${FunctionName} vanished after creation`);
  if (!ownedBy(existing.Tags, tenant.tenantId)) throw conflict(`function ${FunctionName}`, tenant);
  return { fn: existing, created: false };
}

/**
 * The alias `live` and the code of the version it is on: kept where it is when it exists (a release may
 * have moved it), otherwise a version is published from the function as created and the alias put on it.
 * A function this run created has no alias yet.
 */
async function ensureLiveAlias(
  tenant: ValidatedTenant,
  functionIsNew: boolean,
): Promise<{ alias: AliasConfiguration; codeSha256: string }> {
  const { lambda } = cellAws();
  const FunctionName = tenant.names.functionName;
  const Name = PlatformNames.liveAlias;
  const existing = async () => {
    const alias = await lambda.send(new GetAliasCommand({ FunctionName, Name }));
    const configuration = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName, Qualifier: Name }),
    );
    return { alias, codeSha256: configuration.CodeSha256 ?? '' };
  };
  if (!functionIsNew) {
    try {
      return await existing();
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  const { Version, CodeSha256 } = await lambda.send(new PublishVersionCommand({ FunctionName }));
  try {
    const alias = await lambda.send(new CreateAliasCommand({ FunctionName, Name, FunctionVersion: Version }));
    return { alias, codeSha256: CodeSha256 ?? '' };
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    return existing(); // a concurrent run made it
  }
}

/**
 * The tenant's HTTP API, sending everything to `aliasArn`. A function this run created has no API: nothing
 * is looked up. The API's id is recorded on the function beside its integration, route and stage.
 */
async function ensureApi(
  tenant: ValidatedTenant,
  fn: GetFunctionCommandOutput,
  aliasArn: string,
  functionIsNew: boolean,
): Promise<Pick<Api, 'ApiId' | 'ApiEndpoint'>> {
  const { apigw } = cellAws();
  const recordApi = (id: string) =>
    cellAws().lambda.send(
      new TagResourceCommand({ Resource: fn.Configuration?.FunctionArn, Tags: { [API_ID_TAG]: id } }),
    );
  let api = functionIsNew ? undefined : await apiOf(tenant.tenantId, fn);
  const apiIsNew = !api;
  if (!api) {
    if (fn.Tags?.[API_ID_TAG] !== CREATING_API) await recordApi(CREATING_API);
    api = await apigw.send(
      new CreateApiCommand({
        Name: tenant.names.apiName,
        ProtocolType: 'HTTP',
        CorsConfiguration: TENANT_API_CORS,
        Tags: tenantTags(tenant.tenantId),
      }),
    );
  }
  const ApiId = api.ApiId ?? '';
  await settled([
    // Also records an API found by listing (made by a run that stopped before recording it).
    fn.Tags?.[API_ID_TAG] === ApiId ? Promise.resolve() : recordApi(ApiId),
    ensureIntegration(ApiId, aliasArn, apiIsNew).then((integrationId) =>
      ensureDefaultRoute(ApiId, integrationId, apiIsNew),
    ),
    ensureDefaultStage(tenant, ApiId, apiIsNew),
  ]);
  return api;
}

// A new API has no integration, route or stage yet: nothing to look up.

async function ensureIntegration(ApiId: string, aliasArn: string, apiIsNew: boolean): Promise<string> {
  const { apigw } = cellAws();
  const integrations = apiIsNew ? undefined : await apigw.send(new GetIntegrationsCommand({ ApiId }));
  const existing = integrations?.Items?.find((i) => i.IntegrationUri === aliasArn)?.IntegrationId;
  if (existing) return existing;
  const created = await apigw.send(
    new CreateIntegrationCommand({
      ApiId,
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: aliasArn,
      PayloadFormatVersion: '2.0',
    }),
  );
  return created.IntegrationId ?? '';
}

async function ensureDefaultRoute(ApiId: string, integrationId: string, apiIsNew: boolean): Promise<void> {
  const { apigw } = cellAws();
  const routes = apiIsNew ? undefined : await apigw.send(new GetRoutesCommand({ ApiId }));
  if (routes?.Items?.some((r) => r.RouteKey === '$default')) return;
  await apigw.send(
    new CreateRouteCommand({ ApiId, RouteKey: '$default', Target: `integrations/${integrationId}` }),
  );
}

async function ensureDefaultStage(tenant: ValidatedTenant, ApiId: string, apiIsNew: boolean): Promise<void> {
  const { apigw } = cellAws();
  const stages = apiIsNew ? undefined : await apigw.send(new GetStagesCommand({ ApiId }));
  if (stages?.Items?.some((s) => s.StageName === '$default')) return;
  await apigw.send(
    new CreateStageCommand({
      ApiId,
      StageName: '$default',
      AutoDeploy: true,
      Tags: tenantTags(tenant.tenantId),
    }),
  );
}

async function allowApiToInvoke(tenant: ValidatedTenant, functionArn: string, apiId: string): Promise<void> {
  // arn:aws:lambda:<region>:<account>:function:<name>
  const [, partition, , region, account] = functionArn.split(':');
  try {
    await cellAws().lambda.send(
      new AddPermissionCommand({
        FunctionName: tenant.names.functionName,
        Qualifier: PlatformNames.liveAlias,
        StatementId: 'http-api-invoke',
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        SourceArn: `arn:${partition ?? 'aws'}:execute-api:${region ?? ''}:${account ?? ''}:${apiId}/*`,
      }),
    );
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

/** What is read of a tenant's HTTP API. */
export type TenantApi = Pick<Api, 'ApiId' | 'ApiEndpoint' | 'CorsConfiguration'>;

/**
 * The tenant's HTTP API: named for the tenant and carrying its tag (API ids are not names). Its function's
 * `api-id` tag says where it is, or that there is none; only when that tag cannot tell (an API being made
 * when a run stopped, or a function from before the tag) are all the account's APIs listed.
 */
export async function findApi(tenantId: string): Promise<TenantApi | undefined> {
  const fn = await getFunction(tenantResourceNames(tenantId).functionName);
  // The API is made after the function and removed before it.
  return fn && ownedBy(fn.Tags, tenantId) ? apiOf(tenantId, fn) : undefined;
}

async function apiOf(tenantId: string, fn: GetFunctionCommandOutput): Promise<TenantApi | undefined> {
  const recorded = fn.Tags?.[API_ID_TAG];
  if (recorded === undefined || recorded === CREATING_API) return listedApi(tenantId);
  try {
    const api = await cellAws().apigw.send(new GetApiCommand({ ApiId: recorded }));
    const { apiName } = tenantResourceNames(tenantId);
    return api.Name === apiName && ownedBy(api.Tags, tenantId) ? api : undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function listedApi(tenantId: string): Promise<TenantApi | undefined> {
  const { apiName } = tenantResourceNames(tenantId);
  let NextToken: string | undefined;
  do {
    const page = await cellAws().apigw.send(new GetApisCommand({ NextToken }));
    const match = page.Items?.find((api) => api.Name === apiName && ownedBy(api.Tags, tenantId));
    if (match) return match;
    NextToken = page.NextToken;
  } while (NextToken);
  return undefined;
}

async function getFunction(FunctionName: string): Promise<GetFunctionCommandOutput | undefined> {
  try {
    return await cellAws().lambda.send(new GetFunctionCommand({ FunctionName }));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function getRole(RoleName: string): Promise<Role | undefined> {
  try {
    return (await cellAws().iam.send(new GetRoleCommand({ RoleName }))).Role;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function conflict(what: string, tenant: ValidatedTenant): OnboardingError {
  return new OnboardingError(
    PermanentErrors.ResourceConflict,
    `${what} exists but does not belong to tenant ${tenant.tenantId}`,
  );
}
