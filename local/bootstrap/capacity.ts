/**
 * The limits the local platform places tenants within (common/capacity.ts), as `cdk deploy` would have
 * set them from the context `quotas`: given with `tenantctl up --quotas FILE`, kept in the state directory
 * so a restart (and `tenantctl cells`) finds them, the defaults until then.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_CAPACITY, parseCapacitySettings, type CapacitySettings } from '../../common/capacity';

const FILE = 'quotas.json';

/** The limits kept in `stateDir`, or the defaults. */
export async function keptCapacity(stateDir: string): Promise<CapacitySettings> {
  const path = join(stateDir, FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return DEFAULT_CAPACITY;
    throw error;
  }
  return parseCapacitySettings(text, path);
}

/** `given` kept in `stateDir` (written whole, then renamed over the old one), or the kept ones. */
export async function capacityFor(
  stateDir: string,
  given: CapacitySettings | undefined,
): Promise<CapacitySettings> {
  if (!given) return keptCapacity(stateDir);
  const path = join(stateDir, FILE);
  await writeFile(`${path}.tmp`, `${JSON.stringify(given, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
  return given;
}
