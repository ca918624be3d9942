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
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { unzipSync } from 'fflate';
import { LocalPlatformNames, PlatformNames } from '../common/names';

/** How long a function's configuration is trusted before it is read from the emulator again. */
const CONFIGURATION_TTL_MS = 1_000;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface RunningFunction {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

/**
 * Runs deployed tenant functions locally, as Lambda would: the configuration (handler, environment) is the
 * one the emulator recorded at CreateFunction, the code is the platform's tenant API package, and each
 * function runs in its own worker thread with its own environment.
 */
export class LocalFunctions {
  private readonly running = new Map<string, { revision: string; fn: Promise<RunningFunction> }>();
  private readonly configurations = new Map<string, { at: number; configuration: FunctionConfiguration }>();
  private readonly lambda: LambdaClient;
  private readonly s3: S3Client;
  private nextId = 1;

  constructor(
    private readonly stateDir: string,
    private readonly endpoint: string,
  ) {
    const config = { endpoint, region: LocalPlatformNames.region };
    this.lambda = new LambdaClient(config);
    this.s3 = new S3Client({ ...config, forcePathStyle: true });
  }

  /**
   * Invokes a function with an event, as Lambda's RequestResponse invocation. The configuration is read
   * again when it is more than CONFIGURATION_TTL_MS old: a function re-created with another environment gets
   * a fresh worker within that time (reading it on every call cost ~20x the handler's own throughput).
   */
  async invoke(functionName: string, event: unknown): Promise<unknown> {
    const configuration = await this.configurationOf(functionName);
    const revision = `${configuration.RevisionId ?? ''}:${configuration.LastModified ?? ''}`;
    let entry = this.running.get(functionName);
    if (entry && entry.revision !== revision) {
      this.running.delete(functionName);
      void entry.fn.then((fn) => fn.worker.terminate()).catch(() => undefined);
      entry = undefined;
    }
    if (!entry) {
      entry = { revision, fn: this.spawn(functionName, configuration) };
      entry.fn.catch(() => this.running.delete(functionName));
      this.running.set(functionName, entry);
    }
    const fn = await entry.fn;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      fn.pending.set(id, { resolve, reject });
      fn.worker.postMessage({ id, event });
    });
  }

  /** The configuration the emulator recorded (cached for CONFIGURATION_TTL_MS); throws when there is no such function. */
  async configurationOf(functionName: string): Promise<FunctionConfiguration> {
    const cached = this.configurations.get(functionName);
    if (cached && Date.now() - cached.at < CONFIGURATION_TTL_MS) return cached.configuration;
    try {
      const configuration = await this.lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: functionName }),
      );
      this.configurations.set(functionName, { at: Date.now(), configuration });
      return configuration;
    } catch (error) {
      this.configurations.delete(functionName);
      throw error;
    }
  }

  async stop(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.allSettled(all.map(async (entry) => (await entry.fn).worker.terminate()));
    this.lambda.destroy();
    this.s3.destroy();
  }

  private async spawn(functionName: string, configuration: FunctionConfiguration): Promise<RunningFunction> {
    const [file, handlerName] = (configuration.Handler ?? 'index.handler').split('.');
    const dir = await this.unpackTenantApi();
    const worker = new Worker(join(__dirname, 'lambda-worker.js'), {
      workerData: { modulePath: join(dir, `${file ?? 'index'}.js`), handlerName: handlerName ?? 'handler' },
      env: {
        AWS_ENDPOINT_URL: this.endpoint,
        AWS_REGION: LocalPlatformNames.region,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_LAMBDA_FUNCTION_NAME: functionName,
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
      this.running.delete(functionName);
    });
    return { worker, pending };
  }

  /** The platform's tenant API package (what CreateFunction was given), unpacked once per content hash. */
  private async unpackTenantApi(): Promise<string> {
    const code = await this.s3.send(
      new GetObjectCommand({
        Bucket: LocalPlatformNames.artifactBucket,
        Key: PlatformNames.tenantApiArtifactKey,
      }),
    );
    const zip = await code.Body?.transformToByteArray();
    if (!zip) throw new Error('The artifact bucket has no tenant API package');
    const dir = join(this.stateDir, 'functions', createHash('sha256').update(zip).digest('hex').slice(0, 16));
    if (!existsSync(dir)) {
      for (const [path, bytes] of Object.entries(unzipSync(zip))) {
        const target = join(dir, path);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, bytes);
      }
    }
    return dir;
  }
}
