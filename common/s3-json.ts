import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** An S3 object holding JSON, read with the caller's client; undefined when there is no such key. */
export async function getJsonObject<T>(s3: S3Client, Bucket: string, Key: string): Promise<T | undefined> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket, Key }));
    return JSON.parse((await object.Body?.transformToString()) ?? '') as T;
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}
