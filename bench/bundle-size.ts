/**
 * `npm run size`: the size of every Lambda bundle, built as the CDK construct builds them (esbuild, minified,
 * node22, the SDK left to the Lambda runtime). Small bundles are cold-start time. Prints a table, then JSON.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build, stop } from 'esbuild';

const ROOT = join(__dirname, '..');

async function main(): Promise<void> {
  const entries = readdirSync(join(ROOT, 'workflow-tasks'))
    .filter((dir) => dir !== 'lib' && existsSync(join(ROOT, 'workflow-tasks', dir, 'handler.ts')))
    .map((dir) => ({
      name: `workflow-tasks/${dir}`,
      entry: join(ROOT, 'workflow-tasks', dir, 'handler.ts'),
    }));
  entries.push({ name: 'tenant-api', entry: join(ROOT, 'tenant-api', 'handler.ts') });

  const sizes: Record<string, number> = {};
  for (const { name, entry } of entries) {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      minify: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      external: ['@aws-sdk/*', 'pg-native'],
      write: false,
      logLevel: 'silent',
    });
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
