/**
 * Stands in for **CloudFront SaaS Manager**, which moto 5.2.1 answers 404: the distribution tenants of the
 * platform's two multi-tenant distributions, the one connection group they join, and a local certificate
 * authority for their CloudFront-managed certificates. A certificate is requested `pending-validation` and
 * issued once the customer's DNS (Route 53 in the emulator: customer-dns.ts) routes every domain of the
 * tenant to the connection group's routing endpoint; that is looked at whenever a tenant is read, and an
 * issued certificate stays issued. The local gateway routes a request by its Host to the enabled tenant that
 * has the domain (route()), as CloudFront does. The operations speak CloudFront's REST-XML (wire.ts).
 * Tenants survive a restart in `<state-dir>/cloudfront-tenants.json` (mode 600, replaced whole by a
 * rename); changes are made one at a time, so two creates for one domain cannot both succeed.
 *
 * Where the real thing differs:
 * - the two distributions and the connection group are fixed and are not in the emulator (its
 *   GetDistribution does not know them); they define no parameters, so any Parameters are taken;
 *   Customizations are refused as not emulated;
 * - the certificate is issued as soon as a read finds the DNS right (CloudFront polls, and takes minutes);
 *   its validation tokens are shown but never fetched; it is not in ACM (the emulator does not know its
 *   ARN), never expires, is never renewed, and its validation never times out;
 * - changing a tenant's domains requests a new certificate for them (unless its issued one covers them),
 *   with the settings of the last request;
 * - every change is deployed at once (Status `Deployed`), except that a change of a tenant's Parameters
 *   can be made to take `TENANTCTL_CLOUDFRONT_PROPAGATION_MS` milliseconds (0 by default): until then the
 *   tenant is `InProgress` and route() goes by its parameters before the change, as CloudFront's edge does
 *   while a change deploys (minutes on AWS);
 * - a domain is refused (CNAMEAlreadyExists) when another tenant has it, not when a distribution of the
 *   emulator has it as an alias;
 * - a tenant must be disabled before it is deleted (ResourceNotDisabled), as the API reference says; a
 *   missing If-Match is InvalidIfMatchVersion and a stale one PreconditionFailed, as for distributions.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { LocalPlatformNames } from '../../common/names';
import type { DomainSettings } from '../../infra/domain-edge';
import { LOCAL_ACCOUNT } from '../account';
import { CustomerDns, type DnsFinding, type DnsSnapshot } from './customer-dns';
import {
  CloudFrontError,
  emptyAnswer,
  errorAnswer,
  readListInput,
  readTenantInput,
  readVerifyInput,
  tenantSummaryXml,
  tenantXml,
  xmlAnswer,
  type CloudFrontAnswer,
  type ListInput,
  type ManagedCertificateRequest,
  type Parameter,
  type SaasReference,
  type SaasRequest,
  type Tag,
  type TenantInput,
  type TenantView,
} from './wire';

/** The multi-tenant distribution of the tenants' sites. */
export const LOCAL_SITE_DISTRIBUTION_ID = 'E1LOCALSITES';
/** The multi-tenant distribution of the tenants' APIs. */
export const LOCAL_API_DISTRIBUTION_ID = 'E1LOCALAPIS';
/** The one connection group: a tenant created without ConnectionGroupId joins it. */
export const LOCAL_CONNECTION_GROUP_ID = 'cg_local';
export const LOCAL_CONNECTION_GROUP_NAME = 'local-default';
/** Where the customer's DNS must route a tenant's domains (CNAME, or A/AAAA alias at an apex). */
export const LOCAL_ROUTING_ENDPOINT = 'edge.cloudfront.localhost';

/**
 * The local edge (this stand-in for CloudFront SaaS Manager) and how long a
 * customer has to add its records: `TENANTCTL_DOMAIN_TIMEOUT_S` seconds, else ACM's 72 hours.
 */
