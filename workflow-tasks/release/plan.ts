import { OnboardingError, PermanentErrors } from '../../common/errors';
import { parseReleaseInput } from '../../common/release';
import { readTenantApiVersion } from '../lib/artifact';
import { planRelease } from '../records/release-ledger';
import type { ReleaseState } from './types';

/**
 * Checks the input and that the version is in the artifact bucket, records the release in the ledger and
 * plans its waves cell by cell: each cell's canary, then the rest of it (see planRelease). The result
 * replaces the input.
 */
export async function plan(event: { executionArn: string; state: unknown }): Promise<ReleaseState> {
  const parsed = parseReleaseInput(event.state);
  if (!parsed.ok) throw new OnboardingError(PermanentErrors.InvalidInput, parsed.problems.join('; '));
  const input = parsed.value;
  const version = await readTenantApiVersion(input.version);
  const id = event.executionArn;
  const name = id.split(':').pop() ?? id;
  const planned = await planRelease(id, name, input);
  return {
    release: { ...input, id, name, key: version.key, schemaVersion: version.migrations.length },
    waves: planned.map((w) => w.tenants),
    cells: planned.map(({ cell, canary }) => ({ cell, canary })),
    wave: 0,
  };
}
