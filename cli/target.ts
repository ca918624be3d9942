import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { ENDPOINTS_FILE, type Endpoints } from './services';
import { ControlPlaneClient } from './control-plane';

/** Where the CLI's commands go: a Step Functions API and the onboarding state machine in it. */
export interface Target {
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
  /** The local platform's endpoints; absent on AWS. */
  readonly endpoints?: Endpoints;
}

export interface TargetOptions {
  readonly stateDir: string;
  readonly aws?: boolean;
  readonly stateMachineArn?: string;
  readonly stack?: string;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * With `--aws`: the SDK's own chain (AWS_REGION, the profile), and else AWS_DEFAULT_REGION, which the aws
 * CLI reads and the SDK does not, so the same shell works for both.
 */
function awsRegion(): { region?: string } {
  const fallback = process.env.AWS_REGION ? undefined : process.env.AWS_DEFAULT_REGION;
  return fallback ? { region: fallback } : {};
}

/** The running local platform (from its endpoints.json) or, with `--aws`, the deployed stack. */
export async function resolveTarget(options: TargetOptions): Promise<Target> {
  if (options.aws) {
    const sfn = new SFNClient(awsRegion());
    const stateMachineArn =
      options.stateMachineArn ?? (await stackOutput(options.stack ?? 'TenantPlatform', 'StateMachineArn'));
    return { sfn, stateMachineArn };
  }
  const endpoints = await readEndpoints(options.stateDir);
  const sfn = new SFNClient({
    endpoint: endpoints.stepFunctions,
    region: endpoints.region,
    credentials: LOCAL_CREDENTIALS,
  });
  return { sfn, stateMachineArn: endpoints.stateMachineArn, endpoints };
}

/**
 * An S3 client for the CLI: the local platform's emulator, or AWS. An emulator (the local platform's, or
 * AWS_ENDPOINT_URL with --aws) has no per-bucket host names, so requests name the bucket in the path.
 */
export async function cliS3Client(options: TargetOptions): Promise<S3Client> {
  const config = await awsClientConfig(options);
  return new S3Client({
    ...config,
    forcePathStyle: Boolean(config.endpoint ?? process.env.AWS_ENDPOINT_URL),
  });
}

/** SDK client configuration for the other AWS APIs: the local platform's emulator, or the default chain. */
export async function awsClientConfig(options: TargetOptions): Promise<{
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}> {
  if (options.aws) return awsRegion();
  const endpoints = await readEndpoints(options.stateDir);
  return { endpoint: endpoints.aws, region: endpoints.region, credentials: LOCAL_CREDENTIALS };
}

export async function readEndpoints(stateDir: string): Promise<Endpoints> {
  const file = join(stateDir, ENDPOINTS_FILE);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Endpoints;
  } catch (error) {
    throw new Error(
      `No local platform is running with state in ${stateDir} (${file} is missing).\n` +
        'Start one with `npm start` or `tenantctl up`, use --local for a one-shot run, or --aws for AWS.',
      { cause: error },
    );
  }
}

/** The platform's workflows, by their endpoints.json key and their stack output. */
export const WORKFLOWS = {
  onboarding: { endpoint: 'stateMachineArn', output: 'StateMachineArn' },
  release: { endpoint: 'releaseStateMachineArn', output: 'ReleaseStateMachineArn' },
  suspension: { endpoint: 'suspensionStateMachineArn', output: 'SuspensionStateMachineArn' },
  offboarding: { endpoint: 'offboardingStateMachineArn', output: 'OffboardingStateMachineArn' },
  cleanup: { endpoint: 'cleanupStateMachineArn', output: 'CleanupStateMachineArn' },
  domain: { endpoint: 'domainStateMachineArn', output: 'DomainStateMachineArn' },
  capacity: { endpoint: 'capacityStateMachineArn', output: 'CapacityStateMachineArn' },
  move: { endpoint: 'moveStateMachineArn', output: 'MoveStateMachineArn' },
} as const;

export type Workflow = keyof typeof WORKFLOWS;

/**
 * Where `tenantctl release` or `suspend`/`resume` go: that workflow's state machine and the artifact
 * bucket, of the running local platform or, with `--aws`, of the deployed stack (its outputs).
 */
export async function resolveWorkflowTarget(
  options: TargetOptions,
  workflow: Exclude<Workflow, 'onboarding' | 'cleanup'>,
): Promise<Target & { artifactBucket?: string }> {
  const { endpoint, output } = WORKFLOWS[workflow];
  if (!options.aws) {
    const target = await resolveTarget(options);
    return { ...target, stateMachineArn: target.endpoints![endpoint] };
  }
  const stack = options.stack ?? 'TenantPlatform';
  return {
    sfn: new SFNClient(awsRegion()),
    stateMachineArn: options.stateMachineArn ?? (await stackOutput(stack, output)),
    artifactBucket: await stackOutput(stack, 'ArtifactBucketName'),
  };
}

/**
 * Every workflow's state machine, of the running local platform or, with `--aws`, of the deployed stack
 * (with `--state-machine-arn`, only that one, as the onboarding's).
 */
export async function resolveAllWorkflows(
  options: TargetOptions,
): Promise<{ sfn: SFNClient; stateMachines: Partial<Record<Workflow, string>> }> {
  const names = Object.keys(WORKFLOWS) as Workflow[];
  if (!options.aws) {
    const target = await resolveTarget(options);
    return {
      sfn: target.sfn,
      stateMachines: Object.fromEntries(names.map((w) => [w, target.endpoints![WORKFLOWS[w].endpoint]])),
    };
  }
  if (options.stateMachineArn)
    return { sfn: new SFNClient(awsRegion()), stateMachines: { onboarding: options.stateMachineArn } };
  const stack = options.stack ?? 'TenantPlatform';
  const arns = await Promise.all(names.map((w) => stackOutput(stack, WORKFLOWS[w].output)));
  return {
    sfn: new SFNClient(awsRegion()),
    stateMachines: Object.fromEntries(names.map((w, i) => [w, arns[i]])),
  };
}

export async function stackOutput(stack: string, key: string): Promise<string> {
  const cfn = new CloudFormationClient(awsRegion());
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
    const value = out.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
    if (!value) throw new Error(`Stack ${stack} has no output ${key}: pass --state-machine-arn`);
    return value;
  } finally {
    cfn.destroy();
  }
}

/** The running local platform's control-plane API: its endpoint answers it as the stack's API does. */
export async function localControlPlane(stateDir: string): Promise<ControlPlaneClient> {
  const endpoints = await readEndpoints(stateDir);
  return new ControlPlaneClient(`${endpoints.aws}/control-plane`, endpoints.region, LOCAL_CREDENTIALS);
}

/** The deployed stack's control-plane API (the registry, read-only), signed with the user's credentials. */
export async function controlPlaneOf(options: TargetOptions): Promise<ControlPlaneClient> {
  const url = await stackOutput(options.stack ?? 'TenantPlatform', 'ControlPlaneUrl');
  const sfn = new SFNClient(awsRegion());
  try {
    return new ControlPlaneClient(url, await sfn.config.region());
  } finally {
    sfn.destroy();
  }
}