export function localDomainSettings(): DomainSettings {
  const seconds = Number(process.env.TENANTCTL_DOMAIN_TIMEOUT_S ?? 72 * 3600);
  if (!Number.isInteger(seconds) || seconds <= 0)
    throw new Error(
      `TENANTCTL_DOMAIN_TIMEOUT_S must be a whole number of seconds, got ${process.env.TENANTCTL_DOMAIN_TIMEOUT_S}`,
    );
  return {
    tenantDistributions: { site: LOCAL_SITE_DISTRIBUTION_ID, api: LOCAL_API_DISTRIBUTION_ID },
    connectionGroupId: LOCAL_CONNECTION_GROUP_ID,
    routingEndpoint: LOCAL_ROUTING_ENDPOINT,
    validationTimeout: Duration.seconds(seconds),
  };
}

/** Where route() sends a request: the tenant's distribution, name and parameters. */
export interface Route {
  readonly distributionId: string;
  readonly tenantName: string;
  readonly parameters: Record<string, string>;
}

type CertificateStatus = 'pending-validation' | 'issued';

/** A CloudFront-managed certificate of a tenant. */
interface CertificateRecord {
  readonly arn: string;
  /** The domains it is for: the tenant's when it was requested. */
  readonly domains: readonly string[];
  readonly validationTokenHost: string;
  readonly primaryDomainName: string;
  readonly transparencyLogging: string;
  readonly status: CertificateStatus;
  readonly requestedAt: string;
  readonly issuedAt?: string;
}

/** What survives a restart of the platform about one distribution tenant. */
interface TenantRecord {
  readonly id: string;
  readonly name: string;
  readonly distributionId: string;
  /** Lower case. */
  readonly domains: readonly string[];
  readonly parameters: readonly Parameter[];
  readonly tags: readonly Tag[];
  readonly connectionGroupId: string;
  readonly enabled: boolean;
  readonly certificate?: CertificateRecord;
  readonly createdAt: string;
  readonly modifiedAt: string;
  /** The version an update or delete must name in If-Match; a new one with every change. */
  readonly etag: string;
  /** A change of its parameters being deployed: the edge goes by the ones before it until `until`. */
  readonly deploying?: { readonly until: string; readonly parameters: readonly Parameter[] };
}

type Tenants = ReadonlyMap<string, TenantRecord>;

const STATE_FILE = 'cloudfront-tenants.json';
const DISTRIBUTIONS: readonly string[] = [LOCAL_SITE_DISTRIBUTION_ID, LOCAL_API_DISTRIBUTION_ID];
const CONNECTION_GROUP_CREATED = '2026-01-01T00:00:00.000Z';
const CONNECTION_GROUP_ETAG = 'E1LOCALCONNECTIONGROUP';
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9-.]{1,126}[a-zA-Z0-9]$/;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** "Each distribution tenant can have up to 5 domains" (the API reference). */
const MAX_DOMAINS = 5;
const DEFAULT_MAX_ITEMS = 100;

