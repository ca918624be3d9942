import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalPlatformNames, PlatformNames } from '../common/names';
import { LocalAwsApi } from './aws-api';
import { LocalGateway } from './gateway';
import { LocalPlatform, type PlatformOptions } from './runtime';

/** `<state-dir>/endpoints.json`: where every part of a running local platform answers. */
export interface Endpoints {
  readonly region: string;
  readonly stepFunctions: string;
  readonly events: string;
  /** The AWS emulator, for every other service. */
  readonly aws: string;
  /** Admin URL of the shared PostgreSQL instance. */
  readonly postgres: string;
  readonly gateway: string;
  readonly stateMachineArn: string;
  readonly eventBusName: string;
  readonly siteBucket: string;
}

export const ENDPOINTS_FILE = 'endpoints.json';

export interface LocalServices {
  readonly platform: LocalPlatform;
  readonly endpoints: Endpoints;
  stop(): Promise<void>;
}

/**
 * The whole local platform as `tenantctl up` runs it: the runtime, the Step Functions + EventBridge API,
 * the tenant gateway, and `endpoints.json` once everything answers (removed again on stop).
 */
export async function startLocalServices(
  options: PlatformOptions & { port: number; gatewayPort: number; log?: (line: string) => void },
): Promise<LocalServices> {
  const file = join(options.stateDir, ENDPOINTS_FILE);
  // A platform killed with SIGKILL left its endpoints behind: nobody answers there any more.
  await rm(file, { force: true });
  const platform = await LocalPlatform.start(options);
  const api = new LocalAwsApi(platform, options.log);
  const gateway = new LocalGateway(platform, options.log);
  try {
    const apiPort = await api.listen(options.port);
    const gatewayPort = await gateway.listen(options.gatewayPort);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const endpoints: Endpoints = {
      region: LocalPlatformNames.region,
      stepFunctions: apiUrl,
      events: apiUrl,
      aws: platform.emulator.endpoint,
      postgres: platform.postgres.adminUrl,
      gateway: `http://127.0.0.1:${gatewayPort}`,
      stateMachineArn: platform.stateMachineArn,
      eventBusName: PlatformNames.eventBus,
      siteBucket: LocalPlatformNames.siteBucket,
    };
    // It holds the admin URL of the local PostgreSQL: readable by its owner only.
    await writeFile(file, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
    return {
      platform,
      endpoints,
      stop: async () => {
        await rm(file, { force: true });
        await Promise.allSettled([api.close(), gateway.close()]);
        await platform.stop();
      },
    };
  } catch (error) {
    await Promise.allSettled([api.close(), gateway.close()]);
    await platform.stop();
    throw error;
  }
}
