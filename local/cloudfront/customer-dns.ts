/**
 * Stands in for **the DNS lookups CloudFront makes of a distribution tenant's domains**, before it issues
 * the tenant's managed certificate and for VerifyDnsConfiguration: the customer's DNS provider is Route 53
 * in the AWS emulator, read with the Route 53 API. A domain is looked up in the most specific public hosted
 * zone whose name is the domain or a suffix of it; it is routed to CloudFront when its record there is a
 * CNAME to the routing endpoint, or an A or AAAA alias of it (an apex cannot have a CNAME).
 *
 * Where the real thing differs: nothing is resolved over DNS. Delegation is not followed (a zone holds its
 * names whether or not its parent delegates to it; of two zones with the same name, either routing the
 * domain will do), nor a CNAME chain, nor wildcard records; routing policies (weighted, failover, ...) are
 * not told apart; private zones are ignored, as the public DNS would.
 */
import {
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ListResourceRecordSetsCommandOutput,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';

type DnsStatus = 'valid-configuration' | 'invalid-configuration' | 'unknown-configuration';

/** What VerifyDnsConfiguration says of one domain: its status and, in a sentence, what was found. */
export interface DnsFinding {
  readonly domain: string;
  readonly status: DnsStatus;
  readonly reason: string;
}

interface Zone {
  readonly id: string;
  /** Lower case, without the trailing dot. */
  readonly name: string;
}

/** Route 53 in the emulator, as the customer's DNS. */
export class CustomerDns {
  private readonly route53: Route53Client;

  constructor(emulatorEndpoint: string, region: string) {
    // The emulator takes any credentials: real ones must never travel to it.
    this.route53 = new Route53Client({
      endpoint: emulatorEndpoint,
      region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }

  /** The hosted zones as they are now: one read of each, however many domains are looked up in it. */
  snapshot(): DnsSnapshot {
    return new DnsSnapshot(this.route53);
  }

  close(): void {
    this.route53.destroy();
  }
}

export class DnsSnapshot {
  private zones?: Promise<readonly Zone[]>;
  private readonly recordSets = new Map<string, Promise<readonly ResourceRecordSet[]>>();

  constructor(private readonly route53: Route53Client) {}

  /** Whether `domain` (lower case) is routed to `endpoint`; never throws (a failed read is `unknown`). */
  async check(domain: string, endpoint: string): Promise<DnsFinding> {
    try {
      const holding = (await this.publicZones()).filter((zone) => holds(zone, domain));
      if (holding.length === 0)
        return { domain, status: 'unknown-configuration', reason: `no hosted zone holds ${domain}` };
      const mostSpecific = Math.max(...holding.map((zone) => zone.name.length));
      const findings = await Promise.all(
        holding
          .filter((zone) => zone.name.length === mostSpecific)
          .map((zone) => this.findingIn(zone, domain, endpoint)),
      );
      return findings.find((f) => f.status === 'valid-configuration') ?? findings[0]!;
    } catch (error) {
      return {
        domain,
        status: 'unknown-configuration',
        reason: `the hosted zones could not be read: ${(error as Error).message}`,
      };
    }
  }

  private async findingIn(zone: Zone, domain: string, endpoint: string): Promise<DnsFinding> {
    const records = (await this.recordSetsOf(zone)).filter((set) => normalName(set.Name) === domain);
    const valid = (reason: string): DnsFinding => ({ domain, status: 'valid-configuration', reason });
    const invalid = (reason: string): DnsFinding => ({ domain, status: 'invalid-configuration', reason });
    const cname = records.find((set) => set.Type === 'CNAME');
    if (cname) {
      const target = normalName(cname.ResourceRecords?.[0]?.Value);
      return target === endpoint
        ? valid(`${domain} is a CNAME to ${endpoint}`)
        : invalid(`${domain} is a CNAME to ${target}, not ${endpoint}`);
    }
    const addresses = records.filter((set) => set.Type === 'A' || set.Type === 'AAAA');
    const alias = addresses.find((set) => normalName(set.AliasTarget?.DNSName) === endpoint);
    if (alias) return valid(`${domain} is an ${alias.Type} alias of ${endpoint}`);
    const other = addresses[0];
    if (other?.AliasTarget)
      return invalid(
        `${domain} is an ${other.Type} alias of ${normalName(other.AliasTarget.DNSName)}, not of ${endpoint}`,
      );
    if (other)
      return invalid(
        `${domain} is an ${other.Type} record to ${(other.ResourceRecords ?? []).map((r) => r.Value).join(', ')}, not a CNAME to or an alias of ${endpoint}`,
      );
    return invalid(`the hosted zone ${zone.name} holds no CNAME, A or AAAA record for ${domain}`);
  }

  private publicZones(): Promise<readonly Zone[]> {
    this.zones ??= this.readPublicZones();
    return this.zones;
  }

  private async readPublicZones(): Promise<readonly Zone[]> {
    const zones: Zone[] = [];
    let marker: string | undefined;
    do {
      const page = await this.route53.send(new ListHostedZonesCommand({ Marker: marker }));
      for (const zone of page.HostedZones ?? [])
        if (!zone.Config?.PrivateZone && zone.Id) zones.push({ id: zone.Id, name: normalName(zone.Name) });
      marker = page.IsTruncated ? page.NextMarker : undefined;
    } while (marker);
    return zones;
  }

  private recordSetsOf(zone: Zone): Promise<readonly ResourceRecordSet[]> {
    let sets = this.recordSets.get(zone.id);
    if (!sets) {
      sets = this.readRecordSets(zone);
      this.recordSets.set(zone.id, sets);
    }
    return sets;
  }

  /** Every record set of the zone, page after page. */
  private async readRecordSets(zone: Zone): Promise<readonly ResourceRecordSet[]> {
    const sets: ResourceRecordSet[] = [];
    let start: PageStart | undefined = {};
    while (start) {
      const page: ListResourceRecordSetsCommandOutput = await this.route53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zone.id,
          StartRecordName: start.name,
          StartRecordType: start.type,
          StartRecordIdentifier: start.identifier,
        }),
      );
      sets.push(...(page.ResourceRecordSets ?? []));
      const next: PageStart | undefined = page.IsTruncated
        ? { name: page.NextRecordName, type: page.NextRecordType, identifier: page.NextRecordIdentifier }
        : undefined;
      if (
        next &&
        next.name === start.name &&
        next.type === start.type &&
        next.identifier === start.identifier
      )
        throw new Error(`the record sets of ${zone.name} page back to where they started`);
      start = next;
    }
    return sets;
  }
}

/** Where a page of ListResourceRecordSets starts: where the page before it said the next one does. */
interface PageStart {
  readonly name?: string;
  readonly type?: ResourceRecordSet['Type'];
  readonly identifier?: string;
}

/** Whether the zone's name is the domain or a suffix of it. */
function holds(zone: Zone, domain: string): boolean {
  return domain === zone.name || domain.endsWith(`.${zone.name}`);
}

/** A DNS name as Route 53 answers it, compared as DNS does: case ignored, `\052` escapes read, no final dot. */
function normalName(name: string | undefined): string {
  return (name ?? '')
    .replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))
    .toLowerCase()
    .replace(/\.$/, '');
}
