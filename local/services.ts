import { rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { LocalPlatformNames, PlatformNames } from '../common/names';
import { LocalAwsApi } from './aws-api';
import { LocalGateway } from './gateway';
import type { LoopbackServer } from './http';
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
 * the tenant gateway, and `endpoints.json` once everything answers (removed again on stop). A taken port
 * fails the start before anything is started; any failure stops whatever had been.
 */
export async function startLocalServices(
  options: PlatformOptions & { port: number; gatewayPort: number; log?: (line: string) => void },
): Promise<LocalServices> {
  const ports = [
    { port: options.port, flag: '--port', what: 'the Step Functions and EventBridge API' },
    { port: options.gatewayPort, flag: '--gateway-port', what: 'the tenant gateway' },
  ] as const;
  for (const p of ports) await assertPortFree(p.port, p.flag, p.what);
  const file = join(options.stateDir, ENDPOINTS_FILE);
  // A platform killed with SIGKILL left its endpoints behind: nobody answers there any more.
  await rm(file, { force: true });
  const platform = await LocalPlatform.start(options);
  const api = new LocalAwsApi(platform, options.log);
  const gateway = new LocalGateway(platform, options.log);
  try {
    const apiPort = await listenOn(api, ports[0]);
    const gatewayPort = await listenOn(gateway, ports[1]);
    options.signal?.throwIfAborted();
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

interface PortChoice {
  readonly port: number;
  readonly flag: string;
  readonly what: string;
}

function portInUse({ port, flag, what }: PortChoice, cause: unknown): Error {
  return new Error(
    `port ${port} on 127.0.0.1 (${what}) is already in use. Choose another with ${flag} <port> ` +
      `(${flag} 0 picks a free one), or stop what listens there.`,
    { cause },
  );
}

/** Throws the "choose another port" error when something already listens on 127.0.0.1:`port`. */
async function assertPortFree(port: number, flag: string, what: string): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? portInUse({ port, flag, what }, error) : error),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** Listens, turning EADDRINUSE (taken since the check) into the same error. */
function listenOn(server: LoopbackServer, choice: PortChoice): Promise<number> {
  return server.listen(choice.port).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'EADDRINUSE' ? portInUse(choice, error) : error;
  });
}
