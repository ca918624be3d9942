import { resolve } from 'node:path';
import { Client } from 'pg';
import { PlatformNames } from '../common/names';
import { readEndpoints } from './target';

/**
 * Reads the registry (tenants, releases) from the platform database (the local platform's, or
 * `--database-url`); nothing registered yet is an empty list.
 */
export async function readRegistry<T>(
  options: { stateDir: string; databaseUrl?: string },
  query: (client: Client) => Promise<T[]>,
): Promise<T[]> {
  const url =
    options.databaseUrl ??
    withDatabase((await readEndpoints(resolve(options.stateDir))).postgres, PlatformNames.platformDatabase);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await query(client);
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return []; // nothing registered yet
    throw error;
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
