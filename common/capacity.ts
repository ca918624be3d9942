/**
 * Capacity as data: the limits the platform places tenants within (its own, and the AWS quotas that cap
 * it), how a quotas file is read, and the `add-capacity` workflow's names (infra/add-capacity.ts; its
 * steps in workflow-tasks/capacity/). Shared by the CDK constructs, the task Lambdas, the local runtime and
 * tenantctl.
 */

/**
 * Every limit the platform enforces, with what it is and what it caps. The platform's own limits and the
 * AWS quotas it counts against; the names of the AWS ones follow Service Quotas' names.
 */
export const QUOTAS = {
  tenantsPerCell: {
    default: 1000,
    per: 'cell',
    what: 'tenants in a cell (every tenant that holds resources: not rolled back or offboarded)',
  },
  tenantsPerSharedInstance: {
    default: 200,
    per: 'shared instance',
    what: 'tenants whose database is on one shared PostgreSQL instance (its connections and catalog)',
  },
  connectionsPerSharedInstance: {
    default: 1000,
    per: 'shared instance',
    what: "connections the tenants on one shared PostgreSQL instance may open together (each tenant's role may open connectionsPerTenant); keep it below the instance's max_connections",
  },
  iamRoles: {
    default: 1000,
    per: 'account',
    what: 'IAM "Roles per account": one role per tenant function',
  },
  rdsDbInstances: {
    default: 40,
    per: 'region',
    what: 'RDS "DB instances": the shared instances and one per dedicated tenant',
  },
  cloudFrontDistributionTenants: {
    default: 10_000,
    per: 'account',
    what: "CloudFront distribution tenants: two per customer's own domain (its site, its API)",
  },
} as const satisfies Record<string, { default: number; per: string; what: string }>;

export type QuotaName = keyof typeof QUOTAS;

/** Where Service Quotas keeps an AWS quota the platform counts against. */
export interface ServiceQuota {
  readonly serviceCode: string;
  readonly serviceName: string;
  readonly quotaCode: string;
  /** Service Quotas' name for it. */
  readonly quotaName: string;
  /** An account-wide quota of a global service, kept by Service Quotas in us-east-1. */
  readonly global: boolean;
}

/**
 * The AWS quotas the platform reads from Service Quotas (where it can: the value applied to the account,
 * raised or not) rather than from its settings. The CloudFront distribution tenants quota is not in
 * Service Quotas under a code the platform knows: it stays a setting.
 */
export const SERVICE_QUOTAS: Partial<Record<QuotaName, ServiceQuota>> = {
  iamRoles: {
    serviceCode: 'iam',
    serviceName: 'AWS Identity and Access Management (IAM)',
    quotaCode: 'L-FE177D64',
    quotaName: 'Roles per account',
    global: true,
  },
  rdsDbInstances: {
    serviceCode: 'rds',
    serviceName: 'Amazon Relational Database Service (Amazon RDS)',
    quotaCode: 'L-7B6409FD',
    quotaName: 'DB instances',
    global: false,
  },
};
export type Quotas = Record<QuotaName, number>;

/**
 * The quotas placement reads from Service Quotas for `cell`: every one it knows when the cell has an AWS
 * account to itself (its own, `cellAccounts`, or the platform's when no other cell is in it); none when
 * cells share the platform's account, whose settings are each cell's share of it.
 */
export function quotasReadFromServiceQuotas(
  settings: Pick<CapacitySettings, 'cells' | 'cellAccounts'>,
  cell: string,
): QuotaName[] {
  const inPlatformAccount = cellIds(settings).filter((c) => !settings.cellAccounts[c]);
  const alone = Boolean(settings.cellAccounts[cell]) || inPlatformAccount.length === 1;
  return alone ? (Object.keys(SERVICE_QUOTAS) as QuotaName[]) : [];
}

/** What was read of a cell's account: the quotas Service Quotas applies to it, and what it holds. */
export interface AccountRead {
  readonly applied: Partial<Quotas>;
  readonly account: AccountInventory;
}

