/**
 * Stands in for **Service Quotas**, for the AWS quotas the platform counts against (common/capacity.ts
 * SERVICE_QUOTAS): their applied values are the local platform's kept limits (`tenantctl up --quotas`,
 * local/bootstrap/capacity.ts), so a test or a user sets the emulated account's quotas there. Answered:
 * GetServiceQuota, GetAWSDefaultServiceQuota, and RequestServiceQuotaIncrease, which AWS leaves PENDING
 * for hours or days and which is APPROVED here at once (the kept limit is raised, and kept). Any other
 * quota goes on to the emulator (moto knows the VPC ones).
 */
import {
  QUOTAS,
  SERVICE_QUOTAS,
  type CapacitySettings,
  type QuotaName,
  type ServiceQuota,
} from '../../common/capacity';
import { LOCAL_ACCOUNT } from '../account';
import { capacityFor, keptCapacity } from '../bootstrap/capacity';
import { ApiError, type Body, type Operation } from '../endpoint/aws-json';

const PREFIX = 'ServiceQuotasV20190624.';

/** One of the platform's quotas: its limit's name and where Service Quotas keeps it. */
interface Known {
  readonly name: QuotaName;
  readonly quota: ServiceQuota;
}

export class LocalServiceQuotas {
  /** Increases write the kept limits one after another. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly stateDir: string,
    private readonly region: string,
  ) {}

  /** The operations answered here for a quota of the platform's, or undefined: the emulator's to answer. */
  operationsFor(target: string, body: Body): Record<string, Operation> | undefined {
    const known = target.startsWith(PREFIX) ? knownQuota(body) : undefined;
    if (!known) return undefined;
    return {
      [`${PREFIX}GetServiceQuota`]: async () => ({
        Quota: this.quota(known, (await keptCapacity(this.stateDir))[known.name]),
      }),
      [`${PREFIX}GetAWSDefaultServiceQuota`]: () =>
        Promise.resolve({ Quota: this.quota(known, QUOTAS[known.name].default) }),
      [`${PREFIX}RequestServiceQuotaIncrease`]: (b) => this.increase(known, b.DesiredValue),
    };
  }

  private quota({ quota }: Known, value: number): Body {
    return {
      ServiceCode: quota.serviceCode,
      ServiceName: quota.serviceName,
      QuotaArn: this.arnOf(quota),
      QuotaCode: quota.quotaCode,
      QuotaName: quota.quotaName,
      Value: value,
      Unit: 'None',
      Adjustable: true,
      GlobalQuota: quota.global,
    };
  }

  private arnOf(quota: ServiceQuota): string {
    return `arn:aws:servicequotas:${quota.global ? 'us-east-1' : this.region}:${LOCAL_ACCOUNT}:${quota.serviceCode}/${quota.quotaCode}`;
  }

  private increase({ name, quota }: Known, desired: unknown): Promise<Body> {
    const raise = async (): Promise<Body> => {
      const settings = await keptCapacity(this.stateDir);
      if (typeof desired !== 'number' || !Number.isInteger(desired) || desired <= settings[name])
        throw new ApiError(
          'IllegalArgumentException',
          `DesiredValue must be a whole number above the applied value ${settings[name]}`,
        );
      const raised: CapacitySettings = { ...settings, [name]: desired };
      await capacityFor(this.stateDir, raised);
      return {
        RequestedQuota: {
          Id: `local-${quota.quotaCode}-${desired}`,
          ServiceCode: quota.serviceCode,
          QuotaCode: quota.quotaCode,
          QuotaName: quota.quotaName,
          QuotaArn: this.arnOf(quota),
          DesiredValue: desired,
          Status: 'APPROVED',
          Created: Date.now() / 1000,
          GlobalQuota: quota.global,
          Unit: 'None',
        },
      };
    };
    const done = this.writes.then(raise, raise);
    this.writes = done.catch(() => undefined);
    return done;
  }
}

/** The platform's quota a request names by ServiceCode and QuotaCode, if it is one. */
function knownQuota(body: Body): Known | undefined {
  for (const [name, quota] of Object.entries(SERVICE_QUOTAS) as [QuotaName, ServiceQuota][])
    if (quota.serviceCode === body.ServiceCode && quota.quotaCode === body.QuotaCode) return { name, quota };
  return undefined;
}
