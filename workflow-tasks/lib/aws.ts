import { AsyncLocalStorage } from 'node:async_hooks';
import { OnboardingError, TransientErrors } from '../../common/errors';
import { DEFAULT_CAPACITY, parseCapacitySettings } from '../../common/capacity';
import { cellRoleArn } from '../../common/cells';
import { TaskEnv } from '../../common/names';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { processScope } from './process-scope';
import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
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
  /** A cell's network (lib/cell-network.ts). */
  readonly ec2: EC2Client;
  readonly sfn: SFNClient;
  readonly serviceQuotas: ServiceQuotasClient;
  /** Service Quotas in us-east-1, where the quotas of global services (IAM) are kept. */
  readonly globalServiceQuotas: ServiceQuotasClient;
}

let cached: { endpoint: string | undefined; clients: AwsClients } | undefined;
/** The clients of each cell account, by the calling process's scope and the account. */
let cellClients = new Map<string, { endpoint: string | undefined; clients: AwsClients }>();

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
  cellClients = new Map();
}

/** The clients of the platform's own account, with the task's own role. */
export function aws(): AwsClients {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  // Keyed by endpoint so a local platform restarted on a new emulator port gets fresh clients.
  if (cached && cached.endpoint === endpoint) return cached.clients;
  cached = { endpoint, clients: makeClients({}) };
  return cached.clients;
}

/**
 * The clients of a cell's account (common/cells.ts): the platform's own when `account` is undefined, else
 * with the credentials of the account's copy of the task's role, assumed through STS (one session for them
 * all, renewed before it expires). Made once per account (per task role locally, where the tasks share a
 * process).
 */
export function awsIn(account: string | undefined): AwsClients {
  if (!account) return aws();
  const endpoint = process.env.AWS_ENDPOINT_URL;
  const roleName = taskRoleName();
  const key = `${roleName}|${account}`;
  const found = cellClients.get(key);
  if (found && found.endpoint === endpoint) return found.clients;
  const credentials = sharedCredentials(
    fromTemporaryCredentials({
      params: {
        RoleArn: cellRoleArn(account, roleName),
        RoleSessionName: `cell-${roleName}`.slice(0, 64),
      },
      // The STS request is the task's own, made as its own role (the local platform's plugins say which).
      clientPlugins: [...plugins],
    }),
  );
  const clients = makeClients({ credentials });
  cellClients.set(key, { endpoint, clients });
  return clients;
}

const currentCell = new AsyncLocalStorage<string | undefined>();

/**
 * Runs `work` in the cell whose account is `account` (undefined: a cell in the platform's account): what
 * it asks cellAws() for is made or found there.
 */
export function inCell<T>(account: string | undefined, work: () => T): T {
  return currentCell.run(account, work);
}

/** The account of the cell the calling step works in (inCell), undefined for the platform's. */
export function cellAccount(): string | undefined {
  return currentCell.getStore();
}

/**
 * The clients of the account of the cell the calling step works in (inCell; the task handler runs an
 * onboarding step in its registration's cell): for a tenant's own resources. aws() stays the platform's,
 * for the control plane's (the registry's secret, the state machines, the bus, the buckets, CloudFront).
 */
export function cellAws(): AwsClients {
  return awsIn(cellAccount());
}

/**
 * The clients of the account `arn` names (a secret's, a function's) when it is one of the cells' accounts
 * (common/cells.ts), else the platform's: what a step reads by ARN is read where it is.
 */
export function awsFor(arn: string): AwsClients {
  const account = arn.startsWith('arn:') ? arn.split(':')[4] : undefined;
  return account && cellAccounts().includes(account) ? awsIn(account) : aws();
}

let accountsRead: { given: string | undefined; accounts: string[] } | undefined;

/** The accounts of the cells that have their own, from the capacity settings of the task environment. */
export function cellAccounts(): string[] {
  const given = process.env[TaskEnv.capacity];
  if (!accountsRead || accountsRead.given !== given) {
    const settings = given ? parseCapacitySettings(given, TaskEnv.capacity) : DEFAULT_CAPACITY;
    accountsRead = { given, accounts: Object.values(settings.cellAccounts) };
  }
  return accountsRead.accounts;
}

type CredentialsProvider = ReturnType<typeof fromTemporaryCredentials>;
/** Credentials are renewed this long before they expire. */
const RENEW_BEFORE_MS = 5 * 60_000;

/**
 * One session for every client of an account: each SDK client would otherwise assume the role on its own
 * (thirteen AssumeRole calls where one will do). A failed attempt is not kept.
 */
function sharedCredentials(provider: CredentialsProvider): CredentialsProvider {
  let current: ReturnType<CredentialsProvider> | undefined;
  return async () => {
    const held = current && (await current.catch(() => undefined));
    if (held && (!held.expiration || held.expiration.getTime() - Date.now() > RENEW_BEFORE_MS)) return held;
    const next = provider();
    current = next;
    next.catch(() => {
      if (current === next) current = undefined;
    });
    return next;
  };
}

/**
 * The name of the task's role, which every cell account has a copy of: the environment's on AWS; locally
 * the calling task's (the tasks share one process). With the local IAM check off there is no calling role,
 * and any name will do (nothing checks it).
 */
function taskRoleName(): string {
  return process.env[TaskEnv.taskRoleName] || processScope() || 'tenant-platform-task';
}

function makeClients(config: { credentials?: CredentialsProvider }): AwsClients {
  const clients: AwsClients = {
    secrets: new SecretsManagerClient(config),
    lambda: new LambdaClient(config),
    apigw: new ApiGatewayV2Client(config),
    s3: new S3Client({ ...config, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) }),
    cloudfront: new CloudFrontClient(config),
    events: new EventBridgeClient(config),
    iam: new IAMClient(config),
    rds: new RDSClient(config),
    logs: new CloudWatchLogsClient(config),
    cloudwatch: new CloudWatchClient(config),
    ec2: new EC2Client(config),
    sfn: new SFNClient(config),
    serviceQuotas: new ServiceQuotasClient(config),
    globalServiceQuotas: new ServiceQuotasClient({ ...config, region: 'us-east-1' }),
  };
  // Each client's stack takes its own input and output types; a plugin of this module works on any of them.
  const stacks = Object.values(clients).map(
    (client: { middlewareStack: { use(plugin: ClientPlugin): void } }) => client.middlewareStack,
  );
  for (const stack of stacks) for (const plugin of plugins) stack.use(plugin);
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
