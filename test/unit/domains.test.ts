import * as fc from 'fast-check';
import { displayDomain, domainProblems } from '../../common/domains';
import { parseTenantInput } from '../../common/tenant-input';

const input = (domain: string) =>
  parseTenantInput({
    tenantId: 'corner-shop',
    companyName: 'Corner',
    adminEmail: 'a@corner.example',
    domain,
  });

describe("a customer's domain", () => {
  it.each([
    'buildingshop.com',
    'shop.building-shop.co.uk',
    'xn--mnchen-3ya.de', // münchen.de
    'xn--eckwd4c7c.xn--zckzah', // ドメイン名例.テスト: Katakana, with Han
    'xn--fsqu00a.xn--3lr804guic', // 例子.公司
  ])('accepts %s', (domain) => {
    expect(domainProblems(domain)).toEqual([]);
    expect(input(domain).ok).toBe(true);
  });

  it.each([
    ['localhost', /must not be localhost or under it/],
    ['other-tenant.localhost', /must not be localhost or under it/],
    ['api.other-tenant.localhost', /must not be localhost or under it/],
    // "аpple.com" with a Cyrillic а: a look-alike of apple.com.
    ['xn--pple-43d.com', /has a label xn--pple-43d \(аpple\) that mixes scripts \(Cyrillic, Latin\)/],
    ['xn--a.com', /has a label xn--a that is not valid punycode/],
    ['xn--ls8h.com', /with symbols a domain may not have/],
  ])('refuses %s', (domain, says) => {
    expect(domainProblems(domain).join('; ')).toMatch(says);
    const parsed = input(domain);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? [] : parsed.problems).toEqual([expect.stringMatching(/^domain: /)]);
  });

  it.each([
    ['*.shop.example', 'a wildcard'],
    ['192.168.1.10', 'an IP address'],
    [`${'a'.repeat(64)}.example`, 'a label over 63 characters'],
    [`${'a.'.repeat(127)}example`, 'a name over 253 characters'],
    ['Shop.Example', 'upper case (stored as entered: lower-case)'],
  ])('refuses %s (%s), naming the field', (domain) => {
    const parsed = input(domain);
    expect(parsed.ok).toBe(false);
    const problems = parsed.ok ? [] : parsed.problems;
    expect(problems.length).toBeGreaterThan(0);
    for (const problem of problems) expect(problem).toMatch(/^domain: /);
  });

  it('is shown decoded', () => {
    expect(displayDomain('xn--mnchen-3ya.de')).toBe('münchen.de');
    expect(displayDomain('shop.example')).toBe('shop.example');
  });

  it('never mixes Latin with Cyrillic or Greek in a label (fast-check)', () => {
    const latin = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz');
    const other = fc.constantFrom(...'абвгдеёжзийклмнопрстуфхцчшщъыьэюяαβγδεζηθικλμνξοπρστυφχψω');
    fc.assert(
      fc.property(
        fc.array(latin, { minLength: 1, maxLength: 10 }),
        other,
        fc.nat(),
        (letters, intruder, at) => {
          const label = [...letters];
          label.splice(at % (label.length + 1), 0, intruder);
          const ascii = new URL(`http://${label.join('')}.com`).hostname;
          expect(domainProblems(ascii).join('; ')).toMatch(/mixes scripts/);
        },
      ),
    );
  });
});