export class LocalSaasManager {
  private readonly file: string;
  private readonly dns: CustomerDns;
  /** The tenants as last saved (loaded at first use). */
  private state?: Promise<Tenants>;
  /** The change being made: the next one waits for it. */
  private changing: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string, emulatorEndpoint: string) {
    this.file = join(stateDir, STATE_FILE);
    this.dns = new CustomerDns(emulatorEndpoint, LocalPlatformNames.region);
  }

  /** Answers one SaaS Manager request (wire.ts's saasOperationOf) as CloudFront would. */
  async handle(request: SaasRequest, body: Buffer, headers: IncomingHttpHeaders): Promise<CloudFrontAnswer> {
    try {
      return await this.answer(request, body, ifMatchOf(headers));
    } catch (error) {
      if (error instanceof CloudFrontError) return errorAnswer(error);
      throw error;
    }
  }

  /**
   * The enabled tenant that has `host` (lower-cased; a `:port` is dropped) as a domain and whose managed
   * certificate is issued (or that asked for none), as CloudFront routes a request; else undefined.
   */
  async route(host: string): Promise<Route | undefined> {
    const domain = host.trim().toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
    const tenant = tenantWithDomain(await this.tenants(), domain);
    if (!tenant?.enabled) return undefined;
    const current = await this.evaluated(tenant, this.dns.snapshot());
    if (current.certificate && current.certificate.status !== 'issued') return undefined;
    const deployed = isDeploying(current) ? current.deploying.parameters : current.parameters;
    return {
      distributionId: current.distributionId,
      tenantName: current.name,
      parameters: Object.fromEntries(deployed.map((p) => [p.Name, p.Value])),
    };
  }

  /** The id of what a request names (for the IAM check's resource ARNs), or undefined when nothing is so named. */
  async idOf(reference: SaasReference): Promise<string | undefined> {
    if ('connectionGroup' in reference)
      return isLocalConnectionGroup(reference.connectionGroup) ? LOCAL_CONNECTION_GROUP_ID : undefined;
    const tenants = await this.tenants();
    return 'domain' in reference
      ? tenantWithDomain(tenants, reference.domain.toLowerCase())?.id
      : tenantNamed(tenants, reference.tenant)?.id;
  }

  /** Waits for the change being made, and closes the Route 53 client. */
  async close(): Promise<void> {
    await this.changing;
    this.dns.close();
  }

  private answer(request: SaasRequest, body: Buffer, ifMatch: string | undefined): Promise<CloudFrontAnswer> {
    const identifier = request.identifier ?? '';
    switch (request.operation) {
      case 'CreateDistributionTenant':
        return this.create(readTenantInput(body, 'CreateDistributionTenantRequest'));
      case 'GetDistributionTenant':
        return this.get(identifier);
      case 'GetDistributionTenantByDomain':
        return this.getByDomain(request.query.get('domain'));
      case 'ListDistributionTenants':
        return this.list(readListInput(body));
      case 'UpdateDistributionTenant':
        return this.update(identifier, ifMatch, readTenantInput(body, 'UpdateDistributionTenantRequest'));
      case 'DeleteDistributionTenant':
        return this.delete(identifier, ifMatch);
      case 'GetManagedCertificateDetails':
        return this.certificateDetails(identifier);
      case 'VerifyDnsConfiguration':
        return this.verify(readVerifyInput(body));
      case 'GetConnectionGroup':
        return Promise.resolve(connectionGroupAnswer(identifier));
    }
  }

  private async create(input: TenantInput): Promise<CloudFrontAnswer> {
    refuseCustomizations(input);
    const name = required(input.name, 'Name');
    if (!NAME_PATTERN.test(name))
      throw new CloudFrontError(
        'InvalidArgument',
        `Name must be 3-128 letters, digits, dots or hyphens, starting and ending with a letter or digit: ${name.slice(0, 130)}`,
      );
    const distributionId = knownDistribution(required(input.distributionId, 'DistributionId'));
    const domains = validDomains(input.domains);
    const connectionGroupId = knownConnectionGroup(input.connectionGroupId ?? LOCAL_CONNECTION_GROUP_ID);
    const parameters = validParameters(input.parameters ?? []);
    const tags = validTags(input.tags ?? []);
    const now = new Date().toISOString();
    const certificate =
      input.managedCertificateRequest && newCertificate(input.managedCertificateRequest, domains, now);
    const tenant = await this.change((tenants) => {
      if ([...tenants.values()].some((t) => t.name === name))
        throw new CloudFrontError(
          'EntityAlreadyExists',
          `A distribution tenant named ${name} already exists`,
        );
      refuseTakenDomains(tenants, domains);
      const created: TenantRecord = {
        id: newTenantId(),
        name,
        distributionId,
        domains,
        parameters,
        tags,
        connectionGroupId,
        enabled: input.enabled ?? true,
        certificate,
        createdAt: now,
        modifiedAt: now,
        etag: newEtag(),
      };
      tenants.set(created.id, created);
      return created;
    });
    return tenantAnswer(201, tenant);
  }

  private async get(identifier: string): Promise<CloudFrontAnswer> {
    const tenant = existing(tenantNamed(await this.tenants(), identifier), identifier);
    return tenantAnswer(200, await this.evaluated(tenant, this.dns.snapshot()));
  }

  private async getByDomain(domain: string | null): Promise<CloudFrontAnswer> {
    if (!domain) throw new CloudFrontError('InvalidArgument', 'The domain query parameter is required');
    const tenant = existing(tenantWithDomain(await this.tenants(), domain.toLowerCase()), domain);
    return tenantAnswer(200, await this.evaluated(tenant, this.dns.snapshot()));
  }

  private async list(input: ListInput): Promise<CloudFrontAnswer> {
    const maxItems = input.maxItems ?? DEFAULT_MAX_ITEMS;
    if (maxItems < 1) throw new CloudFrontError('InvalidArgument', 'MaxItems must be at least 1');
    // Ids begin with the time they were made: in id order, tenants are listed oldest first.
    const matching = [...(await this.tenants()).values()]
      .filter((t) => !input.distributionId || t.distributionId === input.distributionId)
      .filter((t) => !input.connectionGroupId || t.connectionGroupId === input.connectionGroupId)
      .filter((t) => !input.marker || t.id > input.marker)
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const page = matching.slice(0, maxItems);
    const dns = this.dns.snapshot();
    const listed = await Promise.all(page.map((tenant) => this.evaluated(tenant, dns)));
    return xmlAnswer(200, 'ListDistributionTenantsResult', {
      NextMarker: matching.length > maxItems ? page.at(-1)?.id : undefined,
      DistributionTenantList: { DistributionTenantSummary: listed.map((t) => tenantSummaryXml(view(t))) },
    });
  }

  private async update(
    id: string,
    ifMatch: string | undefined,
    input: TenantInput,
  ): Promise<CloudFrontAnswer> {
    refuseCustomizations(input);
    const tenant = await this.change((tenants) => {
      const current = existing(tenants.get(id), id);
      checkIfMatch(current, ifMatch);
      const domains = input.domains ? validDomains(input.domains) : current.domains;
      refuseTakenDomains(tenants, domains, current.id);
      const now = new Date().toISOString();
      const parameters = input.parameters ? validParameters(input.parameters) : current.parameters;
      const updated: TenantRecord = {
        ...current,
        ...deployingOf(current, parameters),
        distributionId: input.distributionId
          ? knownDistribution(input.distributionId)
          : current.distributionId,
        domains,
        parameters,
        connectionGroupId: input.connectionGroupId
          ? knownConnectionGroup(input.connectionGroupId)
          : current.connectionGroupId,
        enabled: input.enabled ?? current.enabled,
        certificate: nextCertificate(current, input.managedCertificateRequest, domains, now),
        modifiedAt: now,
        etag: newEtag(),
      };
      tenants.set(id, updated);
      return updated;
    });
    return tenantAnswer(200, tenant);
  }

  private async delete(id: string, ifMatch: string | undefined): Promise<CloudFrontAnswer> {
    await this.change((tenants) => {
      const current = existing(tenants.get(id), id);
      checkIfMatch(current, ifMatch);
      if (current.enabled)
        throw new CloudFrontError(
          'ResourceNotDisabled',
          `The distribution tenant ${id} is enabled: disable it (UpdateDistributionTenant with Enabled false) before deleting it`,
        );
      tenants.delete(id);
    });
    return emptyAnswer();
  }

  private async certificateDetails(identifier: string): Promise<CloudFrontAnswer> {
    const found = existing(tenantNamed(await this.tenants(), identifier), identifier);
    const { certificate } = await this.evaluated(found, this.dns.snapshot());
    if (!certificate)
      throw new CloudFrontError(
        'EntityNotFound',
        `The distribution tenant ${identifier} has no CloudFront managed certificate`,
      );
    return xmlAnswer(200, 'ManagedCertificateDetails', {
      CertificateArn: certificate.arn,
      CertificateStatus: certificate.status,
      ValidationTokenHost: certificate.validationTokenHost,
      ValidationTokenDetails: { member: certificate.domains.map((d) => validationToken(certificate, d)) },
    });
  }

  private async verify(input: { identifier?: string; domain?: string }): Promise<CloudFrontAnswer> {
    const identifier = required(input.identifier, 'Identifier');
    const tenant = existing(tenantNamed(await this.tenants(), identifier), identifier);
    const dns = this.dns.snapshot();
    const domains = input.domain ? [input.domain.trim().toLowerCase()] : tenant.domains;
    const findings = await Promise.all(domains.map((d) => dns.check(d, LOCAL_ROUTING_ENDPOINT)));
    await this.evaluated(tenant, dns);
    return xmlAnswer(200, 'VerifyDnsConfigurationResult', {
      DnsConfigurationList: { DnsConfiguration: findings.map(dnsConfigurationXml) },
    });
  }

  /**
   * The tenant, with its certificate issued if the customer's DNS now routes every one of its domains to
   * the routing endpoint (every tenant is in the one connection group); an issued one is never looked at again.
   */
  private async evaluated(tenant: TenantRecord, dns: DnsSnapshot): Promise<TenantRecord> {
    const pending = tenant.certificate;
    if (!pending || pending.status === 'issued') return tenant;
    const findings = await Promise.all(tenant.domains.map((d) => dns.check(d, LOCAL_ROUTING_ENDPOINT)));
    if (!findings.every((f) => f.status === 'valid-configuration')) return tenant;
    return this.change((tenants) => {
      const current = tenants.get(tenant.id);
      // Changed (or deleted) while DNS was read: that change stands.
      if (!current?.certificate || current.certificate.arn !== pending.arn) return current ?? tenant;
      const issued: TenantRecord = {
        ...current,
        certificate: { ...current.certificate, status: 'issued', issuedAt: new Date().toISOString() },
      };
      tenants.set(issued.id, issued);
      return issued;
    });
  }

  private tenants(): Promise<Tenants> {
    this.state ??= this.load();
    return this.state;
  }

  /** Makes one change after the one being made: `work` edits a copy, which is saved, then becomes the state. */
  private change<T>(work: (tenants: Map<string, TenantRecord>) => T): Promise<T> {
    const made = this.changing.then(async () => {
      const tenants = new Map(await this.tenants());
      const result = work(tenants);
      await this.save(tenants);
      this.state = Promise.resolve(tenants);
      return result;
    });
    this.changing = made.catch(() => undefined);
    return made;
  }

  private async load(): Promise<Tenants> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw error;
    }
    try {
      const saved = JSON.parse(text) as { tenants: TenantRecord[] };
      return new Map(saved.tenants.map((tenant) => [tenant.id, tenant]));
    } catch (error) {
      throw new Error(`${this.file} is not the CloudFront tenants' state: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** Written aside, then renamed over the state: never half a file. */
  private async save(tenants: Tenants): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const aside = `${this.file}.${process.pid}.${randomUUID()}.part`;
    try {
      await writeFile(aside, JSON.stringify({ tenants: [...tenants.values()] }, null, 2), { mode: 0o600 });
      await rename(aside, this.file);
    } catch (error) {
      await rm(aside, { force: true });
      throw error;
    }
  }
}

// ---- what a request names ----

function tenantNamed(tenants: Tenants, identifier: string): TenantRecord | undefined {
  const id = identifier.startsWith(tenantArn('')) ? identifier.slice(tenantArn('').length) : identifier;
  return tenants.get(id) ?? [...tenants.values()].find((t) => t.name === identifier);
}

function tenantWithDomain(tenants: Tenants, domain: string): TenantRecord | undefined {
  return [...tenants.values()].find((t) => t.domains.includes(domain));
}

function existing(tenant: TenantRecord | undefined, identifier: string): TenantRecord {
  if (!tenant)
    throw new CloudFrontError(
      'EntityNotFound',
      `The distribution tenant ${identifier.slice(0, 200)} does not exist`,
    );
  return tenant;
}

const tenantArn = (id: string) => `arn:aws:cloudfront::${LOCAL_ACCOUNT}:distribution-tenant/${id}`;
const connectionGroupArn = `arn:aws:cloudfront::${LOCAL_ACCOUNT}:connection-group/${LOCAL_CONNECTION_GROUP_ID}`;

function isLocalConnectionGroup(identifier: string): boolean {
  return [LOCAL_CONNECTION_GROUP_ID, LOCAL_CONNECTION_GROUP_NAME, connectionGroupArn].includes(identifier);
}

// ---- checks of a request ----

function required(value: string | undefined, name: string): string {
  if (!value) throw new CloudFrontError('InvalidArgument', `${name} is required`);
  return value;
}

function refuseCustomizations(input: TenantInput): void {
  if (input.customized)
    throw new CloudFrontError(
      'InvalidArgument',
      'Customizations (web ACL, certificate, geo restrictions) are not emulated by the local platform',
    );
}

function knownDistribution(id: string): string {
  if (!DISTRIBUTIONS.includes(id))
    throw new CloudFrontError(
      'EntityNotFound',
      `The distribution ${id.slice(0, 100)} does not exist (the local multi-tenant distributions are ${DISTRIBUTIONS.join(' and ')})`,
    );
  return id;
}

function knownConnectionGroup(id: string): string {
  if (id !== LOCAL_CONNECTION_GROUP_ID)
    throw new CloudFrontError(
      'EntityNotFound',
      `The connection group ${id.slice(0, 100)} does not exist (the local one is ${LOCAL_CONNECTION_GROUP_ID})`,
    );
  return id;
}

/** Lower-cased, each a host name of two labels or more, no two alike, at least one and at most 5. */
function validDomains(given: readonly string[] | undefined): string[] {
  if (!given?.length) throw new CloudFrontError('InvalidArgument', 'Domains must name at least one domain');
  if (given.length > MAX_DOMAINS)
    throw new CloudFrontError('InvalidArgument', `A distribution tenant has at most ${MAX_DOMAINS} domains`);
  const domains = given.map((d) => d.trim().toLowerCase());
  for (const domain of domains) {
    const labels = domain.split('.');
    if (domain.length > 253 || labels.length < 2 || !labels.every((l) => DNS_LABEL.test(l)))
      throw new CloudFrontError('InvalidArgument', `${domain.slice(0, 260)} is not a valid domain name`);
  }
  const repeated = domains.find((d, i) => domains.indexOf(d) !== i);
  if (repeated) throw new CloudFrontError('InvalidArgument', `Domains names ${repeated} twice`);
  return domains;
}

/** CNAMEAlreadyExists when another tenant than `except` has one of the domains. */
function refuseTakenDomains(tenants: Tenants, domains: readonly string[], except?: string): void {
  for (const domain of domains) {
    const other = tenantWithDomain(tenants, domain);
    if (other && other.id !== except)
      throw new CloudFrontError(
        'CNAMEAlreadyExists',
        `One or more of the CNAMEs you provided are already associated with a different resource: ${domain}`,
      );
  }
}

function validParameters(parameters: readonly Parameter[]): Parameter[] {
  const names = parameters.map((p) => p.Name);
  if (names.some((n) => !n)) throw new CloudFrontError('InvalidArgument', 'Every parameter needs a Name');
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated) throw new CloudFrontError('InvalidArgument', `Parameters names ${repeated} twice`);
  return parameters.map((p) => ({ Name: p.Name, Value: p.Value }));
}

function validTags(tags: readonly Tag[]): Tag[] {
  if (tags.some((t) => !t.Key || t.Key.length > 128))
    throw new CloudFrontError('InvalidArgument', 'Every tag needs a Key of 1-128 characters');
  return tags.map((t) => ({ Key: t.Key, Value: t.Value }));
}

function checkIfMatch(tenant: TenantRecord, ifMatch: string | undefined): void {
  if (!ifMatch)
    throw new CloudFrontError(
      'InvalidIfMatchVersion',
      'The If-Match version is missing or not valid for the resource: give the ETag of the distribution tenant',
    );
  if (ifMatch !== tenant.etag)
    throw new CloudFrontError(
      'PreconditionFailed',
      `The If-Match version ${ifMatch.slice(0, 40)} is not the current version of distribution tenant ${tenant.id}`,
    );
}

function ifMatchOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers['if-match'];
  return typeof value === 'string' ? value.trim().replace(/^"(.*)"$/, '$1') : undefined;
}

// ---- the certificate authority ----

function newCertificate(
  request: ManagedCertificateRequest,
  domains: readonly string[],
  now: string,
): CertificateRecord {
  const host = request.validationTokenHost;
  if (host !== 'cloudfront' && host !== 'self-hosted')
    throw new CloudFrontError(
      'InvalidArgument',
      'ManagedCertificateRequest.ValidationTokenHost must be cloudfront or self-hosted',
    );
  const logging = request.certificateTransparencyLoggingPreference ?? 'enabled';
  if (logging !== 'enabled' && logging !== 'disabled')
    throw new CloudFrontError(
      'InvalidArgument',
      'ManagedCertificateRequest.CertificateTransparencyLoggingPreference must be enabled or disabled',
    );
  const primary = request.primaryDomainName?.trim().toLowerCase() ?? domains[0]!;
  if (!domains.includes(primary))
    throw new CloudFrontError(
      'InvalidArgument',
      `ManagedCertificateRequest.PrimaryDomainName ${primary.slice(0, 260)} is not one of the tenant's domains`,
    );
  return {
    arn: `arn:aws:acm:us-east-1:${LOCAL_ACCOUNT}:certificate/${randomUUID()}`,
    domains,
    validationTokenHost: host,
    primaryDomainName: primary,
    transparencyLogging: logging,
    status: 'pending-validation',
    requestedAt: now,
  };
}