/**
 * The limits of `cell`: the settings, with the quotas read from its account in place of theirs and what
 * the account holds (`account`), when they were read (CapacitySettings.read).
 */
export function limitsOfCell(settings: CapacitySettings, cell: string): CapacitySettings {
  const read = settings.read?.[cell];
  return read ? { ...settings, ...read.applied, account: read.account } : settings;
}

/**
 * Capacity settings beside the quotas: `sharedInstanceHeadroom` tenant places are kept free on the shared
 * instances: the next instance is started when fewer are left, so an onboarding rarely waits for one.
 * `cells`: how many cells tenants are placed in (`cell-1`, `cell-2`, ...), each within the limits above;
 * a tenant goes in the first cell with room for it. `connectionsPerTenant`: the connection limit of each
 * shared tenant's database role (PostgreSQL refuses it more: its API answers 503 rather than starve its
 * neighbours); a shared instance takes as many tenants as its connection budget has room for.
 */
export interface CapacitySettings extends Quotas {
  readonly sharedInstanceHeadroom: number;
  readonly cells: number;
  readonly connectionsPerTenant: number;
  /**
   * The cells that are AWS accounts of their own, by cell id: a tenant placed there has its function, its
   * role, its HTTP API, its log group, its alarm and its secret in that account, made by each step through
   * the account's copy of the step's role (common/cells.ts). A cell not named here is in the platform's own
   * account.
   */
  readonly cellAccounts: Readonly<Record<string, string>>;
  /** What was read of each cell's account that has one to itself (quotasReadFromServiceQuotas), never set. */
  readonly read?: Readonly<Record<string, AccountRead>>;
  /** A cell's limits only (limitsOfCell): what its account holds, never set (see AccountInventory). */
  readonly account?: AccountInventory;
}

/**
 * What the account holds that counts against the IAM roles and RDS instances quotas, read with the applied
 * quotas (workflow-tasks/lib/service-quotas.ts) for each cell that has an account to itself: every
 * role's name, every instance's identifier (absent: it could not be read). Placement counts in each quota's use, beside
 * the tenants and shared instances it counts itself, whatever else there is: the platform's own task roles,
 * CDK's, another platform's or team's roles and instances, a tenant's left behind. So it refuses at the
 * account's quota, not some hundred roles after it.
 */
export interface AccountInventory {
  readonly roles?: readonly string[];
  readonly instances?: readonly string[];
}

/**
 * The RDS identifier of the shared instance the platform is deployed with (infra/shared-database.ts): one
 * platform per account and region, like the event bus name; not `tenant-*`, the names the tasks may create
 * and delete instances under.
 */
export const DEPLOYED_SHARED_INSTANCE_RDS_ID = 'platform-shared-db';

/** The connections each shared tenant's role may open when the settings do not say. */
export const DEFAULT_CONNECTIONS_PER_TENANT = 5;

/**
 * Tenants one shared instance takes: its tenant limit, or fewer when its connection budget runs out first;
 * and which of the two quotas it is.
 */
export function placesPerSharedInstance(
  settings: Pick<
    CapacitySettings,
    'tenantsPerSharedInstance' | 'connectionsPerSharedInstance' | 'connectionsPerTenant'
  >,
): { places: number; quota: 'tenantsPerSharedInstance' | 'connectionsPerSharedInstance' } {
  const byConnections = Math.floor(settings.connectionsPerSharedInstance / settings.connectionsPerTenant);
  return byConnections < settings.tenantsPerSharedInstance
    ? { places: byConnections, quota: 'connectionsPerSharedInstance' }
    : { places: settings.tenantsPerSharedInstance, quota: 'tenantsPerSharedInstance' };
}

/** The cells tenants are placed in, in the order they fill. */
export function cellIds(settings: Pick<CapacitySettings, 'cells'>): string[] {
  return Array.from({ length: settings.cells }, (_, i) => `cell-${i + 1}`);
}

/** The cell the platform was deployed as (every tenant placed before there were cells is in it). */
export const FIRST_CELL = 'cell-1';

