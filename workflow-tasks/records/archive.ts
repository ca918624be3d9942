import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { ArchiveKeys } from '../../common/offboarding';
import { getJsonObject } from '../../common/s3-json';
import type { ExportedTenant } from './tenant-export';

/**
 * The archive's records of a tenant's exports, and how a restore finds the very bytes that were verified.
 *
 *     exports/<id>/<stamp>.tenant-export.gz   the export (records/tenant-export.ts)
 *     exports/<id>/<stamp>.manifest.json      its manifest, for people and tools
 *     exports/<id>/<stamp>.verified.json      the verified record, written by "Verify export"
 *     exports/<id>/latest.json                a copy of the tenant's newest verified record
 *
 * The bucket is versioned and locked, so a put-object over any of these keys adds a version and every
 * earlier one stays. A restore trusts only the **first** version of a verified record (the one Verify
 * wrote first; the tenant's identity too comes from it, not from the manifest beside), and reads the export's version it names, whose SHA-256 must match before a row is loaded. A key
 * written again after the verification is reported (ExportReplaced) and ignored.
 */

/** An export written by "Export database": where, which object version, and what it holds. */
export interface TenantExport extends ExportedTenant {
  bucket: string;
  key: string;
  manifestKey: string;
  /** The S3 version the export's upload created: the one verified, and the one a restore reads. */
  versionId: string;
  /** SHA-256 (hex) of the object's bytes as written (the gzip stream). */
  sha256: string;
  /** Its size decoded: a reader stops past it (ExportTooLarge). */
  bytes: number;
  schemaVersion: number;
  /** Rows per table, as the manifest says. */
  rows: Record<string, number>;
}

/** An export proven to hold the database, with the date and until when it is kept. */
export interface VerifiedExport extends TenantExport {
  verifiedAt: string;
  retainUntil: string;
}

/** The export version a restore loads, and the newer version written over its key after it, if any. */
export interface PinnedVersion {
  /** Absent for an export verified before exports were pinned: its newest version is read. */
  versionId?: string;
  replacedBy?: string;
}

/** How many versions of a key a restore hashes looking for the verified one (after a local restart). */
const MOST_VERSIONS_SEARCHED = 20;

/**
 * The verified record of the export at `key`: the first version of `<stamp>.verified.json`. An export
 * verified before those records existed is found through `latest.json` when that names it. Undefined when
 * the export was never verified.
 */
export async function verifiedRecordOf(
  s3: S3Client,
  Bucket: string,
  key: string,
): Promise<Partial<VerifiedExport> | undefined> {
  const recordKey = ArchiveKeys.verified(key);
  const [first] = (await versionsOf(s3, Bucket, recordKey)).slice(-1);
  if (first) {
    const object = await s3.send(new GetObjectCommand({ Bucket, Key: recordKey, VersionId: first }));
    return JSON.parse(await object.Body!.transformToString()) as VerifiedExport;
  }
  const tenantId = key.split('/')[1] ?? '';
  const latest = await getJsonObject<Partial<VerifiedExport>>(s3, Bucket, ArchiveKeys.latest(tenantId));
  return latest?.key === key ? latest : undefined;
}

/**
 * Finds the export's version that was verified and proves it by its SHA-256. Its recorded VersionId is
 * tried first; when that version is gone (the local platform's emulator issues new ids after a restart),
 * the key's other versions are hashed, oldest first. ExportReplaced when none has the verified bytes.
 */
export async function pinnedVersion(
  s3: S3Client,
  Bucket: string,
  record: Partial<VerifiedExport> & { key: string },
): Promise<PinnedVersion> {
  if (!record.versionId || !record.sha256) return {};
  const versions = await versionsOf(s3, Bucket, record.key);
  const candidates = [
    ...versions.filter((v) => v === record.versionId),
    ...versions.filter((v) => v !== record.versionId).reverse(),
  ].slice(0, MOST_VERSIONS_SEARCHED);
  for (const versionId of candidates) {
    if ((await sha256Of(s3, Bucket, record.key, versionId)) !== record.sha256) continue;
    const newest = versions[0];
    return { versionId, ...(newest !== versionId ? { replacedBy: newest } : {}) };
  }
  throw new OnboardingError(
    PermanentErrors.ExportReplaced,
    `export ${record.key}: the version verified at ${record.verifiedAt ?? '?'} (sha256 ${record.sha256.slice(0, 12)}) is gone; none of the key's ${versions.length} version(s) has its bytes`,
  );
}

/** SHA-256 (hex) of one version of an object, streamed. */
export async function sha256Of(
  s3: S3Client,
  Bucket: string,
  Key: string,
  VersionId?: string,
): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket, Key, VersionId }));
  const hash = createHash('sha256');
  for await (const chunk of object.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The version ids of exactly `Key`, newest first (delete markers aside). */
async function versionsOf(s3: S3Client, Bucket: string, Key: string): Promise<string[]> {
  const ids: string[] = [];
  let marker: { KeyMarker?: string; VersionIdMarker?: string } = {};
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: Key, ...marker }));
    for (const v of page.Versions ?? []) if (v.Key === Key && v.VersionId) ids.push(v.VersionId);
    if (!page.IsTruncated) return ids;
    marker = { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker };
  }
}