/**
 * The certificate a tenant has after an update to `domains`: the one it has while that is for the same
 * domains (or issued and covering them all), else a new one, requested as asked or as the last one was.
 */
function nextCertificate(
  tenant: TenantRecord,
  request: ManagedCertificateRequest | undefined,
  domains: readonly string[],
  now: string,
): CertificateRecord | undefined {
  const kept = tenant.certificate;
  const covers = (certificate: CertificateRecord) => domains.every((d) => certificate.domains.includes(d));
  if (kept && covers(kept) && (kept.status === 'issued' || kept.domains.length === domains.length))
    return kept;
  const asked = request ?? (kept && lastRequest(kept, domains));
  return asked && newCertificate(asked, domains, now);
}

/** The request `certificate` was made with, for new domains (its primary name kept if still among them). */
function lastRequest(certificate: CertificateRecord, domains: readonly string[]): ManagedCertificateRequest {
  return {
    validationTokenHost: certificate.validationTokenHost,
    certificateTransparencyLoggingPreference: certificate.transparencyLogging,
    primaryDomainName: domains.includes(certificate.primaryDomainName)
      ? certificate.primaryDomainName
      : undefined,
  };
}

/** Where the HTTP validation token of `domain` would be served (ACM's scheme); never fetched here. */
function validationToken(certificate: CertificateRecord, domain: string) {
  const token = createHash('sha256').update(`${certificate.arn} ${domain}`).digest('hex').slice(0, 32);
  const path = `.well-known/pki-validation/${token}.txt`;
  return {
    Domain: domain,
    RedirectTo: `validation.us-east-1.acm-validations.aws/${LOCAL_ACCOUNT}/${path}`,
    RedirectFrom: `${domain}/${path}`,
  };
}

