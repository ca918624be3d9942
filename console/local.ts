import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SFNClient } from '@aws-sdk/client-sfn';
import { LocalPlatformNames } from '../common/names';
import { getTenant, listTenants, tenantView, type TenantRecord } from '../workflow-tasks/records/registry';
import { domainView, tenantDomains } from '../workflow-tasks/records/domains';
import { recentReleases, tenantReleases } from '../workflow-tasks/records/release-ledger';
import type { ConsoleTenant, Registry } from './registry';
import { ConsoleHandler } from './server';

/**
 * The console of a local platform, as the gateway serves it on `http://localhost:<port>/`: a client of the
 * platform's AWS endpoint at `endpointUrl` (Step Functions, CloudWatch), with the tenants and releases read
 * from the registry. `workflows`: the platform's state machines by workflow name.
 */
export function localConsole(
  endpointUrl: string,
  workflows: Readonly<Record<string, string>>,
): {
  handle: ConsoleHandler['handle'];
  close(): void;
} {
  const config = {
    endpoint: endpointUrl,
    region: LocalPlatformNames.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const sfn = new SFNClient(config);
  const cloudwatch = new CloudWatchClient(config);
  const console = new ConsoleHandler(sfn, localRegistry, { workflows, cloudwatch });
  return {
    handle: (req, res) => console.handle(req, res),
    close: () => {
      sfn.destroy();
      cloudwatch.destroy();
    },
  };
}

const localRegistry: Registry = {
  tenants: async (host) => (await listTenants()).map((t) => consoleTenant(t, host)),
  async tenant(tenantId, host) {
    const t = await getTenant(tenantId);
    if (!t) return undefined;
    return {
      ...consoleTenant(t, host),
      adminEmail: t.adminEmail,
      executionArn: t.executionArn,
      resources: t.resources,
      domains: (await tenantDomains(tenantId)).map(domainView),
      releases: await tenantReleases(tenantId),
    };
  },
  releases: () => recentReleases(),
};

/** A registry record as the console shows it, with its site and API through the gateway at `host`. */
function consoleTenant(t: TenantRecord, host: string): ConsoleTenant & ReturnType<typeof tenantView> {
  const port = /:(\d+)$/.exec(host)?.[1];
  const at = (name: string) => `http://${name}.localhost${port ? `:${port}` : ''}`;
  return {
    ...tenantView(t),
    ...(['ACTIVE', 'SUSPENDED', 'MOVING'].includes(t.status)
      ? { site: `${at(t.id)}/`, api: `${at(`api.${t.id}`)}/health` }
      : {}),
  };
}
