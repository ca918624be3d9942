import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type * as z from 'zod/mini';
import { proposeTenantId, tenantInputSchema } from '../common/tenant-input';

/**
 * Asks for the onboarding fields one by one, as the old add-customer script did: each answer is checked
 * as it is typed (with the same schema as "Validate input") and asked again until it is valid. The tenant
 * id proposed is derived from the company name.
 */
export async function askTenantInput(input: Readable, output: Writable): Promise<Record<string, string>> {
  const rl = createInterface({ input, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  const fields = tenantInputSchema.shape;
  const ask = async (
    label: string,
    schema: z.ZodMiniType,
    fallback?: string,
  ): Promise<string | undefined> => {
    for (;;) {
      output.write(fallback !== undefined ? `${label} [${fallback}]: ` : `${label}: `);
      const next = await lines.next();
      if (next.done) throw new Error('input ended before every field was answered');
      const answer = next.value.trim() === '' ? fallback : next.value.trim();
      if (answer === '' || answer === undefined) {
        if (schema.safeParse(undefined).success) return undefined;
        output.write('  required\n');
        continue;
      }
      const parsed = schema.safeParse(answer);
      if (parsed.success) return answer;
      output.write(`  ${parsed.error.issues[0]?.message ?? 'invalid'}\n`);
    }
  };
  try {
    const companyName = (await ask('Company name', fields.companyName)) ?? '';
    const tenantId = (await ask('Tenant id', fields.tenantId, proposeTenantId(companyName))) ?? '';
    const adminEmail = (await ask('Admin e-mail', fields.adminEmail)) ?? '';
    const tier = (await ask('Tier (shared or dedicated)', fields.tier, 'shared')) ?? 'shared';
    const domain = await ask('Domain (empty for none)', fields.domain, '');
    return { tenantId, companyName, adminEmail, tier, ...(domain ? { domain } : {}) };
  } finally {
    rl.close();
  }
}