// ---- answers ----

/** How long a change of a tenant's parameters takes to deploy (`TENANTCTL_CLOUDFRONT_PROPAGATION_MS`). */
function propagationMs(): number {
  const given = process.env.TENANTCTL_CLOUDFRONT_PROPAGATION_MS ?? '0';
  const ms = Number(given);
  if (!Number.isInteger(ms) || ms < 0)
    throw new Error(
      `TENANTCTL_CLOUDFRONT_PROPAGATION_MS must be a whole number of milliseconds, got ${given}`,
    );
  return ms;
}

function isDeploying(
  tenant: TenantRecord,
): tenant is TenantRecord & { deploying: NonNullable<TenantRecord['deploying']> } {
  return tenant.deploying !== undefined && Date.parse(tenant.deploying.until) > Date.now();
}

/**
 * What an update deploys: new `parameters` take the propagation time, the edge keeping the ones deployed
 * before (those of a change still deploying, else the current ones); unchanged ones keep what deploys.
 */
function deployingOf(
  current: TenantRecord,
  parameters: readonly Parameter[],
): Pick<TenantRecord, 'deploying'> {
  const same = JSON.stringify(parameters) === JSON.stringify(current.parameters);
  const ms = propagationMs();
  if (same || ms === 0) return { deploying: isDeploying(current) ? current.deploying : undefined };
  const before = isDeploying(current) ? current.deploying.parameters : current.parameters;
  return { deploying: { until: new Date(Date.now() + ms).toISOString(), parameters: before } };
}