/** The headroom when the file gives none: a tenth of an instance's places, at least one, always below them. */
export function defaultHeadroom(places: number): number {
  return Math.min(Math.max(1, Math.ceil(places / 10)), places - 1);
}

/**
 * A quotas file (`tenantctl up --quotas FILE`, the CDK context `quotas`): a JSON object of positive
 * integers by the names above, `cells` (1 or more), `connectionsPerTenant` (1 or more, within
 * `connectionsPerSharedInstance`) and `sharedInstanceHeadroom` (0 or more, below a shared instance's places);
 * what it leaves out keeps its default. Anything else is refused with the field named.
 */
export function parseCapacitySettings(
  text: string,
  source: string,
  defaultCellAccounts?: DefaultCellAccounts,
): CapacitySettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source}: not JSON (${(error as Error).message})`, { cause: error });
  }
  return capacitySettings(parsed, source, defaultCellAccounts);
}

/**
 * The accounts of the cells when the settings name none (no `cellAccounts` at all; `{}` keeps every cell in
 * the platform's account): the local platform's own, where each cell is an account of the emulator. On AWS
 * there is no such default.
 */
export type DefaultCellAccounts = (cells: readonly string[]) => Record<string, string>;

/** `given` (an object of limits) checked and completed with the defaults. */
export function capacitySettings(
  given: unknown,
  source: string,
  defaultCellAccounts?: DefaultCellAccounts,
): CapacitySettings {
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    throw new Error(
      `${source}: must be a JSON object of limits, for example {"tenantsPerSharedInstance": 4}`,
    );
  const fields = given as Record<string, unknown>;
  const known = [
    ...Object.keys(QUOTAS),
    'sharedInstanceHeadroom',
    'cells',
    'connectionsPerTenant',
    'cellAccounts',
  ];
  for (const [field, value] of Object.entries(fields)) {
    if (field === 'cellAccounts') continue;
    if (!known.includes(field))
      throw new Error(`${source}: ${field} is not a limit the platform knows (known: ${known.join(', ')})`);
    const least = field === 'sharedInstanceHeadroom' ? 0 : 1;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < least)
      throw new Error(
        `${source}: ${field} must be an integer of at least ${least}, got ${JSON.stringify(value)}`,
      );
  }
  const quotas = Object.fromEntries(
    (Object.keys(QUOTAS) as QuotaName[]).map((name) => [
      name,
      (fields[name] as number) ?? QUOTAS[name].default,
    ]),
  ) as Quotas;
  const connectionsPerTenant =
    (fields.connectionsPerTenant as number | undefined) ?? DEFAULT_CONNECTIONS_PER_TENANT;
  if (connectionsPerTenant > quotas.connectionsPerSharedInstance)
    throw new Error(
      `${source}: connectionsPerTenant (${connectionsPerTenant}) must be at most connectionsPerSharedInstance (${quotas.connectionsPerSharedInstance})`,
    );
  const { places, quota } = placesPerSharedInstance({ ...quotas, connectionsPerTenant });
  const headroom = (fields.sharedInstanceHeadroom as number | undefined) ?? defaultHeadroom(places);
  if (headroom >= places)
    throw new Error(
      quota === 'tenantsPerSharedInstance'
        ? `${source}: sharedInstanceHeadroom (${headroom}) must be below tenantsPerSharedInstance (${places})`
        : `${source}: sharedInstanceHeadroom (${headroom}) must be below the ${places} tenants a shared instance takes (connectionsPerSharedInstance ${quotas.connectionsPerSharedInstance} / connectionsPerTenant ${connectionsPerTenant})`,
    );
  const cells = (fields.cells as number | undefined) ?? 1;
  return {
    ...quotas,
    sharedInstanceHeadroom: headroom,
    cells,
    connectionsPerTenant,
    cellAccounts:
      fields.cellAccounts === undefined && defaultCellAccounts
        ? defaultCellAccounts(cellIds({ cells }))
        : cellAccountsOf(fields.cellAccounts, cells, source),
  };
}

/**
 * `cellAccounts` as the file gives it: an object of cell ids (`cell-<n>`, at most `cells`) to 12-digit
 * AWS account ids, no account twice.
 */
function cellAccountsOf(given: unknown, cells: number, source: string): Record<string, string> {
  if (given === undefined) return {};
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    throw new Error(
      `${source}: cellAccounts must be an object of cell ids to AWS account ids, for example {"cell-2": "210987654321"}`,
    );
  const ids = cellIds({ cells });
  const seen = new Map<string, string>();
  for (const [cell, account] of Object.entries(given)) {
    if (!ids.includes(cell))
      throw new Error(
        `${source}: cellAccounts.${cell} is not a cell (the cells are ${ids.join(', ')}: raise "cells" to add one)`,
      );
    if (typeof account !== 'string' || !/^[0-9]{12}$/.test(account))
      throw new Error(
        `${source}: cellAccounts.${cell} must be a 12-digit AWS account id, got ${JSON.stringify(account)}`,
      );
    const other = seen.get(account);
    if (other) throw new Error(`${source}: cellAccounts.${cell} is ${other}'s account too (${account})`);
    seen.set(account, cell);
  }
  return { ...(given as Record<string, string>) };
}

