import { DEPLOYED_SHARED_INSTANCE_RDS_ID } from '../../common/capacity';
import { LocalPlatformNames, PlatformNames, tenantResourceNames } from '../../common/names';
import { tenantIdSchema } from '../../common/tenant-input';
import { DEDICATED_MASTER_USER } from '../../workflow-tasks/create-database/step';

/**
 * In each namespace a tenant's resources share with the platform's own (or with what PostgreSQL and Amazon
 * RDS keep for themselves), no valid tenant id names one of its resources like one of those.
 */
const NAMESPACES = [
  {
    what: 'RDS instance',
    template: tenantResourceNames('XID').instanceId,
    taken: [DEPLOYED_SHARED_INSTANCE_RDS_ID],
  },
  {
    what: 'PostgreSQL database or role (the id, dashes as underscores)',
    template: 'XID',
    underscores: true,
    taken: [
      PlatformNames.platformDatabase,
      'postgres',
      'template0',
      'template1',
      // The master user of a dedicated instance, beside the tenant's role there.
      DEDICATED_MASTER_USER,
      'rdsadmin',
      'rdsrepladmin',
      'rdstopmgr',
      'rds_superuser',
      'rds_replication',
      'rds_iam',
      'rds_password',
      'pg_monitor',
    ],
  },
  {
    what: 'secret',
    template: tenantResourceNames('XID').secretName,
    taken: [LocalPlatformNames.masterSecret],
  },
];

/** The tenant id that would make `template` (a name with `XID` for the id) equal to `name`, if any. */
function idMaking(template: string, name: string, underscores: boolean): string | undefined {
  const [prefix, suffix] = template.split('XID') as [string, string];
  if (!name.startsWith(prefix) || !name.endsWith(suffix) || name.length <= prefix.length + suffix.length)
    return undefined;
  const middle = name.slice(prefix.length, name.length - suffix.length);
  return underscores ? middle.replace(/_/g, '-') : middle;
}

describe("tenants' resource names", () => {
  const cases = NAMESPACES.flatMap(({ what, template, underscores, taken }) =>
    taken.map((name) => ({ what, template, underscores: underscores ?? false, name })),
  );

  it.each(cases)('never make a tenant $what named $name', ({ template, underscores, name }) => {
    const id = idMaking(template, name, underscores);
    expect({ name, id, accepted: id !== undefined && tenantIdSchema.safeParse(id).success }).toEqual({
      name,
      id,
      accepted: false,
    });
  });

  it('refuses the ids that would, naming why', () => {
    const problem = (id: string) => tenantIdSchema.safeParse(id).error?.issues[0]?.message;
    expect(problem('tenant-admin')).toBe('is reserved');
    expect(problem('platform-shared')).toBe('is reserved');
    expect(problem('rds-superuser')).toBe('must not start with "rds-" (reserved by Amazon RDS)');
  });
});
