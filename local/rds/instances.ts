/**
 * Stands in for **Amazon RDS**: the shared instance is the platform's PostgreSQL (postgres.ts, embedded or
 * `DATABASE_URL`), and every instance created with the RDS API (a dedicated tenant's) is a real PostgreSQL
 * server of its own (instances.ts), with its managed master secret holding its real password.
 *
 * Where the real thing differs: instances are available in seconds, on 127.0.0.1, with no Multi-AZ,
 * backups or parameter groups; a final snapshot is a copy of the stopped server's data directory
 * (DescribeDBSnapshots lists them, RestoreDBInstanceFromDBSnapshot starts a new instance on a copy of it);
 * an instance restored with ManageMasterUserPassword keeps the snapshot's master password in its new
 * managed secret, where RDS would generate a new one.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { LocalPlatformNames } from '../../common/names';
import { escapeXml } from '../xml';
import { ensureDatabase, startServer, type PostgresServer } from './postgres';
import { serverFiles, type ServerFiles } from './server-files';

/** An RDS API error, answered in the query protocol's XML (`Code` is what the SDK turns into the error name). */
export class RdsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/**
 * What DescribeDBSnapshots says of a kept final snapshot (`rds-snapshots/<name>.json`, mode 600), and what
 * restoring it needs: the master user and password its data directory has (absent in a snapshot kept
 * before restoring was emulated: such a one cannot be restored).
 */
interface SnapshotRecord {
  readonly instanceId: string;
  readonly createdAt: string;
  readonly engine: string;
  readonly allocatedStorage: number;
  readonly tags: readonly { Key: string; Value: string }[];
  readonly instanceClass?: string;
  readonly dbName?: string;
  readonly masterUsername?: string;
  readonly masterPassword?: string;
  readonly storageEncrypted?: boolean;
}

/** What survives a restart of the platform about one instance (`<state-dir>/rds-instances.json`, mode 600). */
interface InstanceRecord {
  readonly id: string;
  readonly instanceClass: string;
  readonly engine: string;
  readonly dbName?: string;
  readonly masterUsername: string;
  /** Needed to re-create the managed secret in the emulator, which keeps nothing across restarts. */
  readonly masterPassword: string;
  /** The `rds!db-<uuid>` secret RDS manages, when ManageMasterUserPassword was asked for. */
  readonly managedSecretName?: string;
  readonly tags: readonly { Key: string; Value: string }[];
  readonly allocatedStorage: number;
  readonly storageEncrypted: boolean;
  readonly createdAt: string;
  /** The snapshot its data directory is first copied from (RestoreDBInstanceFromDBSnapshot). */
  readonly restoredFrom?: string;
  port?: number;
}

type Status = 'creating' | 'available' | 'deleting' | 'failed';

interface Instance {
  readonly record: InstanceRecord;
  status: Status;
  server?: PostgresServer;
  managedSecretArn?: string;
  /** Settles when the server is up (or failed); awaited by delete and stop. */
  starting: Promise<void>;
}

const STATE_FILE = 'rds-instances.json';
const ID_PATTERN = /^[a-zA-Z][a-zA-Z0-9-]{0,62}$/;
const NAME_PATTERN = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;

/**
 * RDS for the local platform: every PostgreSQL instance is a real PostgreSQL server of its own, started
 * from the same binaries as the shared one, with its data in the state (`<data root>/rds/<id>`), on
 * 127.0.0.1 and a free port. CreateDBInstance answers `creating` at once and the server starts behind it;
 * the instance is `available` once it accepts connections. DeleteDBInstance stops it and removes its data
 * (a `FinalDBSnapshotIdentifier` keeps a copy under `<data root>/rds-snapshots/<name>`). Instances survive
 * restarts: `start` brings them up again.
 */
export class LocalRds {
  private readonly instances = new Map<string, Instance>();
  private readonly secrets: SecretsManagerClient;

  private constructor(
    private readonly stateDir: string,
    private readonly files: ServerFiles,
    emulatorEndpoint: string,
    private readonly log: (line: string) => void,
    /** Each server's `max_connections`, as an instance class would set it. */
    private readonly maxConnections: number | undefined,
  ) {
    this.secrets = new SecretsManagerClient({
      endpoint: emulatorEndpoint,
      region: LocalPlatformNames.region,
    });
  }

