import { SFNClient } from '@aws-sdk/client-sfn';
import { LocalPlatformNames } from '../common/names';
import { listTenants, tenantView } from '../workflow-tasks/records/registry';
import { tenantReleases } from '../workflow-tasks/records/release-ledger';
import { ConsoleHandler, type ConsoleTenant } from './server';

/**
 * The console of a local platform, as the gateway serves it on `http://localhost:<port>/`: a client of the
 * platform's Step Functions API at `endpointUrl`, with the tenants read from the registry.
 */
export function localConsole(endpointUrl: string): {
  handle: ConsoleHandler['handle'];
  close(): void;
} {
  const sfn = new SFNClient({
    endpoint: endpointUrl,
    region: LocalPlatformNames.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const console = new ConsoleHandler(sfn, {
    tenants: (host) => registryTenants(host),
    releasesOf: async (tenantId) => (await tenantReleases(tenantId)).map((r) => r.release),
  });
  return { handle: (req, res) => console.handle(req, res), close: () => sfn.destroy() };
}

/** The registry as the console lists it, with each tenant's site and API through the gateway at `host`. */
async function registryTenants(host: string): Promise<ConsoleTenant[]> {
  const port = /:(\d+)$/.exec(host)?.[1];
  const at = (name: string) => `http://${name}.localhost${port ? `:${port}` : ''}`;
  return (await listTenants()).map((t) => ({
    ...tenantView(t),
    ...(t.status === 'ACTIVE' || t.status === 'SUSPENDED'
      ? { site: `${at(t.id)}/`, api: `${at(`api.${t.id}`)}/health` }
      : {}),
  }));
}
