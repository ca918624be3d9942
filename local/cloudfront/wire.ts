/**
 * CloudFront's REST-XML protocol for the SaaS Manager operations the local stand-in answers
 * (saas-manager.ts), as @aws-sdk/client-cloudfront 3.1164 sends and reads them: which method and path is
 * which operation, what the request bodies hold, how answers and errors are written.
 *
 * Where the real thing differs: a list in a request is read whatever its items are named (the SDK and the
 * aws CLI send `<member>`, the API reference shows `<DomainItem>` and `<Parameter>`); answers write
 * `<member>`, which is what the SDK reads (the reference shows the shape names there too).
 */
import { randomUUID } from 'node:crypto';
import {
  childOf,
  MalformedXml,
  parseXml,
  textOf,
  xmlDocument,
  type XmlElement,
  type XmlObject,
} from '../xml';

const CLOUDFRONT_NAMESPACE = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';

/** A whole CloudFront answer: the prolog and `root` in CloudFront's namespace. */
function cloudFrontDocument(root: string, content: XmlObject): string {
  return xmlDocument(root, CLOUDFRONT_NAMESPACE, content);
}

export type SaasOperation =
  | 'CreateDistributionTenant'
  | 'GetDistributionTenant'
  | 'GetDistributionTenantByDomain'
  | 'ListDistributionTenants'
  | 'UpdateDistributionTenant'
  | 'DeleteDistributionTenant'
  | 'GetManagedCertificateDetails'
  | 'VerifyDnsConfiguration'
  | 'GetConnectionGroup';

/** A request for one of those operations: the operation, the path's `{Identifier}` / `{Id}`, the query. */
export interface SaasRequest {
  readonly operation: SaasOperation;
  /** Decoded: an ARN comes URL-encoded in one path segment. */
  readonly identifier?: string;
  readonly query: URLSearchParams;
}

/**
 * What a request names, as the IAM check resolves it to a resource ARN: a tenant by id, name or ARN, the
 * tenant that has a domain, or a connection group by id, name or ARN.
 */
export type SaasReference =
  { readonly tenant: string } | { readonly domain: string } | { readonly connectionGroup: string };

const VERSION = '/2020-05-31';

/** Method and path of each operation; a path's one group is its `{Identifier}` or `{Id}`. */
const ROUTES: readonly [method: string, path: RegExp, operation: SaasOperation][] = [
  ['POST', /^\/distribution-tenant$/, 'CreateDistributionTenant'],
  ['GET', /^\/distribution-tenant$/, 'GetDistributionTenantByDomain'],
  ['GET', /^\/distribution-tenant\/([^/]+)$/, 'GetDistributionTenant'],
  ['PUT', /^\/distribution-tenant\/([^/]+)$/, 'UpdateDistributionTenant'],
  ['DELETE', /^\/distribution-tenant\/([^/]+)$/, 'DeleteDistributionTenant'],
  ['POST', /^\/distribution-tenants$/, 'ListDistributionTenants'],
  ['GET', /^\/managed-certificate\/([^/]+)$/, 'GetManagedCertificateDetails'],
  ['POST', /^\/verify-dns-configuration$/, 'VerifyDnsConfiguration'],
  ['GET', /^\/connection-group\/([^/]+)$/, 'GetConnectionGroup'],
];

/**
 * The SaaS Manager operation a CloudFront request is (its path not decoded), or undefined for any other
 * CloudFront request.
 */
export function saasOperationOf(
  method: string,
  path: string,
  query: URLSearchParams,
): SaasRequest | undefined {
  if (!path.startsWith(`${VERSION}/`)) return undefined;
  const route = path.slice(VERSION.length);
  for (const [routeMethod, pattern, operation] of ROUTES) {
    const match = routeMethod === method ? pattern.exec(route) : null;
    if (match) return { operation, identifier: decodedSegment(match[1]), query };
  }
  return undefined;
}

