/**
 * Stands in for **AWS Lambda's runtime** for the tenants' API functions: each published version runs the
 * package it was given in a worker thread (worker.js), with the environment the emulator recorded; aliases
 * resolve as Lambda resolves them. The control plane (CreateFunction, PublishVersion, aliases) is the
 * emulator's, but for deleting one version (deleted-versions.ts).
 *
 * Where the real thing differs: a worker thread shares the process (no memory or time limit enforced per
 * invocation), and reserved concurrency is not enforced.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  type FunctionConfiguration,
} from '@aws-sdk/client-lambda';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { unzipSync } from 'fflate';
import { LocalPlatformNames, PlatformNames } from '../../common/names';
import { LOCAL_ACCOUNT } from '../account';
import { operatorCredentialsIn, roleToken } from '../iam/principal';

/** How long a function's configuration is trusted before it is read from the emulator again. */
const CONFIGURATION_TTL_MS = 1_000;
/** Warm functions kept at most (`TENANTCTL_WARM_FUNCTIONS`); the least recently used idle one goes first. */
const DEFAULT_MAX_WARM = 64;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface RunningFunction {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

interface WarmEntry {
  /** Which configuration it runs; another revision of the same version gets a new worker. */
  readonly revision: string;
  readonly fn: Promise<RunningFunction>;
  /** Set once the worker exists. */
  ready?: RunningFunction;
}

/**
 * Runs deployed tenant functions locally, as Lambda would: the configuration (handler, environment) is the
 * one the emulator recorded for the version asked for (an alias such as `live` resolves to its version),
 * the code is the package that version was given (found in the artifact bucket by its CodeSha256), and each
 * function version runs in its own worker thread with its own environment. At most `maxWarm` run at once:
 * as Lambda recycles idle environments, the least recently used idle one is stopped to make room.
 */
export class LocalFunctions {
  /** Warm functions by `<name>@<version>`, least recently used first (a Map keeps insertion order). */
  private readonly running = new Map<string, WarmEntry>();
  private readonly configurations = new Map<string, { at: number; configuration: FunctionConfiguration }>();
  /** CodeSha256 of each package in the artifact bucket, by key and ETag (a package is hashed once). */
  private readonly packages = new Map<string, string>();
  /** A Lambda client of each account's emulator (the platform's, and each cell's: common/cells.ts). */
  private readonly lambdas = new Map<string, LambdaClient>();
  /** The account each function was found in (locate), with when. */
  private readonly located = new Map<string, { at: number; account: string }>();
  private readonly s3: S3Client;
  private nextId = 1;

  constructor(
    private readonly stateDir: string,
    private readonly endpoint: string,
    private readonly maxWarm = Number(process.env.TENANTCTL_WARM_FUNCTIONS ?? DEFAULT_MAX_WARM),
  ) {
    this.s3 = new S3Client({ endpoint, region: LocalPlatformNames.region, forcePathStyle: true });
  }

  /**
   * The account a tenant's function is in: the platform's, or the first of the cells' own accounts (the
   * task environment's capacity settings) that has it, as the edge routes to its cell (not the control
   * plane); the platform's when none has it (its invocation then finds no function).
   */
  async locate(functionName: string, accounts: readonly string[]): Promise<string> {
    if (accounts.length === 0) return LOCAL_ACCOUNT;
    const found = this.located.get(functionName);
    if (found && Date.now() - found.at < CONFIGURATION_TTL_MS) return found.account;
    for (const account of [LOCAL_ACCOUNT, ...accounts]) {
      try {
        await this.configurationOf(functionName, undefined, account);
        this.located.set(functionName, { at: Date.now(), account });
        return account;
      } catch (error) {
        if ((error as Error).name !== 'ResourceNotFoundException') throw error;
      }
    }
    return LOCAL_ACCOUNT;
  }

  /**
   * Invokes a function (a version or alias with `qualifier`, else $LATEST) with an event, as Lambda's
   * RequestResponse invocation. The configuration is read again when it is more than CONFIGURATION_TTL_MS
   * old: a function re-created with another environment gets a fresh worker within that time (reading it
   * on every call cost ~20x the handler's own throughput).
   */
  async invoke(
    functionName: string,
    event: unknown,
    qualifier?: string,
    account: string = LOCAL_ACCOUNT,
  ): Promise<unknown> {
    const configuration = await this.configurationOf(functionName, qualifier, account);
    // A cell account's function is named with its account (common/cells.ts); the platform's without.
    const key = `${account === LOCAL_ACCOUNT ? '' : `${account}|`}${functionName}@${configuration.Version ?? '$LATEST'}`;
    const revision = `${configuration.RevisionId ?? ''}:${configuration.CodeSha256 ?? ''}:${configuration.LastModified ?? ''}`;
    let entry = this.running.get(key);
    this.running.delete(key); // put back last: the most recently used
    if (entry && entry.revision !== revision) {
      void entry.fn.then((fn) => fn.worker.terminate()).catch(() => undefined);
      entry = undefined;
    }
    if (!entry) {
      const spawned: WarmEntry = { revision, fn: this.spawn(key, functionName, configuration) };
      spawned.fn.then(
        (fn) => (spawned.ready = fn),
        () => {
          if (this.running.get(key) === spawned) this.running.delete(key);
        },
      );
      entry = spawned;
    }
    this.running.set(key, entry);
    this.evictIdle();
    const fn = await entry.fn;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      fn.pending.set(id, { resolve, reject });
      fn.worker.postMessage({ id, event });
    });
  }

  /** The warm functions (`<name>@<version>`, `<account>|<name>@<version>` in a cell's account), least recently used first. */
  warm(): string[] {
    return [...this.running.keys()];
  }

  /**
   * The configuration the emulator recorded for the function (or its version or alias), cached for
   * CONFIGURATION_TTL_MS; throws ResourceNotFoundException when there is no such function.
   */
  async configurationOf(
    functionName: string,
    qualifier?: string,
    account: string = LOCAL_ACCOUNT,
  ): Promise<FunctionConfiguration> {
    const key = `${account}|${functionName}:${qualifier ?? '$LATEST'}`;
    const cached = this.configurations.get(key);
    if (cached && Date.now() - cached.at < CONFIGURATION_TTL_MS) return cached.configuration;
    try {
      const configuration = await this.lambdaIn(account).send(
        new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: qualifier }),
      );
      this.configurations.set(key, { at: Date.now(), configuration });
      return configuration;
    } catch (error) {
      this.configurations.delete(key);
      throw error;
    }
  }

  /**
   * Forgets what was read of the function's configuration: an alias of it was just put on another version,
   * and the next invocation through the alias runs that version (a suspension's, a move's, a release's).
   */
  forgetConfiguration(functionName: string): void {
    for (const key of this.configurations.keys())
      if (key.includes(`|${functionName}:`)) this.configurations.delete(key);
    this.located.delete(functionName);
  }

  private lambdaIn(account: string): LambdaClient {
    let client = this.lambdas.get(account);
    if (!client) {
      client = new LambdaClient({
        endpoint: this.endpoint,
        region: LocalPlatformNames.region,
        ...(account === LOCAL_ACCOUNT ? {} : { credentials: operatorCredentialsIn(account) }),
      });
      this.lambdas.set(account, client);
    }
    return client;
  }

  async stop(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.allSettled(all.map(async (entry) => (await entry.fn).worker.terminate()));
    for (const client of this.lambdas.values()) client.destroy();
    this.s3.destroy();
  }

  /** Stops the least recently used warm functions that have no request in flight, down to `maxWarm`. */
  private evictIdle(): void {
    for (const [key, entry] of this.running) {
      if (this.running.size <= this.maxWarm) return;
      if (!entry.ready || entry.ready.pending.size > 0) continue;
      this.running.delete(key);
      void entry.ready.worker.terminate();
    }
  }

  private async spawn(
    key: string,
    functionName: string,
    configuration: FunctionConfiguration,
  ): Promise<RunningFunction> {
    const [file, handlerName] = (configuration.Handler ?? 'index.handler').split('.');
    const dir = await this.unpack(configuration.CodeSha256 ?? '');
    const worker = new Worker(join(__dirname, 'worker.js'), {
      // A package is plain JavaScript: none of this process's loader flags (tsx's, when run with it), which
      // would parse every bundle again for every worker.
      execArgv: [],
      workerData: { modulePath: join(dir, `${file ?? 'index'}.js`), handlerName: handlerName ?? 'handler' },
      env: {
        AWS_ENDPOINT_URL: this.endpoint,
        AWS_REGION: LocalPlatformNames.region,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        // The function's role, as its session credentials name it: IAM checks its calls (local/iam/).
        // In its account (a cell's has its own, common/cells.ts), as its role's ARN says.
        AWS_SESSION_TOKEN: roleToken(
          configuration.Role?.split('/').pop() ?? '',
          configuration.Role?.split(':')[4] || LOCAL_ACCOUNT,
        ),
        AWS_LAMBDA_FUNCTION_NAME: functionName,
        AWS_LAMBDA_FUNCTION_VERSION: configuration.Version ?? '$LATEST',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...configuration.Environment?.Variables,
      },
    });
    const pending = new Map<number, Pending>();
    worker.on(
      'message',
      (message: { id: number; result?: unknown; error?: { name: string; message: string } }) => {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (!waiter) return;
        if (message.error)
          waiter.reject(Object.assign(new Error(message.error.message), { name: message.error.name }));
        else waiter.resolve(message.result);
      },
    );
    worker.on('error', (error) => {
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
      if (this.running.get(key)?.ready?.worker === worker) this.running.delete(key);
    });
    return { worker, pending };
  }

  /**
   * The package whose CodeSha256 (base64 SHA-256 of the zip, as Lambda reports it) is `codeSha256`: the
   * version's own code, found among the tenant API packages in the artifact bucket and unpacked once.
   */
  private async unpack(codeSha256: string): Promise<string> {
    const dir = join(
      this.stateDir,
      'functions',
      Buffer.from(codeSha256, 'base64').toString('hex').slice(0, 16),
    );
    if (codeSha256 && existsSync(join(dir, '.complete'))) return dir;
    const zip = await this.findPackage(codeSha256);
    for (const [path, bytes] of Object.entries(unzipSync(zip))) {
      const target = join(dir, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, bytes);
    }
    await writeFile(join(dir, '.complete'), '');
    return dir;
  }

  private async findPackage(codeSha256: string): Promise<Uint8Array> {
    const Bucket = LocalPlatformNames.artifactBucket;
    const Prefix = PlatformNames.tenantApiArtifactPrefix;
    let ContinuationToken: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket, Prefix, ContinuationToken }));
      for (const object of page.Contents ?? []) {
        if (!object.Key?.endsWith('.zip')) continue;
        const known = this.packages.get(`${object.Key}:${object.ETag ?? ''}`);
        if (known !== undefined && known !== codeSha256) continue;
        const body = await this.s3.send(new GetObjectCommand({ Bucket, Key: object.Key }));
        const zip = await body.Body?.transformToByteArray();
        if (!zip) continue;
        const sha = createHash('sha256').update(zip).digest('base64');
        this.packages.set(`${object.Key}:${object.ETag ?? ''}`, sha);
        if (sha === codeSha256) return zip;
      }
      ContinuationToken = page.NextContinuationToken;
    } while (ContinuationToken);
    throw Object.assign(
      new Error(`The code of this function version (CodeSha256 ${codeSha256}) is not in ${Bucket}/${Prefix}`),
      {
        name: 'CodeNotFound',
      },
    );
  }
}
