import { createServer, type Server } from 'node:http';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CloudFrontClient,
  CreateDistributionTenantCommand,
  DeleteDistributionTenantCommand,
  GetConnectionGroupCommand,
  GetDistributionTenantByDomainCommand,
  GetDistributionTenantCommand,
  GetManagedCertificateDetailsCommand,
  ListDistributionsCommand,
  ListDistributionTenantsCommand,
  UpdateDistributionTenantCommand,
  VerifyDnsConfigurationCommand,
  type CreateDistributionTenantCommandInput,
} from '@aws-sdk/client-cloudfront';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  Route53Client,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { LOCAL_ACCOUNT } from '../../local/account';
import {
  LOCAL_API_DISTRIBUTION_ID,
  LOCAL_CONNECTION_GROUP_ID,
  LOCAL_CONNECTION_GROUP_NAME,
  LOCAL_ROUTING_ENDPOINT,
  LOCAL_SITE_DISTRIBUTION_ID,
  LocalSaasManager,
} from '../../local/cloudfront/saas-manager';
import type { LocalEmulator } from '../../local/emulator/emulator';
import { startBareEndpoint, type BareEndpoint } from '../fixtures/bare-endpoint';
import { LocalIam } from '../../local/iam/enforcer';
import { authorizationsOf, type Authorization, type WireRequest } from '../../local/iam/operations';

/** What the stand-in needs: the emulator (Route 53 is the customer's DNS) and the one AWS endpoint. */
let bare: BareEndpoint | undefined;
let stateDir = '';
let emulator: LocalEmulator | undefined;
let saasManager: LocalSaasManager;
let cloudfront: CloudFrontClient;
let route53: Route53Client;

beforeAll(async () => {
  bare = await startBareEndpoint('saas');
  ({ stateDir, emulator, saasManager } = bare);
  const config = clientConfig(bare.url);
  cloudfront = new CloudFrontClient(config);
  route53 = new Route53Client(config);
});

afterAll(async () => {
  cloudfront?.destroy();
  route53?.destroy();
  await bare?.stop();
});

function clientConfig(url: string) {
  return {
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  };
}

const createTenant = (input: Partial<CreateDistributionTenantCommandInput> & { Name: string }) =>
  cloudfront.send(
    new CreateDistributionTenantCommand({
      DistributionId: LOCAL_SITE_DISTRIBUTION_ID,
      Domains: [],
      ...input,
    }),
  );

/** The customer's DNS: a public hosted zone in the emulator, with these records. */
async function customerZone(name: string, records: ResourceRecordSet[]): Promise<string> {
  const { HostedZone } = await route53.send(
    new CreateHostedZoneCommand({ Name: name, CallerReference: `${name}-${Date.now()}` }),
  );
  await changeRecords(HostedZone!.Id!, 'CREATE', records);
  return HostedZone!.Id!;
}

async function changeRecords(zoneId: string, action: 'CREATE' | 'DELETE', records: ResourceRecordSet[]) {
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: { Changes: records.map((ResourceRecordSet) => ({ Action: action, ResourceRecordSet })) },
    }),
  );
}

const aliasOf = (name: string, target: string): ResourceRecordSet => ({
  Name: name,
  Type: 'A',
  AliasTarget: { HostedZoneId: 'Z2FDTNDATAQYW2', DNSName: target, EvaluateTargetHealth: false },
});
const cnameOf = (name: string, target: string): ResourceRecordSet => ({
  Name: name,
  Type: 'CNAME',
  TTL: 300,
  ResourceRecords: [{ Value: target }],
});

const certificateOf = async (Identifier: string) =>
  (await cloudfront.send(new GetManagedCertificateDetailsCommand({ Identifier }))).ManagedCertificateDetails;
const tenantOf = async (Identifier: string) =>
  cloudfront.send(new GetDistributionTenantCommand({ Identifier }));
const verified = async (Identifier: string, Domain?: string) =>
  (await cloudfront.send(new VerifyDnsConfigurationCommand({ Identifier, Domain }))).DnsConfigurationList;
const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: Error & { $metadata?: { httpStatusCode?: number } }) => ({
      name: error.name,
      status: error.$metadata?.httpStatusCode,
      message: error.message,
    }),
  );

