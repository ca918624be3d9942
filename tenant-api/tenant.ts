import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Pool, type PoolClient } from 'pg';
import { getJsonSecret } from '../common/secrets';
import type { TenantSecret } from '../common/tenant-secret';
import { Problem } from './http';

export interface TenantConfig {
  readonly tenantId: string;
  /** ARN (or name) of the tenant's secret. */
  readonly secretArn: string;
  /** The tenant is suspended: every route but `GET /health` answers 503 `tenant-suspended`. */
  readonly suspended?: boolean;
}

/** The server ended the connection (terminated by an administrator, or it went away). */
function connectionLost(error: unknown): boolean {
  const { code, message = '' } = error as { code?: string; message?: string };
  return code === '57P01' || /Connection terminated/i.test(message);
}

const BEGIN = /^\s*BEGIN\b/i;
const COMMIT = /^\s*COMMIT\b/i;
const ROLLBACK = /^\s*ROLLBACK\b/i;
const READ = /^\s*SELECT\b/i;

function statementText(statement: unknown): string {
  if (typeof statement === 'string') return statement;
  const text = (statement as { text?: unknown } | undefined)?.text;
  return typeof text === 'string' ? text : '';
}

/** SQLSTATEs meaning "the credentials or the database changed": forget the secret and the pool. */
const STALE_CREDENTIALS = new Set(['28P01', '28000', '3D000']);
/** SQLSTATEs meaning "the server cannot serve now" (shutting down, starting, too many connections). */
const UNAVAILABLE = new Set([...STALE_CREDENTIALS, '57P01', '57P03', '53300']);

/**
 * What one warm Lambda (or one local worker) keeps for its tenant: the secret, read once, and one small
 * `pg` pool created on first use. A failed login to the database forgets both, so a rotated secret (or a
 * moved database) is picked up by the same request.
 */
export class Tenant {
  private secretValue: Promise<TenantSecret> | undefined;
  private pool: Promise<Pool> | undefined;
  private readonly secrets = new SecretsManagerClient({});

  constructor(readonly config: TenantConfig) {}

  get id(): string {
    return this.config.tenantId;
  }

  secret(): Promise<TenantSecret> {
    this.secretValue ??= getJsonSecret<TenantSecret>(this.secrets, this.config.secretArn).catch(
      (error: unknown) => {
        this.secretValue = undefined;
        throw error;
      },
    );
    return this.secretValue;
  }

  /**
   * Runs `work` on a pooled connection. A login refused with the secret as read is tried once more with the
   * secret read again: the database may have moved (workflow-tasks/move) or the password been rotated.
   * `work` reads (its first statement a SELECT); every write goes through `transaction`.
   */
  async withClient<T>(work: (client: PoolClient) => Promise<T>, retried = false): Promise<T> {
    let client: PoolClient;
    try {
      client = await (await this.connectPool()).connect();
    } catch (error) {
      const stale = this.unavailable(error);
      if (!STALE_CREDENTIALS.has((error as { code?: string }).code ?? '')) throw stale;
      try {
        client = await (await this.connectPool()).connect();
      } catch (again) {
        throw this.unavailable(again);
      }
    }
    // A connection lost under the work (one the server ended while this environment was idle or frozen, a
    // move stopping the tenant's sessions) runs the work again on a new one, when nothing of it can have
    // been committed: it only read, or its writes were in a transaction whose COMMIT was never sent (the
    // server rolls that back). A write sent alone, or a COMMIT, may have committed before the connection
    // went: the work is never run twice then.
    let mayHaveCommitted = false;
    let inTransaction = false;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be put back, and called with apply
    const query = client.query;
    client.query = ((...args: Parameters<PoolClient['query']>) => {
      const text = statementText(args[0]);
      if (BEGIN.test(text)) inTransaction = true;
      else if (COMMIT.test(text)) [mayHaveCommitted, inTransaction] = [true, false];
      else if (ROLLBACK.test(text)) inTransaction = false;
      else if (!inTransaction && !READ.test(text)) mayHaveCommitted = true;
      return (query as (...a: unknown[]) => unknown).apply(client, args);
    }) as PoolClient['query'];
    // The connection ending under the work is emitted on the client (unheard, it would end the process):
    // heard here, it fails the statement running then, or the next one ("not queryable").
    let ended = false;
    const onEnd = () => (ended = true);
    client.on('error', onEnd);
    let lost = false;
    try {
      return await work(client);
    } catch (error) {
      // A problem the work answered stands, whatever happened to the connection after.
      lost = !(error instanceof Problem) && (ended || connectionLost(error));
      if (lost && !retried && !mayHaveCommitted) return await this.withClient(work, true);
      if (lost || UNAVAILABLE.has((error as { code?: string }).code ?? '')) throw this.unavailable(error);
      throw error;
    } finally {
      client.query = query;
      client.off('error', onEnd);
      client.release(lost);
    }
  }

  /** Runs `work` in a transaction: committed when it returns, rolled back when it throws. */
  transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    this.secrets.destroy();
    if (pool) await (await pool.catch(() => undefined))?.end();
  }

  private connectPool(): Promise<Pool> {
    this.pool ??= this.secret().then((s) => {
      const pool = new Pool({
        host: s.host,
        port: Number(s.port),
        database: s.dbname,
        user: s.username,
        password: s.password,
        // One request at a time per Lambda environment: two connections cover a transaction plus a retry.
        max: 2,
        idleTimeoutMillis: 60_000,
        connectionTimeoutMillis: 3_000,
      });
      pool.on('error', () => undefined); // an idle connection dropped: the next query reconnects
      return pool;
    });
    this.pool.catch(() => (this.pool = undefined));
    return this.pool;
  }

  /** A 503 (the cause is kept for the log, never sent); stale credentials are forgotten first. */
  private unavailable(cause: unknown): Problem {
    if (STALE_CREDENTIALS.has((cause as { code?: string }).code ?? '')) {
      const pool = this.pool;
      this.pool = undefined;
      this.secretValue = undefined;
      void pool?.then((p) => p.end()).catch(() => undefined);
    }
    return Object.assign(new Problem(503, 'database-unavailable', 'The database cannot be reached'), {
      cause,
    });
  }
}
