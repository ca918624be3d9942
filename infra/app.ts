import { App } from 'aws-cdk-lib';
import type { ArchiveLockMode } from './archive';
import { capacitySettings, parseCapacitySettings, type CapacitySettings } from '../common/capacity';
import { CellStack, cellCidr } from './cell-stack';
import { checkWithCdkNag } from './nag';
import { PlatformStack, type PlatformConfig } from './platform-stack';

const app = new App();
const text = (key: keyof PlatformConfig | 'platformAccount'): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
    throw new Error(`context ${key} must be a string, number or boolean`);
  return String(value);
};
const number = (key: keyof PlatformConfig): number | undefined => {
  const value = text(key);
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`context ${key} must be a whole number, got ${value}`);
  return parsed;
};

/** The context `quotas`: a JSON object of limits (common/capacity.ts), checked here. */
const quotas = (): CapacitySettings | undefined => {
  const value: unknown = app.node.tryGetContext('quotas');
  if (value === undefined || value === '') return undefined;
  return typeof value === 'string'
    ? parseCapacitySettings(value, 'context quotas')
    : capacitySettings(value, 'context quotas');
};

const capacity = quotas();
/**
 * The platform's account: the one cdk runs with (CDK_DEFAULT_ACCOUNT), or the context `platformAccount`,
 * which a cell's stack needs when it is deployed with that cell's account's credentials (docs/deploy.md).
 */
const platformAccount = text('platformAccount') ?? process.env.CDK_DEFAULT_ACCOUNT;
const stack = new PlatformStack(app, 'TenantPlatform', {
  env: { account: platformAccount, region: process.env.CDK_DEFAULT_REGION },
  description: 'Tenant onboarding platform: one Step Functions execution per tenant',
  platformDomain: text('platformDomain'),
  siteCertificateArn: text('siteCertificateArn'),
  platformHostedZoneId: text('platformHostedZoneId'),
  domainValidationHours: number('domainValidationHours'),
  sharedInstanceClass: text('sharedInstanceClass'),
  // Multi-AZ unless the context says `false` (a cheap dev stack).
  sharedDbMultiAz: text('sharedDbMultiAz') !== 'false',
  backupRetentionDays: number('backupRetentionDays'),
  logRetentionDays: number('logRetentionDays'),
  alarmEmail: text('alarmEmail'),
  natGateways: number('natGateways'),
  dedicatedInstanceClass: text('dedicatedInstanceClass'),
  archiveRetentionDays: number('archiveRetentionDays'),
  archiveLockMode: text('archiveLockMode') as ArchiveLockMode | undefined,
  maxConcurrentOnboardings: number('maxConcurrentOnboardings'),
  quotas: capacity,
});
// One stack per cell that is an AWS account of its own, in the platform's region, deployed after it.
const cells = Object.entries(capacity?.cellAccounts ?? {}).map(
  ([cell, account]) =>
    new CellStack(app, `TenantPlatform-${cell}`, {
      env: { account, region: process.env.CDK_DEFAULT_REGION },
      description: `Tenant platform ${cell}: the task roles' copies, the tenant role boundary and the network of its tenants`,
      platform: stack.cellSource,
      cell,
      cidr: cellCidr(cell),
      natGateways: number('natGateways'),
    }),
);
checkWithCdkNag(app, stack, cells);
