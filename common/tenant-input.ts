// zod/mini: the same checks as zod, tree-shakable ("Validate input" bundles 50 KiB instead of 470).
import * as z from 'zod/mini';
import { domainProblems } from './domains';
import { importDumpTenant, importSecretTenant } from './imports';
import { EXPORT_KEY_PATTERN, exportOrigin } from './offboarding';

/** Ids that would collide with platform or PostgreSQL names, or read as something they are not. */
export const RESERVED_TENANT_IDS: ReadonlySet<string> = new Set([
  'admin',
  'api',
  'www',
  'app',
  'auth',
  'mail',
  'postgres',
  'template0',
  'template1',
  'platform',
  'public',
  'root',
  'system',
  'tenant',
  'tenants',
  'localhost',
  // Named like the platform's own: the dedicated instance's master user (role tenant_admin), the shared
  // instance (it was tenant-platform-shared), and Amazon RDS's own roles.
  'tenant-admin',
  'platform-shared',
  'rdsadmin',
  'rdsrepladmin',
  'rdstopmgr',
]);

const TENANT_ID_PATTERN = /^[a-z][a-z0-9-]*[a-z0-9]$/;
// The top-level label: letters, or an internationalized one's punycode (xn--...).
const DOMAIN_PATTERN =
  /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;
// Printable characters only: no control characters, no bidi overrides, no zero-width tricks.
const PRINTABLE_PATTERN = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u;

const text = () => z.string({ error: 'must be a string' });

/** A customer's domain: a lower-case DNS name that obeys the rules of common/domains.ts. */
export const domainSchema = text().check(
  z.maxLength(253, { error: 'must be at most 253 characters', abort: true }),
  z.regex(DOMAIN_PATTERN, { error: 'must be a lower-case DNS name such as "example.com"', abort: true }),
  z.superRefine((domain, ctx) => {
    for (const problem of domainProblems(domain))
      ctx.addIssue({ code: 'custom', message: problem, input: domain });
  }),
);

export const tenantIdSchema = text().check(
  z.minLength(3, 'must be at least 3 characters'),
  z.maxLength(32, 'must be at most 32 characters'),
  z.regex(TENANT_ID_PATTERN, 'must be lower-case letters, digits and single dashes, starting with a letter'),
  z.refine((id) => !id.includes('--'), 'must not contain "--"'),
  z.refine((id) => !id.startsWith('pg-'), 'must not start with "pg-" (reserved by PostgreSQL)'),
  z.refine((id) => !id.startsWith('rds-'), 'must not start with "rds-" (reserved by Amazon RDS)'),
  z.refine((id) => !RESERVED_TENANT_IDS.has(id), 'is reserved'),
);

export const tenantInputSchema = z.strictObject({
  tenantId: tenantIdSchema,
  companyName: text().check(
    z.trim(),
    z.minLength(1, 'must not be empty'),
    z.maxLength(100, 'must be at most 100 characters'),
    z.regex(PRINTABLE_PATTERN, 'must not contain control or invisible characters'),
  ),
  adminEmail: z.pipe(
    text().check(z.maxLength(254, 'must be at most 254 characters'), z.trim(), z.toLowerCase()),
    z.email({ error: 'must be an e-mail address' }),
  ),
  tier: z._default(z.enum(['shared', 'dedicated'], { error: 'must be "shared" or "dedicated"' }), 'shared'),
  domain: z.optional(domainSchema),
  /**
   * Onboards the tenant from an export (its key in the archive bucket, as offboarding wrote it): the
   * database gets the export's rows, users and passwords included, instead of a new admin.
   */
  restoreFrom: z.optional(
    text().check(
      z.regex(
        EXPORT_KEY_PATTERN,
        'must be an export key such as "exports/<tenantId>/<time>.tenant-export.gz"',
      ),
    ),
  ),
  /**
   * With `restoreFrom` on the dedicated tier, under the tenant's own id: the instance is restored from the
   * final snapshot the offboarding that wrote the export kept (`finalSnapshotId`), instead of being
   * created empty and loaded from the export.
   */
  fromSnapshot: z.optional(z.boolean({ error: 'must be true or false' })),
  /**
   * Onboards an existing customer with its data (common/imports.ts): from its current database, whose
   * credentials are in the import's own secret (`sourceSecretArn`), or from its `pg_dump` uploaded to the
   * archive bucket (`dumpKey`). Its users keep their passwords; no admin is seeded.
   */
  importFrom: z.optional(
    z.strictObject({
      sourceSecretArn: z.optional(text()),
      dumpKey: z.optional(text()),
    }),
  ),
});

