/**
 * Stands in for **Secrets Manager's durability** of the tenants' secrets: the emulator keeps secrets in
 * memory, so every tenant secret (`tenants/<id>`) written through the platform's endpoint is also kept on
 * disk, and a new start puts them back before the tenants are. A restart then changes no tenant's
 * credentials: the admin's initial password `tenantctl admin-credentials` printed still signs in, and a
 * restored tenant's users keep theirs.
 *
 * Where the real thing differs: the values are kept as files (mode 0600) in the state directory, not
 * encrypted with KMS; a put-back secret gets a new ARN suffix; versions and rotation are not kept.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { LocalPlatformNames } from '../../common/names';
import { LOCAL_ACCOUNT } from '../account';
import { inEmulatorAccount } from '../emulator/emulator';

/** Where the tenant secrets are kept, under the state directory. */
const SECRETS_DIR = 'secrets';
/** Only the tenants' own secrets: the platform's are made again by the bootstrap. */
const KEPT_PREFIX = 'tenants/';
/** The calls that change a secret's value or delete it. */
const WRITES = ['CreateSecret', 'PutSecretValue', 'UpdateSecret', 'DeleteSecret'];

/** The fields of a write's request the kept copy takes. */
interface SecretWrite {
  Name?: unknown;
  SecretId?: unknown;
  SecretString?: unknown;
  SecretBinary?: unknown;
  VersionStages?: unknown[];
  Description?: unknown;
  Tags?: { Key?: string; Value?: string }[];
}

/** A write of a tenant secret, as LocalSecrets.written reads it from the request. */
export interface WrittenSecret {
  readonly name: string;
  /** The account it is written in (a cell's, or the platform's). */
  readonly account: string;
  readonly operation: string;
  readonly deleted: boolean;
  readonly body: SecretWrite;
}

interface KeptSecret {
  /** Absent in a secret kept before cells had accounts: the platform's. */
  Account?: string;
  Name: string;
  SecretString: string;
  Description?: string;
  Tags?: { Key?: string; Value?: string }[];
}

export class LocalSecrets {
  private readonly dir: string;

  constructor(
    stateDir: string,
    /** The emulator itself (reading from it is not a write to keep). */
    private readonly emulator: string,
  ) {
    this.dir = join(stateDir, SECRETS_DIR);
  }

  /**
   * The tenant secret a Secrets Manager call writes or deletes, if it is one (`raw`: its JSON body), with
   * what the call sets.
   */
  static written(target: string, raw: Buffer, account: string): WrittenSecret | undefined {
    const [service, operation = ''] = target.split('.');
    if (service !== 'secretsmanager' || !WRITES.includes(operation)) return undefined;
    let body: SecretWrite;
    try {
      body = JSON.parse(raw.toString('utf8')) as SecretWrite;
    } catch {
      return undefined; // the emulator answers a malformed request
    }
    const id = typeof body.Name === 'string' ? body.Name : body.SecretId;
    if (typeof id !== 'string') return undefined;
    // An ARN names the secret with a 6-character suffix: arn:...:secret:<name>-AbCdEf
    const name = /:secret:(.+)-[A-Za-z0-9]{6}$/.exec(id)?.[1] ?? id;
    if (!name.startsWith(KEPT_PREFIX)) return undefined;
    return { name, account, operation, deleted: operation === 'DeleteSecret', body };
  }

  /**
   * Keeps the secret's value and tags on disk (aside, then renamed) once the emulator has taken `written`:
   * what a CreateSecret or PutSecretValue of a current string value sets is in its request (the other fields
   * as kept before), so only another write (UpdateSecret, a binary value, a value staged as other than
   * AWSCURRENT) is read back from the emulator.
   */
  async keep(written: WrittenSecret): Promise<void> {
    const kept = (await this.fromRequest(written)) ?? (await this.readBack(written.name, written.account));
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.fileOf(written.name);
    await writeFile(`${file}.part`, JSON.stringify(kept), { mode: 0o600 });
    await rename(`${file}.part`, file);
  }

  private async fromRequest({
    name,
    account,
    operation,
    body,
  }: WrittenSecret): Promise<KeptSecret | undefined> {
    // Only a current string value: a binary one, or one staged as other than AWSCURRENT, is read back.
    if (typeof body.SecretString !== 'string' || body.SecretBinary !== undefined) return undefined;
    if (Array.isArray(body.VersionStages) && !body.VersionStages.includes('AWSCURRENT')) return undefined;
    if (operation === 'CreateSecret')
      return {
        Account: account,
        Name: name,
        SecretString: body.SecretString,
        ...(typeof body.Description === 'string' ? { Description: body.Description } : {}),
        Tags: Array.isArray(body.Tags) ? body.Tags : [],
      };
    if (operation !== 'PutSecretValue') return undefined;
    const before = await readFile(this.fileOf(name), 'utf8').catch(() => undefined);
    return before ? { ...(JSON.parse(before) as KeptSecret), SecretString: body.SecretString } : undefined;
  }

  private async readBack(name: string, account: string): Promise<KeptSecret> {
    const client = this.client(account);
    try {
      const value = await client.send(new GetSecretValueCommand({ SecretId: name }));
      const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
      return {
        Account: account,
        Name: name,
        SecretString: value.SecretString ?? '',
        ...(described.Description ? { Description: described.Description } : {}),
        Tags: described.Tags ?? [],
      };
    } finally {
      client.destroy();
    }
  }

  async forget(name: string): Promise<void> {
    await rm(this.fileOf(name), { force: true });
  }

  /** Puts every kept secret back in the emulator (a new one starts empty). */
  async restore(): Promise<void> {
    const files = await readdir(this.dir).catch(() => [] as string[]);
    for (const file of files.filter((f) => f.endsWith('.json'))) {
      const { Account = LOCAL_ACCOUNT, ...kept } = JSON.parse(
        await readFile(join(this.dir, file), 'utf8'),
      ) as KeptSecret;
      const client = this.client(Account);
      try {
        await client.send(new CreateSecretCommand(kept)).catch((error: Error) => {
          if (error.name !== 'ResourceExistsException') throw error;
        });
      } finally {
        client.destroy();
      }
    }
  }

  private fileOf(name: string): string {
    return join(this.dir, `${encodeURIComponent(name)}.json`);
  }

  /** A client of the emulator's `account`. */
  private client(account: string): SecretsManagerClient {
    const client = new SecretsManagerClient({
      endpoint: this.emulator,
      region: LocalPlatformNames.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    client.middlewareStack.add(inEmulatorAccount(account), { step: 'build', name: 'emulatorAccount' });
    return client;
  }
}
