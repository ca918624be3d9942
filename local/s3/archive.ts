/**
 * Stands in for **S3's durability** of the archive bucket: the emulator keeps objects in memory, so
 * every object written to the archive bucket through the endpoint is also kept on disk and put back on start.
 *
 * Where the real thing differs: Object Lock and lifecycle rules are the emulator's (recorded, not enforced).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LocalPlatformNames } from '../../common/names';

/** Where the archive bucket's objects are kept on disk, under the state directory. */
const ARCHIVE_DIR = 'archive';

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

  /** Copies the object from the emulator to disk (written aside, then renamed: never half a file). */
  async keep(key: string): Promise<void> {
    const file = this.fileOf(key);
    await mkdir(dirname(file), { recursive: true });
    const s3 = this.client();
    try {
      const object = await s3.send(
        new GetObjectCommand({ Bucket: LocalPlatformNames.archiveBucket, Key: key }),
      );
      await pipeline(object.Body as Readable, createWriteStream(`${file}.part`, { mode: 0o600 }));
      await rename(`${file}.part`, file);
    } finally {
      s3.destroy();
    }
  }

  /** Puts every kept object back in the bucket (a new emulator starts empty). */
  async restore(): Promise<void> {
    const s3 = this.client();
    try {
      for (const file of await filesUnder(this.dir)) {
        if (file.endsWith('.part')) continue;
        await s3.send(
          new PutObjectCommand({
            Bucket: LocalPlatformNames.archiveBucket,
            Key: relative(this.dir, file).split(sep).join('/'),
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
    if (!file.startsWith(this.dir + sep))
      throw new Error(`archive key ${key.slice(0, 200)} leaves the archive`);
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

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
