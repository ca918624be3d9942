/**
 * `npm run size`: the size of every Lambda bundle, built as the CDK construct builds them (esbuild, minified,
 * node22, the SDK left to the Lambda runtime). Small bundles are cold-start time. Prints a table, then JSON.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build, stop, type BuildOptions } from 'esbuild';
import { tenantApiBuildOptions } from '../tenant-api/bundle';

const ROOT = join(__dirname, '..');

async function main(): Promise<void> {
  const taskDirs = readdirSync(join(ROOT, 'workflow-tasks')).filter(
    (dir) => dir !== 'lib' && existsSync(join(ROOT, 'workflow-tasks', dir, 'handler.ts')),
  );
  const builds: { name: string; options: BuildOptions }[] = taskDirs.map((dir) => ({
    name: `workflow-tasks/${dir}`,
    // As infra/tenant-onboarding.ts bundles the task Lambdas.
    options: {
      entryPoints: [join(ROOT, 'workflow-tasks', dir, 'handler.ts')],
      bundle: true,
      minify: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      external: ['@aws-sdk/*', 'pg-native'],
      logLevel: 'silent',
    },
  }));
  builds.push({ name: 'tenant-api', options: tenantApiBuildOptions('aws') });

  const sizes: Record<string, number> = {};
  for (const { name, options } of builds) {
    const result = await build({ ...options, write: false });
    sizes[name] = result.outputFiles.reduce((sum, file) => sum + file.contents.byteLength, 0);
  }
  await stop();
  for (const [name, bytes] of Object.entries(sizes)) {
    process.stdout.write(`${name.padEnd(40)} ${(bytes / 1024).toFixed(1).padStart(8)} KiB\n`);
  }
  process.stdout.write(`${JSON.stringify({ bundleBytes: sizes }, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`size failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