function view(tenant: TenantRecord): TenantView {
  const status = !tenant.certificate || tenant.certificate.status === 'issued' ? 'active' : 'inactive';
  return {
    id: tenant.id,
    arn: tenantArn(tenant.id),
    distributionId: tenant.distributionId,
    name: tenant.name,
    domains: tenant.domains.map((domain) => ({ domain, status })),
    tags: tenant.tags,
    parameters: tenant.parameters,
    connectionGroupId: tenant.connectionGroupId,
    createdTime: tenant.createdAt,
    lastModifiedTime: tenant.modifiedAt,
    enabled: tenant.enabled,
    etag: tenant.etag,
    status: isDeploying(tenant) ? 'InProgress' : 'Deployed',
  };
}

function tenantAnswer(status: number, tenant: TenantRecord): CloudFrontAnswer {
  return xmlAnswer(status, 'DistributionTenant', tenantXml(view(tenant)), tenant.etag);
}

function dnsConfigurationXml(finding: DnsFinding) {
  return { Domain: finding.domain, Status: finding.status, Reason: finding.reason };
}

function connectionGroupAnswer(identifier: string): CloudFrontAnswer {
  if (!isLocalConnectionGroup(identifier))
    throw new CloudFrontError(
      'EntityNotFound',
      `The connection group ${identifier.slice(0, 200)} does not exist (the local one is ${LOCAL_CONNECTION_GROUP_ID}, named ${LOCAL_CONNECTION_GROUP_NAME})`,
    );
  return xmlAnswer(
    200,
    'ConnectionGroup',
    {
      Id: LOCAL_CONNECTION_GROUP_ID,
      Name: LOCAL_CONNECTION_GROUP_NAME,
      Arn: connectionGroupArn,
      CreatedTime: CONNECTION_GROUP_CREATED,
      LastModifiedTime: CONNECTION_GROUP_CREATED,
      Ipv6Enabled: true,
      RoutingEndpoint: LOCAL_ROUTING_ENDPOINT,
      Status: 'Deployed',
      Enabled: true,
      IsDefault: true,
    },
    CONNECTION_GROUP_ETAG,
  );
}

// ---- identifiers ----

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomText(length: number, alphabet: string): string {
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/** `dt_` and 27 characters, as CloudFront's; the first 9 are the time, so ids sort oldest first. */
function newTenantId(): string {
  return `dt_${Date.now().toString(36).padStart(9, '0')}${randomText(18, ALPHANUMERIC)}`;
}

/** `E` and 13 capitals or digits, as CloudFront's ETags. */
function newEtag(): string {
  return `E${randomText(13, ALPHANUMERIC.replace(/[a-z]/g, ''))}`;
}