/** The onboarding input after validation and normalisation. */
export type TenantInput = z.infer<typeof tenantInputSchema>;

export type TenantInputResult = { ok: true; value: TenantInput } | { ok: false; problems: string[] };

/** Validates an onboarding input; each problem names its field (`tenantId: must be ...`). */
export function parseTenantInput(raw: unknown): TenantInputResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, problems: ['input: must be a JSON object'] };
  }
  const parsed = tenantInputSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problems: fieldProblems(parsed.error.issues) };
  const problems = [...snapshotProblems(parsed.data), ...importProblems(parsed.data)];
  return problems.length === 0 ? { ok: true, value: parsed.data } : { ok: false, problems };
}

/**
 * A final snapshot holds the tenant's database under the names of the tenant it was taken of: it can
 * only bring back that same tenant, on its own instance.
 */
function snapshotProblems(input: TenantInput): string[] {
  if (!input.fromSnapshot) return [];
  if (!input.restoreFrom) return ['fromSnapshot: needs restoreFrom (the export whose offboarding kept it)'];
  if (input.tier !== 'dedicated')
    return ['fromSnapshot: only a restore on the dedicated tier starts from a snapshot'];
  if (exportOrigin(input.restoreFrom)?.tenantId !== input.tenantId)
    return [
      `fromSnapshot: restoreFrom is an export of another tenant; a snapshot restores only ${input.tenantId} itself (restore without fromSnapshot to load the export instead)`,
    ];
  return [];
}

/**
 * An import names one source, made for this tenant (so an input cannot read another tenant's credentials
 * or dump), and brings data of its own: it is not a restore.
 */
function importProblems(input: TenantInput): string[] {
  const from = input.importFrom;
  if (!from) return [];
  if (input.restoreFrom)
    return ['importFrom: an onboarding restores an export or imports a source, not both'];
  const { sourceSecretArn, dumpKey } = from;
  if ((sourceSecretArn === undefined) === (dumpKey === undefined))
    return ['importFrom: needs exactly one of sourceSecretArn and dumpKey'];
  if (sourceSecretArn !== undefined && importSecretTenant(sourceSecretArn) !== input.tenantId)
    return [
      `importFrom.sourceSecretArn: must be the ARN of a secret tenant-imports/${input.tenantId}/<time> (tenantctl import makes it)`,
    ];
  if (dumpKey !== undefined && importDumpTenant(dumpKey) !== input.tenantId)
    return [
      `importFrom.dumpKey: must be a key imports/${input.tenantId}/<time>.sql of the archive bucket (tenantctl import --from-dump uploads it)`,
    ];
  return [];
}

/** Each validation issue as `field: problem` (an unknown field as `"name": is not a known field`). */
export function fieldProblems(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const parent = issue.path.map((p) => `${String(p)}.`).join('');
      return issue.keys.map((key) => `${parent}${printable(key)}: is not a known field`).join('; ');
    }
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : 'input';
    return `${field}: ${issue.message}`;
  });
}

/** Proposes a tenant id from a company name ("Building Shop Inc." -> "building-shop-inc"). */
export function proposeTenantId(companyName: string): string {
  const slug = companyName
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  return slug;
}

// Field names come from the caller: show them safely and briefly in an error message.
function printable(key: string): string {
  const cleaned = JSON.stringify(key.slice(0, 40));
  return key.length > 40 ? `${cleaned}...` : cleaned;
}

/**
 * The tenant an execution concerns: its input's `tenantId` (at most 64 characters), or null when the input
 * names none (a release concerns the fleet) or is not JSON. An execution's input never changes.
 */
export function tenantIdOfInput(input: string | undefined): string | null {
  try {
    const tenantId = (JSON.parse(input ?? 'null') as { tenantId?: unknown } | null)?.tenantId;
    return typeof tenantId === 'string' ? tenantId.slice(0, 64) : null;
  } catch {
    return null;
  }
}
