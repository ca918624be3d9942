import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { TaskEnv } from '../../common/names';
import type { LocalPlatform } from '../../local/platform';
import { aws } from '../../workflow-tasks/lib/aws';
import { readCredentialsSecret, readJsonSecret, withMasterClient } from '../../workflow-tasks/lib/db';
import { adminClient, startTestPlatform } from '../fixtures/platform';

let platform: LocalPlatform;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform());
});

afterAll(async () => {
  await cleanup();
});

describe('the master password', () => {
  it('is read again when PostgreSQL refuses it, as after RDS rotated the secret', async () => {
    const secretArn = process.env[TaskEnv.masterSecretArn]!;
    const original = await readJsonSecret<Record<string, unknown>>(secretArn);
    const { user, password } = await readCredentialsSecret(secretArn);
    // Credentials are cached by the first use (a pool for the platform database).
    await withMasterClient('platform', (client) => client.query('SELECT 1'));

    const rotated = `${password}-rotated`;
    const admin = await adminClient(platform);
    const setPassword = async (value: string) => {
      await admin.query(`ALTER ROLE ${escapeIdentifier(user)} PASSWORD ${escapeLiteral(value)}`);
      await aws().secrets.send(
        new PutSecretValueCommand({
          SecretId: secretArn,
          SecretString: JSON.stringify({ ...original, password: value }),
        }),
      );
    };
    try {
      await setPassword(rotated);
      // A new pool (another database) starts with the cached, now stale, password: refused, re-read, connected.
      const { rows } = await withMasterClient('postgres', (client) =>
        client.query<{ who: string }>('SELECT current_user AS who'),
      );
      expect(rows).toEqual([{ who: user }]);
    } finally {
      await setPassword(password);
      await admin.end();
    }
  });
});