/** A path segment decoded; one that is not validly encoded is taken as it is (and names nothing). */
function decodedSegment(segment: string | undefined): string | undefined {
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// ---- errors ----

const ERROR_STATUS = {
  EntityNotFound: 404,
  EntityAlreadyExists: 409,
  CNAMEAlreadyExists: 409,
  ResourceNotDisabled: 409,
  PreconditionFailed: 412,
  InvalidIfMatchVersion: 400,
  InvalidArgument: 400,
} as const;

type CloudFrontErrorCode = keyof typeof ERROR_STATUS;

/** An error CloudFront answers: the SDK names the exception after `code`. */
export class CloudFrontError extends Error {
  constructor(
    readonly code: CloudFrontErrorCode,
    message: string,
  ) {
    super(message);
    this.name = code;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

// ---- answers ----

/** What the endpoint sends back. */
export interface CloudFrontAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** An XML answer; `etag` goes in the `ETag` header (the version an update or delete must name in If-Match). */
export function xmlAnswer(status: number, root: string, content: XmlObject, etag?: string): CloudFrontAnswer {
  return {
    status,
    headers: { ...answerHeaders(randomUUID()), ...(etag ? { etag } : {}) },
    body: cloudFrontDocument(root, content),
  };
}

/** DeleteDistributionTenant's: 204, no body. */
export function emptyAnswer(): CloudFrontAnswer {
  return { status: 204, headers: { 'x-amz-request-id': randomUUID() }, body: '' };
}

/** CloudFront's error document: the SDK reads `Error/Code` as the exception's name. */
export function errorAnswer(error: CloudFrontError): CloudFrontAnswer {
  const requestId = randomUUID();
  return {
    status: error.status,
    headers: answerHeaders(requestId),
    body: cloudFrontDocument('ErrorResponse', {
      Error: { Type: 'Sender', Code: error.code, Message: error.message },
      RequestId: requestId,
    }),
  };
}

function answerHeaders(requestId: string): Record<string, string> {
  return { 'content-type': 'text/xml', 'x-amz-request-id': requestId };
}

/** What an answer says of a distribution tenant (GetDistributionTenant's `DistributionTenant`). */
export interface TenantView {
  readonly id: string;
  readonly arn: string;
  readonly distributionId: string;
  readonly name: string;
  readonly domains: readonly { readonly domain: string; readonly status: 'active' | 'inactive' }[];
  readonly tags: readonly Tag[];
  readonly parameters: readonly Parameter[];
  readonly connectionGroupId: string;
  readonly createdTime: string;
  readonly lastModifiedTime: string;
  readonly enabled: boolean;
  readonly etag: string;
  /** `InProgress` while a change deploys. */
  readonly status: 'Deployed' | 'InProgress';
}

export interface Tag {
  readonly Key: string;
  readonly Value?: string;
}

export interface Parameter {
  readonly Name: string;
  readonly Value: string;
}

/** What every answer about a tenant starts with. */
function tenantHead(tenant: TenantView): XmlObject {
  return {
    Id: tenant.id,
    DistributionId: tenant.distributionId,
    Name: tenant.name,
    Arn: tenant.arn,
    Domains: domainsXml(tenant),
  };
}

/** A tenant as Create/Get/Update answer it (the document's root is `DistributionTenant`). */
export function tenantXml(tenant: TenantView): XmlObject {
  return {
    ...tenantHead(tenant),
    Tags: tenant.tags.length ? { Items: { Tag: tenant.tags.map((t) => ({ ...t })) } } : undefined,
    Parameters: { member: tenant.parameters.map((p) => ({ ...p })) },
    ConnectionGroupId: tenant.connectionGroupId,
    CreatedTime: tenant.createdTime,
    LastModifiedTime: tenant.lastModifiedTime,
    Enabled: tenant.enabled,
    Status: tenant.status,
  };
}

/** A tenant as ListDistributionTenants lists it (`DistributionTenantSummary`, with its ETag). */
export function tenantSummaryXml(tenant: TenantView): XmlObject {
  return {
    ...tenantHead(tenant),
    CreatedTime: tenant.createdTime,
    LastModifiedTime: tenant.lastModifiedTime,
    ETag: tenant.etag,
    ConnectionGroupId: tenant.connectionGroupId,
    Enabled: tenant.enabled,
    Status: tenant.status,
  };
}

function domainsXml(tenant: TenantView): XmlObject {
  return { member: tenant.domains.map(({ domain, status }) => ({ Domain: domain, Status: status })) };
}

// ---- requests ----

/** What CreateDistributionTenant and UpdateDistributionTenant carry (absent: not in the request). */
export interface TenantInput {
  readonly distributionId?: string;
  readonly name?: string;
  readonly domains?: readonly string[];
  readonly parameters?: readonly Parameter[];
  readonly tags?: readonly Tag[];
  readonly connectionGroupId?: string;
  readonly managedCertificateRequest?: ManagedCertificateRequest;
  readonly enabled?: boolean;
  /** Whether it has `Customizations` (which the stand-in does not emulate). */
  readonly customized: boolean;
}

export interface ManagedCertificateRequest {
  readonly validationTokenHost?: string;
  readonly primaryDomainName?: string;
  readonly certificateTransparencyLoggingPreference?: string;
}

/** The body of CreateDistributionTenant (`CreateDistributionTenantRequest`) or UpdateDistributionTenant. */
export function readTenantInput(body: Buffer, root: string): TenantInput {
  const request = requestRoot(body, root);
  if (!request) return { customized: false };
  const certificate = childOf(request, 'ManagedCertificateRequest');
  const tags = childOf(request, 'Tags');
  return {
    distributionId: textOf(request, 'DistributionId'),
    name: textOf(request, 'Name'),
    domains: listOf(request, 'Domains')?.map((item) => textOf(item, 'Domain') ?? ''),
    parameters: listOf(request, 'Parameters')?.map((item) => ({
      Name: textOf(item, 'Name') ?? '',
      Value: textOf(item, 'Value') ?? '',
    })),
    tags:
      tags &&
      (listOf(tags, 'Items') ?? []).map((item) => ({
        Key: textOf(item, 'Key') ?? '',
        Value: textOf(item, 'Value'),
      })),
    connectionGroupId: textOf(request, 'ConnectionGroupId'),
    managedCertificateRequest: certificate && {
      validationTokenHost: textOf(certificate, 'ValidationTokenHost'),
      primaryDomainName: textOf(certificate, 'PrimaryDomainName'),
      certificateTransparencyLoggingPreference: textOf(
        certificate,
        'CertificateTransparencyLoggingPreference',
      ),
    },
    enabled: booleanOf(request, 'Enabled'),
    customized: childOf(request, 'Customizations') !== undefined,
  };
}

/** What ListDistributionTenants asks for: a filter, and where the page starts and how long it is. */
export interface ListInput {
  readonly distributionId?: string;
  readonly connectionGroupId?: string;
  readonly marker?: string;
  readonly maxItems?: number;
}

/** ListDistributionTenants' body (none at all when the SDK is given no filter). */
export function readListInput(body: Buffer): ListInput {
  const request = requestRoot(body, 'ListDistributionTenantsRequest');
  if (!request) return {};
  const filter = childOf(request, 'AssociationFilter');
  const maxItems = textOf(request, 'MaxItems');
  if (maxItems !== undefined && !/^\d{1,9}$/.test(maxItems.trim()))
    throw new CloudFrontError('InvalidArgument', 'MaxItems must be a whole number');
  return {
    distributionId: filter && textOf(filter, 'DistributionId'),
    connectionGroupId: filter && textOf(filter, 'ConnectionGroupId'),
    marker: textOf(request, 'Marker'),
    maxItems: maxItems === undefined ? undefined : Number(maxItems),
  };
}

/** VerifyDnsConfiguration's body: the tenant (id, name or ARN) and, optionally, one of its domains. */
export function readVerifyInput(body: Buffer): { identifier?: string; domain?: string } {
  const request = requestRoot(body, 'VerifyDnsConfigurationRequest');
  if (!request) return {};
  return { identifier: textOf(request, 'Identifier'), domain: textOf(request, 'Domain') };
}

/** The request document's root element (checked to be `root`), or undefined for an empty body. */
function requestRoot(body: Buffer, root: string): XmlElement | undefined {
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  let element: XmlElement;
  try {
    element = parseXml(text);
  } catch (error) {
    if (error instanceof MalformedXml) throw new CloudFrontError('InvalidArgument', error.message);
    throw error;
  }
  if (element.name !== root)
    throw new CloudFrontError('InvalidArgument', `The request body must be a ${root}, not ${element.name}`);
  return element;
}

/** The items of the list element `name` (whatever they are called), or undefined when it is absent. */
function listOf(parent: XmlElement, name: string): readonly XmlElement[] | undefined {
  return childOf(parent, name)?.children;
}

function booleanOf(parent: XmlElement, name: string): boolean | undefined {
  const text = textOf(parent, name)?.trim();
  if (text === undefined) return undefined;
  if (text !== 'true' && text !== 'false')
    throw new CloudFrontError('InvalidArgument', `${name} must be true or false, not ${text.slice(0, 20)}`);
  return text === 'true';
}
