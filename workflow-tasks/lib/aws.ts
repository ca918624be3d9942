import { OnboardingError, TransientErrors } from '../../common/errors';
import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';

/**
 * The SDK clients of the task Lambdas, built once per process. The SDK honours `AWS_ENDPOINT_URL` itself
 * (that is how the local runtime points them at the emulator); S3 then needs path-style addressing because
 * an emulator on 127.0.0.1 has no per-bucket host names.
 */
export interface AwsClients {
  readonly secrets: SecretsManagerClient;
  readonly lambda: LambdaClient;
  readonly apigw: ApiGatewayV2Client;
  readonly s3: S3Client;
  readonly cloudfront: CloudFrontClient;
  readonly events: EventBridgeClient;
  readonly iam: IAMClient;
  readonly rds: RDSClient;
  readonly logs: CloudWatchLogsClient;
  readonly cloudwatch: CloudWatchClient;
  readonly sfn: SFNClient;
  readonly serviceQuotas: ServiceQuotasClient;
  /** Service Quotas in us-east-1, where the quotas of global services (IAM) are kept. */
  readonly globalServiceQuotas: ServiceQuotasClient;
}

let cached: { endpoint: string | undefined; clients: AwsClients } | undefined;

/** A plugin of the SDK's middleware stacks. */
export type ClientPlugin = Parameters<SFNClient['middlewareStack']['use']>[0];
let plugins: readonly ClientPlugin[] = [];

/**
 * Plugins every client made from now on gets. The local platform's sends the calling task's role with each
 * request (local/iam/principal.ts), as a Lambda's role credentials do; on AWS there are none.
 */
export function useClientPlugins(list: readonly ClientPlugin[]): void {
  plugins = list;
  cached = undefined;
}

export function aws(): AwsClients {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  // Keyed by endpoint so a local platform restarted on a new emulator port gets fresh clients.
  if (cached && cached.endpoint === endpoint) return cached.clients;
  const clients: AwsClients = {
    secrets: new SecretsManagerClient({}),
    lambda: new LambdaClient({}),
    apigw: new ApiGatewayV2Client({}),
    s3: new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) }),
    cloudfront: new CloudFrontClient({}),
    events: new EventBridgeClient({}),
    iam: new IAMClient({}),
    rds: new RDSClient({}),
    logs: new CloudWatchLogsClient({}),
    cloudwatch: new CloudWatchClient({}),
    sfn: new SFNClient({}),
    serviceQuotas: new ServiceQuotasClient({}),
    globalServiceQuotas: new ServiceQuotasClient({ region: 'us-east-1' }),
  };
  // Each client's stack takes its own input and output types; a plugin of this module works on any of them.
  const stacks = Object.values(clients).map(
    (client: { middlewareStack: { use(plugin: ClientPlugin): void } }) => client.middlewareStack,
  );
  for (const stack of stacks) for (const plugin of plugins) stack.use(plugin);
  cached = { endpoint, clients };
  return clients;
}

/** True when the SDK error says the thing asked for does not exist (used by idempotent undos). */
export function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name ?? '';
  return [
    'ResourceNotFoundException',
    'NoSuchEntityException',
    'NotFoundException',
    'NoSuchEntity',
    'NoSuchKey',
    'DBInstanceNotFoundFault',
    'DBInstanceNotFound',
    // CloudFront; Step Functions
    'EntityNotFound',
    'ExecutionDoesNotExist',
  ].includes(name);
}

/** True when the SDK error says the thing being created already exists. */
export function isAlreadyExists(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name ?? '';
  return [
    'ResourceExistsException',
    'ResourceAlreadyExistsException',
    'EntityAlreadyExistsException',
    'ResourceConflictException',
    'ConflictException',
    'DBInstanceAlreadyExistsFault',
    'DBInstanceAlreadyExists',
  ].includes(name);
}

/** Awaits a delete call, treating "already gone" as success (undos must be idempotent). */
export async function ignoreNotFound(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/**
 * Lambda refuses a change to a function while its previous change is still being applied
 * (ResourceConflictException): that clears in a moment, so it is reported as the transient ResourceNotReady.
 */
export async function whileUpdating<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if ((error as Error).name === 'ResourceConflictException')
      throw new OnboardingError(TransientErrors.ResourceNotReady, (error as Error).message, { cause: error });
    throw error;
  }
}

/** Whether a Step Functions execution still runs (one that ended, or never existed, does not). */
export async function executionRunning(executionArn: string): Promise<boolean> {
  try {
    const described = await aws().sfn.send(new DescribeExecutionCommand({ executionArn }));
    return described.status === 'RUNNING';
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/**
 * Starts the execution `name` of `stateMachineArn` unless it exists already (a retried step starts it
 * once); its ARN either way.
 */
export async function startExecutionOnce(
  stateMachineArn: string,
  name: string,
  input: unknown,
): Promise<string> {
  try {
    await aws().sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
  }
  return executionArnOf(stateMachineArn, name);
}

/** `arn:...:stateMachine:<machine>` and a name: `arn:...:execution:<machine>:<name>`. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}