describe('a tenant with a managed certificate: the local certificate authority', () => {
  let shopZone = '';

  it('is pending validation, with inactive domains, and is not routed until its DNS is right', async () => {
    const created = await createTenant({
      Name: 'shop',
      Domains: [{ Domain: 'shop.example' }, { Domain: 'WWW.shop.example' }],
      Parameters: [{ Name: 'tenantId', Value: 'shop' }],
      ManagedCertificateRequest: { ValidationTokenHost: 'cloudfront', PrimaryDomainName: 'shop.example' },
      Tags: { Items: [{ Key: 'team', Value: 'shop' }] },
    });
    expect(created.ETag).toMatch(/^E[A-Z0-9]{13}$/);
    expect(created.DistributionTenant).toMatchObject({
      Id: expect.stringMatching(/^dt_[A-Za-z0-9]{27}$/) as unknown,
      DistributionId: LOCAL_SITE_DISTRIBUTION_ID,
      Name: 'shop',
      ConnectionGroupId: LOCAL_CONNECTION_GROUP_ID,
      Enabled: true,
      Status: 'Deployed',
      Domains: [
        { Domain: 'shop.example', Status: 'inactive' },
        { Domain: 'www.shop.example', Status: 'inactive' },
      ],
      Parameters: [{ Name: 'tenantId', Value: 'shop' }],
      Tags: { Items: [{ Key: 'team', Value: 'shop' }] },
    });
    expect(created.DistributionTenant?.Arn).toBe(
      `arn:aws:cloudfront::${LOCAL_ACCOUNT}:distribution-tenant/${created.DistributionTenant?.Id}`,
    );
    expect(created.DistributionTenant?.CreatedTime).toBeInstanceOf(Date);

    const certificate = await certificateOf('shop');
    expect(certificate).toMatchObject({
      CertificateStatus: 'pending-validation',
      ValidationTokenHost: 'cloudfront',
      CertificateArn: expect.stringMatching(
        new RegExp(`^arn:aws:acm:us-east-1:${LOCAL_ACCOUNT}:certificate/[0-9a-f-]{36}$`),
      ) as unknown,
    });
    expect(certificate?.ValidationTokenDetails?.map((d) => d.Domain)).toEqual([
      'shop.example',
      'www.shop.example',
    ]);
    expect(await saasManager.route('shop.example')).toBeUndefined();
    expect(await verified('shop')).toEqual([
      {
        Domain: 'shop.example',
        Status: 'unknown-configuration',
        Reason: 'no hosted zone holds shop.example',
      },
      {
        Domain: 'www.shop.example',
        Status: 'unknown-configuration',
        Reason: 'no hosted zone holds www.shop.example',
      },
    ]);
  });

  it("is issued once the customer's hosted zone routes every domain to the routing endpoint; then it is routed", async () => {
    shopZone = await customerZone('shop.example', [
      aliasOf('shop.example', LOCAL_ROUTING_ENDPOINT),
      // Compared as DNS compares names: case and the final dot do not matter.
      cnameOf('www.shop.example', 'EDGE.cloudfront.localhost.'),
    ]);
    const { DistributionTenant, ETag } = await tenantOf('shop');
    expect(DistributionTenant?.Domains).toEqual([
      { Domain: 'shop.example', Status: 'active' },
      { Domain: 'www.shop.example', Status: 'active' },
    ]);
    expect(ETag).toMatch(/^E/);
    expect((await certificateOf(DistributionTenant!.Id!))?.CertificateStatus).toBe('issued');
    expect(await verified('shop')).toEqual([
      {
        Domain: 'shop.example',
        Status: 'valid-configuration',
        Reason: `shop.example is an A alias of ${LOCAL_ROUTING_ENDPOINT}`,
      },
      {
        Domain: 'www.shop.example',
        Status: 'valid-configuration',
        Reason: `www.shop.example is a CNAME to ${LOCAL_ROUTING_ENDPOINT}`,
      },
    ]);
    expect(await saasManager.route('WWW.shop.example')).toEqual({
      distributionId: LOCAL_SITE_DISTRIBUTION_ID,
      tenantName: 'shop',
      parameters: { tenantId: 'shop' },
    });
  });

  it('stays issued when the DNS changes later, and that survives a new stand-in over the same state', async () => {
    await changeRecords(shopZone, 'DELETE', [cnameOf('www.shop.example', 'EDGE.cloudfront.localhost.')]);
    expect((await certificateOf('shop'))?.CertificateStatus).toBe('issued');
    const restarted = new LocalSaasManager(stateDir, emulator!.endpoint);
    try {
      expect(await restarted.route('www.shop.example')).toMatchObject({ tenantName: 'shop' });
    } finally {
      await restarted.close();
    }
    const file = join(stateDir, 'cloudfront-tenants.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readdir(stateDir)).filter((name) => name.endsWith('.part'))).toEqual([]);
  });

  it('stays pending while a CNAME names something else, and says what it found', async () => {
    await createTenant({
      Name: 'blog',
      Domains: [{ Domain: 'blog.example' }, { Domain: 'www.blog.example' }],
      ManagedCertificateRequest: { ValidationTokenHost: 'self-hosted' },
    });
    await customerZone('blog.example', [
      aliasOf('blog.example', LOCAL_ROUTING_ENDPOINT),
      cnameOf('www.blog.example', 'elsewhere.example'),
    ]);
    expect(await verified('blog', 'www.blog.example')).toEqual([
      {
        Domain: 'www.blog.example',
        Status: 'invalid-configuration',
        Reason: `www.blog.example is a CNAME to elsewhere.example, not ${LOCAL_ROUTING_ENDPOINT}`,
      },
    ]);
    expect((await certificateOf('blog'))?.CertificateStatus).toBe('pending-validation');
    expect((await tenantOf('blog')).DistributionTenant?.Domains?.map((d) => d.Status)).toEqual([
      'inactive',
      'inactive',
    ]);
    expect(await saasManager.route('blog.example')).toBeUndefined();
  });

  it('reads a domain in the most specific hosted zone that holds it', async () => {
    // The parent zone routes it right; the zone of www.blog.example itself, which answers for it, does not.
    await customerZone('www.blog.example', [aliasOf('www.blog.example', 'other.cloudfront.localhost')]);
    expect(await verified('blog', 'www.blog.example')).toEqual([
      {
        Domain: 'www.blog.example',
        Status: 'invalid-configuration',
        Reason: `www.blog.example is an A alias of other.cloudfront.localhost, not of ${LOCAL_ROUTING_ENDPOINT}`,
      },
    ]);
  });
});

describe('what CloudFront refuses', () => {
  it('a domain another tenant has: CNAMEAlreadyExists, and nothing is created', async () => {
    expect(
      await errorOf(
        createTenant({
          Name: 'shop-copy',
          Domains: [{ Domain: 'new.example' }, { Domain: 'www.shop.example' }],
        }),
      ),
    ).toMatchObject({
      name: 'CNAMEAlreadyExists',
      status: 409,
      message: expect.stringContaining('www.shop.example') as unknown,
    });
    const listed = await cloudfront.send(new ListDistributionTenantsCommand({}));
    expect(listed.DistributionTenantList?.map((t) => t.Name)).not.toContain('shop-copy');
    expect(
      await errorOf(cloudfront.send(new GetDistributionTenantByDomainCommand({ Domain: 'new.example' }))),
    ).toMatchObject({ name: 'EntityNotFound', status: 404 });
  });

  it('a name taken: EntityAlreadyExists', async () => {
    expect(
      await errorOf(createTenant({ Name: 'shop', Domains: [{ Domain: 'other.example' }] })),
    ).toMatchObject({
      name: 'EntityAlreadyExists',
      status: 409,
    });
  });

  it('two creates at once for one domain: one succeeds, the other is CNAMEAlreadyExists', async () => {
    const results = await Promise.allSettled(
      ['race-a', 'race-b', 'race-c'].map((Name) =>
        createTenant({ Name, Domains: [{ Domain: 'race.example' }] }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(
      results
        .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
        .map((r) => (r.reason as Error).name),
    ).toEqual(['CNAMEAlreadyExists', 'CNAMEAlreadyExists']);
  });

  it('bad input: InvalidArgument; an unknown distribution or tenant: EntityNotFound', async () => {
    expect(await errorOf(createTenant({ Name: 'bad', Domains: [{ Domain: 'not a domain' }] }))).toMatchObject(
      {
        name: 'InvalidArgument',
        status: 400,
      },
    );
    expect(await errorOf(createTenant({ Name: 'bad', Domains: [] }))).toMatchObject({
      name: 'InvalidArgument',
    });
    expect(await errorOf(createTenant({ Name: 'x', Domains: [{ Domain: 'x.example' }] }))).toMatchObject({
      name: 'InvalidArgument',
      message: expect.stringContaining('Name') as unknown,
    });
    expect(
      await errorOf(
        createTenant({ Name: 'bad', DistributionId: 'E2NOTHERE', Domains: [{ Domain: 'bad.example' }] }),
      ),
    ).toMatchObject({ name: 'EntityNotFound', status: 404 });
    expect(await errorOf(tenantOf('no-such-tenant'))).toMatchObject({ name: 'EntityNotFound', status: 404 });
  });
});

describe('updating and deleting, with the ETag', () => {
  it('an enabled tenant is not deleted; a stale ETag is PreconditionFailed; disabled, it is deleted and no longer routed', async () => {
    const { DistributionTenant, ETag } = await tenantOf('shop');
    const Id = DistributionTenant!.Id!;
    expect(
      await errorOf(cloudfront.send(new DeleteDistributionTenantCommand({ Id, IfMatch: ETag }))),
    ).toMatchObject({
      name: 'ResourceNotDisabled',
      status: 409,
    });
    expect(
      await errorOf(
        cloudfront.send(new UpdateDistributionTenantCommand({ Id, IfMatch: 'E0STALE', Enabled: false })),
      ),
    ).toMatchObject({ name: 'PreconditionFailed', status: 412 });

    const updated = await cloudfront.send(
      new UpdateDistributionTenantCommand({ Id, IfMatch: ETag, Enabled: false }),
    );
    expect(updated.DistributionTenant).toMatchObject({ Enabled: false, Name: 'shop' });
    expect(updated.ETag).not.toBe(ETag);
    expect(await saasManager.route('shop.example')).toBeUndefined();

    expect(
      await errorOf(cloudfront.send(new DeleteDistributionTenantCommand({ Id, IfMatch: ETag }))),
    ).toMatchObject({
      name: 'PreconditionFailed',
      status: 412,
    });
    await cloudfront.send(new DeleteDistributionTenantCommand({ Id, IfMatch: updated.ETag }));
    expect(await errorOf(tenantOf(Id))).toMatchObject({ name: 'EntityNotFound' });
    expect(await saasManager.route('www.shop.example')).toBeUndefined();
  });

  it("updating a tenant's domains checks them against the other tenants' too", async () => {
    const { DistributionTenant, ETag } = await tenantOf('blog');
    expect(
      await errorOf(
        cloudfront.send(
          new UpdateDistributionTenantCommand({
            Id: DistributionTenant!.Id!,
            IfMatch: ETag,
            Domains: [{ Domain: 'blog.example' }, { Domain: 'race.example' }],
          }),
        ),
      ),
    ).toMatchObject({ name: 'CNAMEAlreadyExists' });
  });
});

describe('listing, the connection group, and what is not SaaS Manager', () => {
  it('a tenant without a managed certificate is routed at once; tenants are listed by distribution, a page at a time', async () => {
    await createTenant({
      Name: 'api-shop',
      DistributionId: LOCAL_API_DISTRIBUTION_ID,
      Domains: [{ Domain: 'api.shop.example' }],
      Parameters: [{ Name: 'tenantId', Value: 'shop' }],
    });
    expect(await saasManager.route('api.shop.example')).toEqual({
      distributionId: LOCAL_API_DISTRIBUTION_ID,
      tenantName: 'api-shop',
      parameters: { tenantId: 'shop' },
    });
    const apis = await cloudfront.send(
      new ListDistributionTenantsCommand({
        AssociationFilter: { DistributionId: LOCAL_API_DISTRIBUTION_ID },
      }),
    );
    expect(apis.DistributionTenantList?.map((t) => [t.Name, t.Domains?.[0]?.Status, t.ETag?.[0]])).toEqual([
      ['api-shop', 'active', 'E'],
    ]);
    const sites = await cloudfront.send(
      new ListDistributionTenantsCommand({
        AssociationFilter: { DistributionId: LOCAL_SITE_DISTRIBUTION_ID },
      }),
    );
    const siteNames = sites.DistributionTenantList?.map((t) => t.Name) ?? [];
    expect(siteNames).toContain('blog');
    expect(siteNames).not.toContain('api-shop');

    const paged: string[] = [];
    let Marker: string | undefined;
    do {
      const page = await cloudfront.send(new ListDistributionTenantsCommand({ Marker, MaxItems: 2 }));
      expect(page.DistributionTenantList!.length).toBeLessThanOrEqual(2);
      paged.push(...page.DistributionTenantList!.map((t) => t.Name!));
      Marker = page.NextMarker;
    } while (Marker);
    const all = await cloudfront.send(new ListDistributionTenantsCommand({}));
    expect(paged).toEqual(all.DistributionTenantList?.map((t) => t.Name));
    expect(paged).toEqual(expect.arrayContaining(['blog', 'api-shop']));
  });

  it('the connection group, by id or name, gives the routing endpoint', async () => {
    for (const Identifier of [LOCAL_CONNECTION_GROUP_ID, LOCAL_CONNECTION_GROUP_NAME]) {
      const { ConnectionGroup, ETag } = await cloudfront.send(new GetConnectionGroupCommand({ Identifier }));
      expect(ConnectionGroup).toMatchObject({
        Id: LOCAL_CONNECTION_GROUP_ID,
        Name: LOCAL_CONNECTION_GROUP_NAME,
        RoutingEndpoint: LOCAL_ROUTING_ENDPOINT,
        Enabled: true,
      });
      expect(ETag).toBeTruthy();
    }
    expect(
      await errorOf(cloudfront.send(new GetConnectionGroupCommand({ Identifier: 'cg_other' }))),
    ).toMatchObject({ name: 'EntityNotFound' });
  });

  it('any other CloudFront request goes on to the emulator', async () => {
    const { DistributionList } = await cloudfront.send(new ListDistributionsCommand({}));
    expect(DistributionList).toBeDefined();
  });
});

// ---- IAM: what AWS authorizes for each operation ----

/** Every request the SDK sends, as the endpoint receives it (answered 400). */
let capture: Server;
let captured: WireRequest[] = [];

/** One request sent with a client. */
type Send = (client: CloudFrontClient) => Promise<unknown>;

async function captureRequest(send: Send): Promise<WireRequest> {
  captured = [];
  const address = capture.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const client = new CloudFrontClient(clientConfig(`http://127.0.0.1:${port}`));
  await send(client).catch(() => undefined);
  client.destroy();
  expect(captured).toHaveLength(1);
  return captured[0]!;
}

describe('the local IAM check: what AWS authorizes for each SaaS Manager operation', () => {
  const local = { account: LOCAL_ACCOUNT, region: 'us-east-1' };
  const lookups = {
    roleBoundary: () => Promise.resolve(undefined),
    runtimeRole: () => Promise.resolve(undefined),
    saasResourceId: (reference: Parameters<LocalSaasManager['idOf']>[0]) => saasManager.idOf(reference),
  };
  const tenantArn = (id: string) => `arn:aws:cloudfront::${LOCAL_ACCOUNT}:distribution-tenant/${id}`;
  let blogId = '';

  beforeAll(async () => {
    capture = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://local');
        const scope = /Credential=[^/,]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization));
        captured.push({
          service: scope?.[1] ?? '',
          method: req.method ?? '',
          path: url.pathname,
          query: url.searchParams,
          target: '',
          headers: req.headers,
          body: Buffer.concat(chunks),
        });
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end('<ErrorResponse><Error><Code>Captured</Code></Error></ErrorResponse>');
      });
    });
    await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', resolve));
    blogId = (await tenantOf('blog')).DistributionTenant!.Id!;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => capture?.close(() => resolve()));
  });

  const cases = (): [string, Send, Authorization[]][] => [
    [
      'CreateDistributionTenant (no resource-level permissions; its tags are conditions)',
      (c) =>
        c.send(
          new CreateDistributionTenantCommand({
            DistributionId: LOCAL_SITE_DISTRIBUTION_ID,
            Name: 'iam',
            Domains: [{ Domain: 'iam.example' }],
            Tags: { Items: [{ Key: 'tenant', Value: 'iam' }] },
          }),
        ),
      [
        {
          action: 'cloudfront:CreateDistributionTenant',
          resource: '*',
          context: { 'aws:RequestTag/tenant': 'iam', 'aws:TagKeys': ['tenant'] },
        },
      ],
    ],
    [
      'GetDistributionTenant by name: the ARN of its id',
      (c) => c.send(new GetDistributionTenantCommand({ Identifier: 'blog' })),
      [{ action: 'cloudfront:GetDistributionTenant', resource: tenantArn(blogId) }],
    ],
    [
      'GetDistributionTenantByDomain: the ARN of the tenant that has it',
      (c) => c.send(new GetDistributionTenantByDomainCommand({ Domain: 'www.blog.example' })),
      [{ action: 'cloudfront:GetDistributionTenantByDomain', resource: tenantArn(blogId) }],
    ],
    [
      'ListDistributionTenants',
      (c) =>
        c.send(
          new ListDistributionTenantsCommand({
            AssociationFilter: { DistributionId: LOCAL_SITE_DISTRIBUTION_ID },
          }),
        ),
      [{ action: 'cloudfront:ListDistributionTenants', resource: '*' }],
    ],
    [
      'UpdateDistributionTenant',
      (c) => c.send(new UpdateDistributionTenantCommand({ Id: blogId, IfMatch: 'E1', Enabled: false })),
      [{ action: 'cloudfront:UpdateDistributionTenant', resource: tenantArn(blogId) }],
    ],
    [
      'DeleteDistributionTenant',
      (c) => c.send(new DeleteDistributionTenantCommand({ Id: blogId, IfMatch: 'E1' })),
      [{ action: 'cloudfront:DeleteDistributionTenant', resource: tenantArn(blogId) }],
    ],
    [
      'GetManagedCertificateDetails by ARN',
      (c) => c.send(new GetManagedCertificateDetailsCommand({ Identifier: tenantArn(blogId) })),
      [{ action: 'cloudfront:GetManagedCertificateDetails', resource: tenantArn(blogId) }],
    ],
    [
      'VerifyDnsConfiguration (the tenant is in the body)',
      (c) => c.send(new VerifyDnsConfigurationCommand({ Identifier: 'blog', Domain: 'blog.example' })),
      [{ action: 'cloudfront:VerifyDnsConfiguration', resource: tenantArn(blogId) }],
    ],
    [
      'GetConnectionGroup by name',
      (c) => c.send(new GetConnectionGroupCommand({ Identifier: LOCAL_CONNECTION_GROUP_NAME })),
      [
        {
          action: 'cloudfront:GetConnectionGroup',
          resource: `arn:aws:cloudfront::${LOCAL_ACCOUNT}:connection-group/${LOCAL_CONNECTION_GROUP_ID}`,
        },
      ],
    ],
  ];

  it('maps each operation to its action and resources', async () => {
    for (const [name, send, expected] of cases()) {
      const request = await captureRequest(send);
      expect([name, await authorizationsOf(request, local, lookups)]).toEqual([name, expected]);
    }
  });

  it('evaluates every one against iam-data: an allow-all role passes each, an empty role is refused', async () => {
    const everything = {
      name: 'Admin',
      policies: [
        {
          name: 'all',
          document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
        },
      ],
    };
    const iam = new LocalIam([everything, { name: 'Nobody', policies: [] }], local, () => lookups);
    for (const [name, send, expected] of cases()) {
      const request = await captureRequest(send);
      expect([name, await iam.authorize('Admin', request)]).toEqual([name, undefined]);
      expect([name, (await iam.authorize('Nobody', request))?.authorization]).toEqual([name, expected[0]]);
    }
  });

  it('a tenant the request names but nobody has is authorized on the name given', async () => {
    const request = await captureRequest((c) =>
      c.send(new GetDistributionTenantCommand({ Identifier: 'dt_nobody' })),
    );
    expect(await authorizationsOf(request, local, lookups)).toEqual([
      { action: 'cloudfront:GetDistributionTenant', resource: tenantArn('dt_nobody') },
    ]);
  });
});
