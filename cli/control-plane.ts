import { createHash, createHmac } from 'node:crypto';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { ConsoleRelease, TenantDetail } from '../console/registry';
import type { CellView } from '../workflow-tasks/records/capacity';
import type { TenantView } from '../workflow-tasks/records/registry';

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** SHA-256 and HMAC-SHA-256 as the SigV4 signer takes them, from node:crypto. */
class Sha256 {
  private readonly hash;

  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }

  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

/**
 * The control-plane API (workflow-tasks/control-plane/handler.ts) as a client: GET requests signed with
 * SigV4 for `execute-api`, with the credentials of the SDK's default chain, as the API's IAM authorizer
 * requires. `baseUrl` is the stack's `ControlPlaneUrl` output, or the local platform's endpoint's
 * `/control-plane`, which answers it the same way.
 */
export class ControlPlaneClient {
  private readonly signer: SignatureV4;

  constructor(
    private readonly baseUrl: string,
    region: string,
    /** The local platform's fixed ones; on AWS the default chain's. */
    credentials?: { accessKeyId: string; secretAccessKey: string },
  ) {
    this.signer = new SignatureV4({
      service: 'execute-api',
      region,
      credentials: credentials ?? fromNodeProviderChain(),
      sha256: Sha256,
    });
  }

  async tenants(): Promise<TenantView[]> {
    return (await this.get<{ tenants: TenantView[] }>('/tenants')).tenants;
  }

  /** One tenant with its resources and the releases that concerned it; undefined when there is none. */
  async tenant(tenantId: string): Promise<TenantDetail | undefined> {
    try {
      return await this.get<TenantDetail>(`/tenants/${encodeURIComponent(tenantId)}`);
    } catch (error) {
      // No such tenant, or no such id (the API refuses a malformed one): not in the registry.
      if ([400, 404].includes((error as { status?: number }).status ?? 0)) return undefined;
      throw error;
    }
  }

  /** The releases that concerned a tenant (GET /tenants/{tenantId}), their execution ARNs newest first. */
  async releasesOf(tenantId: string): Promise<string[]> {
    return ((await this.tenant(tenantId))?.releases ?? []).map((r) => r.release);
  }

  /** Each cell's use against the limits placement goes by (GET /cells). */
  async cells(): Promise<CellView[]> {
    return (await this.get<{ cells: CellView[] }>('/cells')).cells;
  }

  /** The newest releases with their counts (GET /releases). */
  async releases(): Promise<ConsoleRelease[]> {
    return (await this.get<{ releases: ConsoleRelease[] }>('/releases')).releases;
  }

  /** A GET of the API, signed; a non-2xx answer throws with its message. */
  async get<T>(path: string): Promise<T> {
    const url = new URL(`${this.baseUrl.replace(/\/+$/, '')}${path}`);
    const signed = await this.signer.sign({
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { host: url.host },
    });
    const res = await fetch(url, { headers: signed.headers });
    const body = (await res.json().catch(() => ({}))) as T & { message?: string };
    if (!res.ok)
      throw Object.assign(
        new Error(`the control-plane API answered ${res.status}: ${body.message ?? res.statusText}`),
        { status: res.status },
      );
    return body;
  }
}
