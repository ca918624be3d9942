import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build, stop } from 'esbuild';
import { tenantApiArtifact, tenantApiBuildOptions } from '../tenant-api/bundle';

const REPO_ROOT = join(__dirname, '..');
export const FRONTEND_DIR = join(REPO_ROOT, 'frontend');

let tenantApiZip: ReturnType<typeof buildTenantApiArtifact> | undefined;

/** The tenant API version the local platform deploys: its `index.js` bundle and migrations, zipped. */
export function buildTenantApiArtifact(): Promise<ReturnType<typeof tenantApiArtifact>> {
  tenantApiZip ??= build({ ...tenantApiBuildOptions('local'), write: false })
    // esbuild keeps a service process for later builds; there are none, and a child left behind when this
    // process exits becomes a zombie on hosts whose init does not reap.
    .finally(() => stop())
    .then((result) => {
      const file = result.outputFiles[0];
      if (!file) throw new Error('esbuild produced no tenant API bundle');
      return tenantApiArtifact(file.contents);
    });
  return tenantApiZip;
}

/** The frontend bundle's files, relative path -> bytes. */
export function frontendFiles(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.set(relative(FRONTEND_DIR, full).split('\\').join('/'), readFileSync(full));
    }
  };
  walk(FRONTEND_DIR);
  return files;
}

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
};

export function contentType(path: string): string {
  return CONTENT_TYPES[path.split('.').pop() ?? ''] ?? 'application/octet-stream';
}