  /** Loads the instances of the state directory and starts each one's server again (in the background). */
  static async start(
    stateDir: string,
    emulatorEndpoint: string,
    options: { readonly log?: (line: string) => void; readonly maxConnections?: number } = {},
  ): Promise<LocalRds> {
    const rds = new LocalRds(
      stateDir,
      await serverFiles(stateDir),
      emulatorEndpoint,
      options.log ?? (() => undefined),
      options.maxConnections,
    );
    for (const record of await rds.load()) {
      const instance: Instance = { record, status: 'creating', starting: Promise.resolve() };
      rds.instances.set(record.id, instance);
      instance.starting = rds.boot(instance);
    }
    return rds;
  }

  /** Resolves when every instance has finished starting (available or failed). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.instances.values()].map((i) => i.starting));
  }

  /** Stops every instance's server (their data stays). */
  async stop(): Promise<void> {
    await this.settled();
    await Promise.allSettled([...this.instances.values()].map((i) => i.server?.stop() ?? Promise.resolve()));
    this.secrets.destroy();
  }

  /** Answers one query-protocol action, or undefined for an action it does not serve (forwarded). */
  async handle(params: URLSearchParams): Promise<string | undefined> {
    const action = params.get('Action') ?? '';
    switch (action) {
      case 'CreateDBInstance':
        return response(action, `<DBInstance>${this.describe(await this.create(params))}</DBInstance>`);
      case 'RestoreDBInstanceFromDBSnapshot':
        return response(action, `<DBInstance>${this.describe(await this.restore(params))}</DBInstance>`);
      case 'DescribeDBInstances': {
        const id = params.get('DBInstanceIdentifier');
        const listed = id ? [this.get(id)] : [...this.instances.values()];
        const items = listed.map((i) => `<DBInstance>${this.describe(i)}</DBInstance>`);
        return response(action, `<DBInstances>${items.join('')}</DBInstances>`);
      }
      case 'DeleteDBInstance': {
        const deleting = this.delete(params);
        // Answered as AWS answers (status `deleting`), once it is gone: a local server stops in a moment.
        const described = this.describe(deleting.instance);
        await deleting.removed;
        return response(action, `<DBInstance>${described}</DBInstance>`);
      }
      case 'DescribeDBSnapshots': {
        const items = await this.snapshots(
          params.get('DBSnapshotIdentifier'),
          params.get('DBInstanceIdentifier'),
        );
        return response(
          action,
          `<DBSnapshots>${items.map((x) => `<DBSnapshot>${x}</DBSnapshot>`).join('')}</DBSnapshots>`,
        );
      }
      default:
        return undefined;
    }
  }

