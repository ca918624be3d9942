import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { zipSync, type Zippable } from 'fflate';
import { ArtifactPaths, tenantApiArtifactKey, type CurrentTenantApi } from '../common/versions';

const TENANT_MIGRATIONS = join(__dirname, '..', 'migrations', 'tenant');
const FRONTEND = join(__dirname, '..', 'frontend');
/** Fixed, so the same code and migrations always make the same zip (and the same version). */
const MTIME = new Date('2020-01-01T00:00:00Z');

/**
 * How the tenant API becomes one `index.js`: by esbuild, minified. On AWS the Lambda runtime provides SDK
 * v3, so it stays out of the bundle; a local worker has no SDK of its own, so there everything is bundled.
 */
export function tenantApiBuildOptions(target: 'aws' | 'local'): BuildOptions {
  return {
    entryPoints: [join(__dirname, 'handler.ts')],
    bundle: true,
    platform: 'node',
    target: target === 'aws' ? 'node22' : 'node20',
    format: 'cjs',
    minify: true,
    external: target === 'aws' ? ['@aws-sdk/*', 'pg-native'] : ['pg-native'],
    logLevel: 'silent',
  };
}

/**
 * One version of the tenant API: a zip holding the bundle (`index.js`, the Lambda package), the tenant
 * migrations it expects (`migrations/tenant/*.sql`) and the frontend that goes with it (`frontend/...`).
 * Its version is the first 16 hex digits of the zip's SHA-256, so new code, a new migration or a new page
 * alone is a new version, and Lambda's CodeSha256 of a function deployed from it names the same version
 * (common/versions.ts).
 */
export function tenantApiArtifact(indexJs: Uint8Array): CurrentTenantApi & { zip: Uint8Array } {
  const files: Zippable = { 'index.js': [indexJs, { mtime: MTIME }] };
  for (const name of readdirSync(TENANT_MIGRATIONS)
    .filter((f) => f.endsWith('.sql'))
    .sort())
    files[`${ArtifactPaths.migrations}${name}`] = [
      readFileSync(join(TENANT_MIGRATIONS, name)),
      { mtime: MTIME },
    ];
  for (const path of filesUnder(FRONTEND))
    files[`${ArtifactPaths.frontend}${path}`] = [readFileSync(join(FRONTEND, path)), { mtime: MTIME }];
  const zip = zipSync(files);
  const version = createHash('sha256').update(zip).digest('hex').slice(0, 16);
  return { version, key: tenantApiArtifactKey(version), zip };
}

/** Every file under `dir`, as sorted `/`-separated relative paths. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}
