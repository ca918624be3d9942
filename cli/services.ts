import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalPlatformNames, PlatformNames } from '../common/names';
import { localConsole } from '../console/local';
import { LocalGateway } from '../local/gateway/gateway';
import { isFree } from '../local/processes/ports';
import { LocalPlatform, type PlatformOptions } from '../local/platform';

/** `<state-dir>/endpoints.json`: where every part of a running local platform answers. */
export interface Endpoints {
  readonly region: string;
  /** The one AWS endpoint: Step Functions and EventBridge are on it too (all three hold the same URL). */
  readonly stepFunctions: string;
  readonly events: string;
  readonly aws: string;
  /** Admin URL of the shared PostgreSQL instance. */
  readonly postgres: string;
  readonly gateway: string;
  /** The console: every workflow's executions as graphs, and the tenants (served by the gateway). */
  readonly console: string;
  readonly stateMachineArn: string;
  /** The `tenant-release` state machine. */
  readonly releaseStateMachineArn: string;
  /** The `tenant-suspension` state machine (suspend and resume). */
  readonly suspensionStateMachineArn: string;
  /** The `tenant-offboarding` state machine. */
  readonly offboardingStateMachineArn: string;
  /** The `tenant-domain` state machine (a customer's own domain). */
  readonly domainStateMachineArn: string;
  /** The `tenant-cleanup` state machine (after stopped, timed-out or crashed executions). */
  readonly cleanupStateMachineArn: string;
  /** The `tenant-capacity` state machine (the next shared PostgreSQL instance). */
  readonly capacityStateMachineArn: string;
  /** The `tenant-move` state machine (a shared tenant to another shared instance). */
  readonly moveStateMachineArn: string;
  readonly eventBusName: string;
  readonly siteBucket: string;
  /** Where tenant exports are kept. */
  readonly archiveBucket: string;
}

export const ENDPOINTS_FILE = 'endpoints.json';

export interface LocalServices {
  readonly platform: LocalPlatform;
  readonly endpoints: Endpoints;
  stop(): Promise<void>;
}

/**
 * The whole local platform as `tenantctl up` runs it: the runtime with its AWS endpoint, the tenant
 * gateway, and `endpoints.json` once everything answers (removed again on stop). A taken port fails the
 * start before anything is started; any failure stops whatever had been.
 */
export async function startLocalServices(
  options: PlatformOptions & { port: number; gatewayPort: number },
): Promise<LocalServices> {
  const ports = [
    { port: options.port, flag: '--port', what: 'the AWS endpoint' },
    { port: options.gatewayPort, flag: '--gateway-port', what: 'the tenant gateway' },
  ] as const;
  for (const choice of ports) {
    if (choice.port !== 0 && !(await isFree(choice.port))) throw portInUse(choice);
  }
  const file = join(options.stateDir, ENDPOINTS_FILE);
  // A platform killed with SIGKILL left its endpoints behind: nobody answers there any more.
  await rm(file, { force: true });
  const platform = await LocalPlatform.start(options);
  const gateway = new LocalGateway(
    platform,
    options.log,
    localConsole(platform.endpointUrl, platform.workflowArns),
  );
  try {
    const gatewayPort = await gateway.listen(options.gatewayPort).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'EADDRINUSE' ? portInUse(ports[1]) : error;
    });
    options.signal?.throwIfAborted();
    const endpoints: Endpoints = {
      region: LocalPlatformNames.region,
      stepFunctions: platform.endpointUrl,
      events: platform.endpointUrl,
      aws: platform.endpointUrl,
      postgres: platform.postgres.adminUrl,
      gateway: `http://127.0.0.1:${gatewayPort}`,
      console: `http://localhost:${gatewayPort}/`,
      stateMachineArn: platform.stateMachineArn,
      releaseStateMachineArn: platform.stateMachines.release.arn,
      suspensionStateMachineArn: platform.stateMachines.suspension.arn,
      offboardingStateMachineArn: platform.stateMachines.offboarding.arn,
      cleanupStateMachineArn: platform.stateMachines.cleanup.arn,
      domainStateMachineArn: platform.stateMachines.domain.arn,
      capacityStateMachineArn: platform.stateMachines.capacity.arn,
      moveStateMachineArn: platform.stateMachines.move.arn,
      eventBusName: PlatformNames.eventBus,
      siteBucket: LocalPlatformNames.siteBucket,
      archiveBucket: LocalPlatformNames.archiveBucket,
    };
    // It holds the admin URL of the local PostgreSQL: readable by its owner only. Written whole, then
    // renamed into place: whoever waits for it (tenantctl, a test) never reads half of it.
    await writeFile(`${file}.tmp`, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
    return {
      platform,
      endpoints,
      stop: async () => {
        await rm(file, { force: true });
        await gateway.close();
        await platform.stop();
      },
    };
  } catch (error) {
    await gateway.close();
    await platform.stop();
    throw error;
  }
}

interface PortChoice {
  readonly port: number;
  readonly flag: string;
  readonly what: string;
}

function portInUse({ port, flag, what }: PortChoice): Error {
  return new Error(
    `port ${port} on 127.0.0.1 (${what}) is already in use. Choose another with ${flag} <port> ` +
      `(${flag} 0 picks a free one), or stop what listens there.`,
  );
}
