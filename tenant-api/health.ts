import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Pool } from 'pg';
import { TenantApiEnv } from '../common/names';

export interface Health {
  readonly tenantId: string;
  readonly database: 'ok' | 'unreachable';
  readonly schemaVersion: number | null;
}

interface TenantDbSecret {
  host: string;
  port: number;
  dbname: string;
  username: string;
  password: string;
}

const secrets = new SecretsManagerClient({});
let pool: Promise<Pool> | undefined;

/** One small pool per warm Lambda, built from the tenant's secret on first use. */
function tenantPool(): Promise<Pool> {
  pool ??= (async () => {
    const secretArn = env(TenantApiEnv.dbSecretArn);
    const out = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
    const s = JSON.parse(out.SecretString ?? '{}') as TenantDbSecret;
    const p = new Pool({
      host: s.host,
      port: Number(s.port),
      database: s.dbname,
      user: s.username,
      password: s.password,
      max: 2,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 3_000,
    });
    p.on('error', () => undefined); // an idle connection dropped: the next query reconnects
    return p;
  })().catch((error: unknown) => {
    pool = undefined;
    throw error;
  });
  return pool;
}

/** Whether the tenant's own database answers, and at which schema version. */
export async function healthOf(): Promise<Health> {
  const tenantId = env(TenantApiEnv.tenantId);
  try {
    const p = await tenantPool();
    const { rows } = await p.query<{ version: number | null }>(
      'SELECT max(version) AS version FROM schema_migrations',
    );
    return { tenantId, database: 'ok', schemaVersion: rows[0]?.version ?? null };
  } catch {
    return { tenantId, database: 'unreachable', schemaVersion: null };
  }
}

/** Closes the pool (tests and the local gateway call this; Lambda just freezes). */
export async function closeTenantPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  if (p) await (await p).end();
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}
