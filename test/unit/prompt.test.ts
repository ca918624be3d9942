import { PassThrough } from 'node:stream';
import { askTenantInput } from '../../cli/prompt';

/** Answers the prompts with `lines` and returns the input built, and everything shown to the user. */
async function answer(lines: string[]): Promise<{ input: Record<string, string>; shown: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let shown = '';
  stdout.on('data', (chunk: Buffer) => (shown += chunk.toString()));
  stdin.end(lines.map((l) => `${l}\n`).join(''));
  const input = await askTenantInput(stdin, stdout);
  return { input, shown };
}

describe('tenantctl onboard, asked field by field', () => {
  it('proposes a tenant id from the company name and takes the defaults on empty answers', async () => {
    const { input, shown } = await answer(['Building Shop Inc.', '', 'Admin@BuildingShop.com', '', '']);
    expect(input).toEqual({
      tenantId: 'building-shop-inc',
      companyName: 'Building Shop Inc.',
      adminEmail: 'Admin@BuildingShop.com',
      tier: 'shared',
    });
    expect(shown).toContain('Tenant id [building-shop-inc]: ');
  });

  it('asks again, saying why, until each answer is valid', async () => {
    const { input, shown } = await answer([
      '',
      'Shop',
      'Bad Id',
      'admin',
      'corner-shop',
      'not-an-email',
      'a@shop.example',
      'gold',
      'dedicated',
      '../etc',
      'shop.example',
    ]);
    expect(input).toEqual({
      tenantId: 'corner-shop',
      companyName: 'Shop',
      adminEmail: 'a@shop.example',
      tier: 'dedicated',
      domain: 'shop.example',
    });
    expect(shown).toContain('  required\n');
    expect(shown).toContain(
      '  must be lower-case letters, digits and single dashes, starting with a letter\n',
    );
    expect(shown).toContain('  is reserved\n');
    expect(shown).toContain('  must be an e-mail address\n');
    expect(shown).toContain('  must be "shared" or "dedicated"\n');
    expect(shown).toContain('  must be a lower-case DNS name such as "example.com"\n');
  });

  it('fails clearly when the input ends before every field is answered', async () => {
    await expect(answer(['Shop'])).rejects.toThrow('input ended before every field was answered');
  });
});
