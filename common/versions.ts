import { PlatformNames } from './names';

/** `tenant-api/current.json` in the artifact bucket: the version onboarding deploys. */
export interface CurrentTenantApi {
  readonly version: string;
  /** The artifact's key: `tenant-api/<version>.zip`. */
  readonly key: string;
}

/** Where a version's parts sit in its zip (besides `index.js`, the function's code). */
export const ArtifactPaths = {
  migrations: 'migrations/tenant/',
  frontend: 'frontend/',
} as const;

export function tenantApiArtifactKey(version: string): string {
  return `${PlatformNames.tenantApiArtifactPrefix}${version}.zip`;
}

/**
 * A tenant's code version: the first 16 hex digits of the SHA-256 of the deployment package its function
 * version runs, read from Lambda's CodeSha256 (the same digest, base64). Derived from the content, so the
 * same package is the same version wherever it is deployed.
 */
/** A version as the artifact key names it: 16 lower-case hex digits. */
export const VERSION_PATTERN = /^[0-9a-f]{16}$/;

export function codeVersionOf(codeSha256: string): string {
  const hex = Buffer.from(codeSha256, 'base64').toString('hex');
  if (hex.length !== 64) throw new Error(`not a base64 SHA-256: ${JSON.stringify(codeSha256.slice(0, 60))}`);
  return hex.slice(0, 16);
}
