import { parseTenantInput, proposeTenantId } from '../../common/tenant-input';

const valid = {
  tenantId: 'building-shop',
  companyName: '  Building Shop Inc ',
  adminEmail: 'Admin@BuildingShop.com',
  domain: 'buildingshop.com',
};

const ownExport = 'exports/building-shop/20260101T000000Z.tenant-export.gz';

describe('parseTenantInput', () => {
  it('normalises a valid input: trims the name, lower-cases the e-mail, defaults the tier', () => {
    expect(parseTenantInput(valid)).toEqual({
      ok: true,
      value: {
        tenantId: 'building-shop',
        companyName: 'Building Shop Inc',
        adminEmail: 'admin@buildingshop.com',
        tier: 'shared',
        domain: 'buildingshop.com',
      },
    });
  });

  const rejected: [string, unknown, string][] = [
    ['upper case', { tenantId: 'Building' }, 'tenantId:'],
    ['a quote', { tenantId: "bob's-shop" }, 'tenantId:'],
    ['a semicolon', { tenantId: 'a;drop' }, 'tenantId:'],
    ['a double dash', { tenantId: 'a--b' }, 'tenantId: must not contain "--"'],
    ['too short', { tenantId: 'ab' }, 'tenantId: must be at least 3 characters'],
    ['too long', { tenantId: 'a'.repeat(33) }, 'tenantId: must be at most 32 characters'],
    ['reserved', { tenantId: 'template1' }, 'tenantId: is reserved'],
    ['a pg- prefix', { tenantId: 'pg-shop' }, 'tenantId: must not start with "pg-"'],
    ['a trailing dash', { tenantId: 'shop-' }, 'tenantId:'],
    ['a leading digit', { tenantId: '1shop' }, 'tenantId:'],
    ['a Cyrillic look-alike', { tenantId: 'shоp' }, 'tenantId:'],
    ['a number as tenant id', { tenantId: 42 }, 'tenantId: must be a string'],
    ['a bad e-mail', { adminEmail: 'nobody' }, 'adminEmail: must be an e-mail address'],
    ['an e-mail with a newline', { adminEmail: 'a@b.com\nBcc: x@y.z' }, 'adminEmail:'],
    ['an unknown tier', { tier: 'gold' }, 'tier: must be "shared" or "dedicated"'],
    ['a domain with a path', { domain: 'shop.com/../../etc' }, 'domain:'],
    ['a domain with upper case', { domain: 'Shop.com' }, 'domain:'],
    ['a domain without a dot', { domain: 'localhost' }, 'domain:'],
    ['an empty company name', { companyName: '   ' }, 'companyName: must not be empty'],
    ['a company name with a bidi override', { companyName: 'Shop\u202Egnp.exe' }, 'companyName:'],
    ['an unknown field', { plan: 'gold' }, '"plan": is not a known field'],
    ['fromSnapshot that is not a boolean', { fromSnapshot: 'yes' }, 'fromSnapshot: must be true or false'],
    [
      'fromSnapshot without restoreFrom',
      { tier: 'dedicated', fromSnapshot: true },
      'fromSnapshot: needs restoreFrom',
    ],
    [
      'fromSnapshot on the shared tier',
      { restoreFrom: ownExport, fromSnapshot: true },
      'fromSnapshot: only a restore on the dedicated tier',
    ],
    [
      "fromSnapshot of another tenant's export (its snapshot holds that tenant's data)",
      {
        tier: 'dedicated',
        restoreFrom: 'exports/other-shop/20260101T000000Z.tenant-export.gz',
        fromSnapshot: true,
      },
      'fromSnapshot: restoreFrom is an export of another tenant',
    ],
  ];

  it.each(rejected)('rejects %s, naming the field', (_, override, problem) => {
    const result = parseTenantInput({ ...valid, ...(override as object) });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems.join('; ')).toContain(problem);
  });

  it('accepts fromSnapshot for a restore of the tenant itself on the dedicated tier', () => {
    const result = parseTenantInput({
      ...valid,
      tier: 'dedicated',
      restoreFrom: ownExport,
      fromSnapshot: true,
    });
    expect(result).toMatchObject({ ok: true, value: { fromSnapshot: true, restoreFrom: ownExport } });
  });

  it('names every missing field', () => {
    const result = parseTenantInput({});
    expect(result.ok ? [] : result.problems).toEqual([
      'tenantId: must be a string',
      'companyName: must be a string',
      'adminEmail: must be a string',
    ]);
  });

  it.each([null, [], 'building-shop', 7])('rejects %p as a whole', (raw) => {
    expect(parseTenantInput(raw)).toEqual({ ok: false, problems: ['input: must be a JSON object'] });
  });
});

describe('proposeTenantId', () => {
  it.each([
    ['Building Shop Inc.', 'building-shop-inc'],
    ['Café Crème', 'cafe-creme'],
    ['42 Hardware & Co', 'hardware-co'],
  ])('derives a valid id from %p', (name, id) => {
    expect(proposeTenantId(name)).toBe(id);
    expect(parseTenantInput({ ...valid, tenantId: id }).ok).toBe(true);
  });
});