/** The limits when none are given. */
export const DEFAULT_CAPACITY: CapacitySettings = capacitySettings({}, 'defaults');

/** The refusal of an operation a limit stands in the way of: names the quota, its value and the use. */
export function quotaMessage(name: QuotaName, limit: number, inUse: number, what: string): string {
  const quota = SERVICE_QUOTAS[name];
  const per: string = QUOTAS[name].per;
  const raise = quota
    ? `raise the AWS quota: aws service-quotas request-service-quota-increase --service-code ${quota.serviceCode} --quota-code ${quota.quotaCode} --desired-value N`
    : `raise it with tenantctl up --quotas, or the CDK context "quotas"${per === 'account' || per === 'region' ? ', after raising the AWS quota' : ''}`;
  return `${name} is ${limit} per ${QUOTAS[name].per} and ${inUse} are in use: ${what} (${raise})`;
}

/** The shared instance the platform is deployed with (CDK's, or the local platform's own server). */
export const FIRST_SHARED_INSTANCE = 'shared-1';

/**
 * The RDS instance identifier of shared instance `shared-<n>` the platform adds:
 * `platform-shared-instance-<n>`, a name neither a tenant's (`tenant-...`) nor the deployed shared
 * instance's (`platform-shared-db`) can take, so a policy on these names reaches no other instance.
 */
export function sharedInstanceRdsId(instanceId: string): string {
  return `platform-${instanceId.replace(/^shared-/, 'shared-instance-')}`;
}

/** The master user of a shared instance the platform adds (RDS manages its password in Secrets Manager). */
export const SHARED_MASTER_USER = 'platform_admin';

/**
 * The `add-capacity` workflow (input `{ "instanceId" }`): the RDS instance is created, awaited, and
 * registered AVAILABLE for placement; a failure deletes it and records the instance FAILED.
 */
export const CapacityStates = {
  create: 'Create shared instance',
  wait: 'Wait for shared instance',
  check: 'Check shared instance',
  available: 'Shared instance available?',
  register: 'Register shared instance',
  added: 'Capacity added',
  rollback: 'Rollback: delete shared instance',
  failed: 'Adding capacity failed',
} as const;

/** Rounds of the wait loop (30 s each on AWS, 200 ms locally): RDS usually needs 5-15 minutes. */
export const CAPACITY_WAIT = { waitSeconds: 30, maxRounds: 60 } as const;

/** Failed additions within the last hour after which an onboarding waiting for capacity is refused. */
export const MAX_RECENT_CAPACITY_FAILURES = 3;

/** The execution that adds `instanceId`: one per instance, so a retried start starts it once. */
export function capacityExecutionName(instanceId: string): string {
  return `add-capacity-${instanceId}`;
}