  /**
   * The final snapshots this stand-in keeps (`<data root>/rds-snapshots/<name>`, with `<name>.json` saying
   * of which instance and when), as DescribeDBSnapshots lists them; a named one that is missing is
   * DBSnapshotNotFound, as on AWS.
   */
  private async snapshots(id: string | null, instanceId: string | null): Promise<string[]> {
    const root = join(this.files.dataRoot, 'rds-snapshots');
    const names = existsSync(root)
      ? (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name)
      : [];
    if (id && !names.includes(id))
      throw new RdsError('DBSnapshotNotFound', `DBSnapshot ${id} not found.`, 404);
    const described: string[] = [];
    for (const name of names.sort()) {
      if (id && name !== id) continue;
      const meta = await this.snapshotRecord(name);
      if (instanceId && meta?.instanceId !== instanceId) continue;
      const fields: [string, string | number | undefined][] = [
        ['DBSnapshotIdentifier', name],
        ['DBSnapshotArn', `arn:aws:rds:${LocalPlatformNames.region}:123456789012:snapshot:${name}`],
        ['DBInstanceIdentifier', meta?.instanceId],
        ['SnapshotCreateTime', meta?.createdAt ?? (await stat(join(root, name))).mtime.toISOString()],
        ['Engine', meta?.engine ?? 'postgres'],
        ['AllocatedStorage', meta?.allocatedStorage],
        ['Status', 'available'],
        ['SnapshotType', 'manual'],
      ];
      described.push(
        fields
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`)
          .join('') +
          `<TagList>${(meta?.tags ?? []).map((t) => `<Tag><Key>${escapeXml(t.Key)}</Key><Value>${escapeXml(t.Value)}</Value></Tag>`).join('')}</TagList>`,
      );
    }
    return described;
  }

  private snapshotRecord(name: string): Promise<SnapshotRecord | undefined> {
    return readFile(join(this.files.dataRoot, 'rds-snapshots', `${name}.json`), 'utf8').then(
      (text) => JSON.parse(text) as SnapshotRecord,
      () => undefined,
    );
  }

  private get(id: string): Instance {
    const instance = this.instances.get(id);
    if (!instance) throw new RdsError('DBInstanceNotFound', `DBInstance ${id} not found.`, 404);
    return instance;
  }

  private async create(params: URLSearchParams): Promise<Instance> {
    const id = required(params, 'DBInstanceIdentifier');
    if (!ID_PATTERN.test(id))
      throw new RdsError('InvalidParameterValue', `Invalid DBInstanceIdentifier: ${id.slice(0, 80)}`);
    const engine = required(params, 'Engine');
    if (engine !== 'postgres')
      throw new RdsError(
        'InvalidParameterValue',
        `The local platform runs engine postgres only, not ${engine.slice(0, 40)}`,
      );
    if (this.instances.has(id)) throw new RdsError('DBInstanceAlreadyExists', `DB instance already exists`);
    const managed = params.get('ManageMasterUserPassword') === 'true';
    const given = params.get('MasterUserPassword');
    if (!managed && !given)
      throw new RdsError(
        'InvalidParameterCombination',
        'MasterUserPassword or ManageMasterUserPassword is required',
      );
    // RDS's own rules for PostgreSQL (the values reach initdb and CREATE DATABASE).
    if (given !== null && !/^[^/"@\s]{8,128}$/.test(given))
      throw new RdsError(
        'InvalidParameterValue',
        'MasterUserPassword must be 8-128 printable characters other than /, ", @ and spaces',
      );
    const masterUsername = required(params, 'MasterUsername');
    const dbName = params.get('DBName') ?? undefined;
    for (const [field, value] of [
      ['MasterUsername', masterUsername],
      ['DBName', dbName],
    ] as const) {
      if (value !== undefined && !NAME_PATTERN.test(value))
        throw new RdsError(
          'InvalidParameterValue',
          `${field} must be 1-63 letters, digits or underscores, starting with a letter`,
        );
    }
    const record: InstanceRecord = {
      id,
      instanceClass: required(params, 'DBInstanceClass'),
      engine,
      dbName,
      masterUsername,
      masterPassword: given ?? randomBytes(24).toString('base64url'),
      managedSecretName: managed ? `rds!db-${randomUUID()}` : undefined,
      tags: listParam(params, 'Tags.Tag').map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })),
      allocatedStorage: Number(params.get('AllocatedStorage') ?? 20),
      storageEncrypted: params.get('StorageEncrypted') === 'true',
      createdAt: new Date().toISOString(),
    };
    return this.add(record);
  }

  /**
   * A new instance on a copy of a kept final snapshot's data directory: its databases, roles and rows as
   * they were, its master user the snapshot's; class and tags as asked (or the snapshot's).
   */
  private async restore(params: URLSearchParams): Promise<Instance> {
    const id = required(params, 'DBInstanceIdentifier');
    if (!ID_PATTERN.test(id))
      throw new RdsError('InvalidParameterValue', `Invalid DBInstanceIdentifier: ${id.slice(0, 80)}`);
    if (this.instances.has(id)) throw new RdsError('DBInstanceAlreadyExists', `DB instance already exists`);
    const name = required(params, 'DBSnapshotIdentifier');
    const snapshot = ID_PATTERN.test(name) ? await this.snapshotRecord(name) : undefined;
    if (!snapshot || !existsSync(join(this.files.dataRoot, 'rds-snapshots', name)))
      throw new RdsError('DBSnapshotNotFound', `DBSnapshot ${name.slice(0, 80)} not found.`, 404);
    if (!snapshot.masterUsername || !snapshot.masterPassword)
      throw new RdsError(
        'InvalidParameterValue',
        `DBSnapshot ${name} was kept before the local RDS recorded its master user: it cannot be restored`,
      );
    const tags = listParam(params, 'Tags.Tag').map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }));
    return this.add({
      id,
      instanceClass: params.get('DBInstanceClass') ?? snapshot.instanceClass ?? 'db.t4g.micro',
      engine: snapshot.engine,
      dbName: snapshot.dbName,
      masterUsername: snapshot.masterUsername,
      masterPassword: snapshot.masterPassword,
      managedSecretName:
        params.get('ManageMasterUserPassword') === 'true' ? `rds!db-${randomUUID()}` : undefined,
      tags: tags.length > 0 ? tags : snapshot.tags,
      allocatedStorage: Number(params.get('AllocatedStorage') ?? snapshot.allocatedStorage),
      storageEncrypted: snapshot.storageEncrypted ?? false,
      createdAt: new Date().toISOString(),
      restoredFrom: name,
    });
  }

  /** Registers a new instance (`creating`), writes its managed secret and starts its server behind it. */
  private async add(record: InstanceRecord): Promise<Instance> {
    const instance: Instance = { record, status: 'creating', starting: Promise.resolve() };
    this.instances.set(record.id, instance);
    await this.save();
    // As on AWS, the managed secret exists from the start (it holds the password the server gets).
    if (record.managedSecretName) instance.managedSecretArn = await this.putManagedSecret(record);
    instance.starting = this.boot(instance);
    return instance;
  }

  private delete(params: URLSearchParams): { instance: Instance; removed: Promise<void> } {
    const instance = this.get(required(params, 'DBInstanceIdentifier'));
    if (instance.status === 'deleting')
      throw new RdsError(
        'InvalidDBInstanceState',
        `Instance ${instance.record.id} is already being deleted.`,
      );
    const snapshot = params.get('FinalDBSnapshotIdentifier');
    if (!snapshot && params.get('SkipFinalSnapshot') !== 'true')
      throw new RdsError(
        'InvalidParameterCombination',
        'FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.',
      );
    instance.status = 'deleting';
    return { instance, removed: this.remove(instance, snapshot ?? undefined) };
  }

  /** Stops the server, keeps the final snapshot if asked, removes data, secret and record. */
  private async remove(instance: Instance, snapshot: string | undefined): Promise<void> {
    await instance.starting;
    await instance.server?.stop();
    instance.server = undefined;
    const dataDir = this.dataDir(instance.record.id);
    if (snapshot && existsSync(dataDir)) {
      const target = join(this.files.dataRoot, 'rds-snapshots', snapshot);
      await mkdir(join(this.files.dataRoot, 'rds-snapshots'), { recursive: true });
      await cp(dataDir, target, { recursive: true, verbatimSymlinks: true });
      const { record } = instance;
      const meta: SnapshotRecord = {
        instanceId: record.id,
        createdAt: new Date().toISOString(),
        engine: record.engine,
        allocatedStorage: record.allocatedStorage,
        tags: record.tags,
        instanceClass: record.instanceClass,
        dbName: record.dbName,
        masterUsername: record.masterUsername,
        masterPassword: record.masterPassword,
        storageEncrypted: record.storageEncrypted,
      };
      await writeFile(`${target}.json`, JSON.stringify(meta), { mode: 0o600 });
    }
    await rm(dataDir, { recursive: true, force: true });
    if (instance.record.managedSecretName) {
      await this.secrets
        .send(
          new DeleteSecretCommand({
            SecretId: instance.record.managedSecretName,
            ForceDeleteWithoutRecovery: true,
          }),
        )
        .catch(() => undefined);
    }
    this.instances.delete(instance.record.id);
    await this.save();
  }

  /** Starts (initialising on first start) the instance's server; its status follows. Never rejects. */
  private async boot(instance: Instance): Promise<void> {
    const { record } = instance;
    try {
      const dataDir = this.dataDir(record.id);
      await mkdir(join(this.files.dataRoot, 'rds'), { recursive: true });
      if (record.restoredFrom && !existsSync(join(dataDir, 'PG_VERSION'))) {
        const copying = `${dataDir}.restoring`;
        await rm(copying, { recursive: true, force: true });
        await cp(join(this.files.dataRoot, 'rds-snapshots', record.restoredFrom), copying, {
          recursive: true,
          verbatimSymlinks: true,
        });
        await this.giveTreeToServer(copying);
        await rename(copying, dataDir);
      }
      const fresh = !record.restoredFrom && !existsSync(join(dataDir, 'PG_VERSION'));
      instance.server = await startServer({
        files: this.files,
        dataDir,
        superuser: record.masterUsername,
        password: record.masterPassword,
        port: record.port,
        maxConnections: this.maxConnections,
        recordIn: { stateDir: this.stateDir, name: `rds:${record.id}` },
      });
      if (fresh && record.dbName) {
        const { port } = instance.server;
        await ensureDatabase(
          { host: '127.0.0.1', port, user: record.masterUsername, password: record.masterPassword },
          record.dbName,
        );
      }
      // After a restart: the emulator keeps nothing, so the secret is written again.
      if (record.managedSecretName && !instance.managedSecretArn)
        instance.managedSecretArn = await this.putManagedSecret(record);
      if (record.port !== instance.server.port) {
        record.port = instance.server.port;
        await this.save();
      }
      if (instance.status === 'creating') instance.status = 'available';
    } catch (error) {
      if (instance.status === 'creating') instance.status = 'failed';
      this.log(`RDS instance ${record.id} failed to start: ${(error as Error).message}`);
    }
  }

  /** The managed master secret, holding the password the server really has (written again on restart). */
  private async putManagedSecret(record: InstanceRecord): Promise<string | undefined> {
    const SecretString = JSON.stringify({ username: record.masterUsername, password: record.masterPassword });
    const Name = record.managedSecretName;
    try {
      return (await this.secrets.send(new CreateSecretCommand({ Name, SecretString }))).ARN;
    } catch (error) {
      if ((error as Error).name !== 'ResourceExistsException') throw error;
      return (await this.secrets.send(new PutSecretValueCommand({ SecretId: Name, SecretString }))).ARN;
    }
  }

  /** The copy belongs to the user the servers run as (when this process runs as root). */
  private async giveTreeToServer(root: string): Promise<void> {
    const { owner } = this.files;
    if (!owner) return;
    await chown(root, owner.uid, owner.gid);
    for (const entry of await readdir(root, { recursive: true }))
      await chown(join(root, entry), owner.uid, owner.gid);
  }

  private dataDir(id: string): string {
    return join(this.files.dataRoot, 'rds', id);
  }

  private describe(instance: Instance): string {
    const { record, server } = instance;
    const fields: [string, string | number | boolean | undefined][] = [
      ['DBInstanceIdentifier', record.id],
      ['DBInstanceArn', `arn:aws:rds:${LocalPlatformNames.region}:123456789012:db:${record.id}`],
      ['DBInstanceClass', record.instanceClass],
      ['Engine', record.engine],
      ['DBInstanceStatus', instance.status],
      ['MasterUsername', record.masterUsername],
      ['DBName', record.dbName],
      ['AllocatedStorage', record.allocatedStorage],
      ['InstanceCreateTime', record.createdAt],
      ['StorageEncrypted', record.storageEncrypted],
      ['PubliclyAccessible', false],
    ];
    let xml = fields
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`)
      .join('');
    if (server && instance.status === 'available')
      xml += `<Endpoint><Address>127.0.0.1</Address><Port>${server.port}</Port></Endpoint>`;
    if (instance.managedSecretArn)
      xml += `<MasterUserSecret><SecretArn>${escapeXml(instance.managedSecretArn)}</SecretArn><SecretStatus>active</SecretStatus></MasterUserSecret>`;
    xml += `<TagList>${record.tags.map((t) => `<Tag><Key>${escapeXml(t.Key)}</Key><Value>${escapeXml(t.Value)}</Value></Tag>`).join('')}</TagList>`;
    return xml;
  }

  private async load(): Promise<InstanceRecord[]> {
    try {
      return JSON.parse(await readFile(join(this.stateDir, STATE_FILE), 'utf8')) as InstanceRecord[];
    } catch {
      return [];
    }
  }

  private async save(): Promise<void> {
    const records = [...this.instances.values()].map((i) => i.record);
    // It holds the instances' master passwords: readable by its owner only.
    await writeFile(join(this.stateDir, STATE_FILE), JSON.stringify(records, null, 2), { mode: 0o600 });
  }
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (!value) throw new RdsError('MissingParameter', `The request must contain the parameter ${name}`);
  return value;
}

/** `Tags.Tag.1.Key=a&Tags.Tag.1.Value=b` -> `[{ Key: 'a', Value: 'b' }]`. */
function listParam(params: URLSearchParams, prefix: string): Record<string, string>[] {
  const items: Record<string, string>[] = [];
  for (const [key, value] of params) {
    const match = key.startsWith(`${prefix}.`) ? /^(\d+)\.(\w+)$/.exec(key.slice(prefix.length + 1)) : null;
    if (!match) continue;
    const index = Number(match[1]) - 1;
    (items[index] ??= {})[match[2] ?? ''] = value;
  }
  return items.filter(Boolean);
}

function response(action: string, result: string): string {
  return (
    `<${action}Response xmlns="http://rds.amazonaws.com/doc/2014-10-31/">` +
    `<${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`
  );
}

/** The query protocol's error document. */
export function errorResponse(error: RdsError): string {
  return (
    `<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type>` +
    `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
    `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`
  );
}
