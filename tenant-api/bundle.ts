import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';

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
