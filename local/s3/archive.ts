/**
 * Stands in for **S3's durability** of the archive bucket: the emulator keeps objects in memory, so
 * every object version written to the archive bucket through the endpoint is also kept on disk and put back
 * on start, oldest first, so each key's versions come back in the order they were written.
 *
 * Where the real thing differs: Object Lock and lifecycle rules are the emulator's (recorded, not enforced);
 * versions put back get new version ids (a restore finds the verified one by its SHA-256).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, readdir, rename, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LocalPlatformNames } from '../../common/names';

/** Where the archive bucket's objects are kept on disk, under the state directory. */
const ARCHIVE_DIR = 'archive';
/** `<key>` is an object's newest version, `<key>.~<n>~` the n-th before it was written over. */
const EARLIER_VERSION = /\.~(\d+)~$/;

/**
 * The archive bucket, durable: the emulator keeps its objects in memory only, and an export is often the
 * only copy of an offboarded tenant's data. Every object written to the bucket through the platform's AWS
 * endpoint is copied to `<stateDir>/archive/<key>` before the write is acknowledged, and a new start puts
 * them back in the bucket, as S3 keeps them.
 */
export class LocalArchive {
  private readonly dir: string;

  constructor(
    stateDir: string,
    /** The emulator itself (not the platform's endpoint: reading from it is not a write to keep). */
    private readonly emulator: string,
  ) {
    this.dir = join(stateDir, ARCHIVE_DIR);
  }

  /** The key of the archive object a request writes (PutObject, CompleteMultipartUpload), if it is one. */
  static writtenKey(method: string | undefined, url: URL): string | undefined {
    const prefix = `/${LocalPlatformNames.archiveBucket}/`;
    if (!url.pathname.startsWith(prefix)) return undefined;
    const completes = method === 'POST' && url.searchParams.has('uploadId');
    // PutObject (the SDK adds `?x-id=PutObject`), not a part or a subresource (`?retention`, `?tagging`).
    const puts =
      method === 'PUT' &&
      [...url.searchParams.keys()].every((name) => name === 'x-id') &&
      (url.searchParams.get('x-id') ?? 'PutObject') === 'PutObject';
    const key = decodeURIComponent(url.pathname.slice(prefix.length));
    return (completes || puts) && key !== '' ? key : undefined;
  }

  /** Writes to one key, in the order they were acknowledged (each renames the files the next one reads). */
  private readonly keeping = new Map<string, Promise<void>>();

  /**
   * Copies the version a write made (`versionId`, else the newest) from the emulator to disk (written
   * aside, then renamed: never half a file); the version it writes over is kept as the key's next earlier
   * version. Writes to one key are kept one after another.
   */
  keep(key: string, versionId?: string): Promise<void> {
    const kept = (this.keeping.get(key) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.keepNow(key, versionId));
    this.keeping.set(key, kept);
    void kept
      .finally(() => {
        if (this.keeping.get(key) === kept) this.keeping.delete(key);
      })
      .catch(() => undefined);
    return kept;
  }

  private async keepNow(key: string, versionId: string | undefined): Promise<void> {
    const file = this.fileOf(key);
    await mkdir(dirname(file), { recursive: true });
    const s3 = this.client();
    try {
      const object = await s3.send(
        new GetObjectCommand({ Bucket: LocalPlatformNames.archiveBucket, Key: key, VersionId: versionId }),
      );
      await pipeline(object.Body as Readable, createWriteStream(`${file}.part`, { mode: 0o600 }));
      if (await exists(file)) {
        let n = 1;
        while (await exists(`${file}.~${n}~`)) n += 1;
        await rename(file, `${file}.~${n}~`);
      }
      await rename(`${file}.part`, file);
    } finally {
      s3.destroy();
    }
  }

  /** Puts every kept version back in the bucket, each key's oldest first (a new emulator starts empty). */
  async restore(): Promise<void> {
    const s3 = this.client();
    try {
      const files = (await filesUnder(this.dir)).filter((file) => !file.endsWith('.part'));
      for (const file of files.sort((a, b) => writtenOrder(a) - writtenOrder(b))) {
        const key = relative(this.dir, file.replace(EARLIER_VERSION, '')).split(sep).join('/');
        await s3.send(
          new PutObjectCommand({
            Bucket: LocalPlatformNames.archiveBucket,
            Key: key,
            Body: createReadStream(file),
            ContentLength: (await stat(file)).size,
          }),
        );
      }
    } finally {
      s3.destroy();
    }
  }

  private fileOf(key: string): string {
    const file = join(this.dir, ...key.split('/'));
    if (!file.startsWith(this.dir + sep) || EARLIER_VERSION.test(key) || key.endsWith('.part'))
      throw new Error(`archive key ${key.slice(0, 200)} leaves the archive or names a file it keeps`);
    return file;
  }

  private client(): S3Client {
    return new S3Client({
      endpoint: this.emulator,
      region: LocalPlatformNames.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }
}

/** Earlier versions first (`.~1~` before `.~2~`), every key's newest version last. */
function writtenOrder(file: string): number {
  const n = EARLIER_VERSION.exec(file)?.[1];
  return n === undefined ? Number.MAX_SAFE_INTEGER : Number(n);
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
