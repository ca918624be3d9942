/**
 * Stands in for **the AWS services the platform does not answer itself** (Secrets Manager, Lambda's
 * control plane, API Gateway v2, S3, CloudFront, IAM, CloudWatch, SNS, CloudFormation): `moto_server` as a
 * child process on a free port, or the user's LocalStack in `AWS_ENDPOINT_URL`.
 *
 * Where the real thing differs: moto keeps everything in memory (bootstrap/ and s3/ put back what must
 * survive a restart), allows every call, and runs no Lambda code.
 */
import { spawn } from 'node:child_process';
import { awaitReady, stopProcess } from '../processes/children';
import { freePort } from '../processes/ports';
import { LOCAL_ACCOUNT } from '../account';

/** The AWS API emulator every SDK client of the local platform talks to. */
export interface LocalEmulator {
  readonly endpoint: string;
  /** True when this process started it (and so stops it). */
  readonly owned: boolean;
  /** The moto_server process, when this process started it. */
  readonly pid?: number;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'moto_server was not found. Install it with: pip install "moto[server]"\n' +
  'or point the platform at LocalStack (or any AWS emulator) with AWS_ENDPOINT_URL=http://127.0.0.1:4566';

/**
 * The emulator at `external` (the user's `AWS_ENDPOINT_URL`, checked to answer), otherwise `moto_server`
 * started as a child process on a free local port. An aborted `signal` stops the emulator being started.
 */
export async function startEmulator(
  external: string | undefined,
  signal?: AbortSignal,
): Promise<LocalEmulator> {
  if (external) return externalEmulator(external);

  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString());
    if (stderr.length > 40) stderr.shift();
  });
  const stop = () => stopProcess(child, 'SIGTERM', 5_000);
  const endpoint = `http://127.0.0.1:${port}`;
  await awaitReady(child, {
    what: 'moto_server',
    probe: async () => (await fetch(`${endpoint}/moto-api/`)).ok,
    timeoutMs: 30_000,
    signal,
    stop,
    failure: ({ error, code, signal: killedBy }) =>
      error?.code === 'ENOENT'
        ? new Error(INSTALL_HINT)
        : new Error(
            `moto_server did not start (${error?.message ?? killedBy ?? `exit code ${code}`}):\n${stderr.join('').trim()}\n` +
              `Check that \`moto_server -H 127.0.0.1 -p ${port}\` runs, or set AWS_ENDPOINT_URL to another emulator.`,
            { cause: error },
          ),
  });
  return { endpoint, owned: true, pid: child.pid, stop };
}

/** The emulator the user runs; the start fails at once, saying so, when nothing answers there. */
async function externalEmulator(endpoint: string): Promise<LocalEmulator> {
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    const cause = (error as Error).cause as NodeJS.ErrnoException | undefined;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new Error(
      `AWS_ENDPOINT_URL=${endpoint}: nothing answers there (${reason}). ` +
        'Start that emulator, or unset AWS_ENDPOINT_URL to use moto_server.',
      { cause: error },
    );
  }
  return { endpoint, owned: false, stop: () => Promise.resolve() };
}

/**
 * The header naming the account a request is for, in moto's multi-account support: the endpoint sends a
 * cell account's requests (iam/principal.ts) to that account with it. LocalStack takes the account from the
 * access key instead, which the local sessions do not carry: cells in accounts of their own need moto.
 */
export const EMULATOR_ACCOUNT_HEADER = 'x-moto-account-id';

/** An SDK build middleware sending the platform's own requests straight to `account` of the emulator. */
export function inEmulatorAccount(account: string) {
  return <Input extends object, Output extends object>(
      next: (args: { input: Input; request: unknown }) => Promise<Output>,
    ) =>
    (args: { input: Input; request: unknown }): Promise<Output> => {
      const request = args.request as { headers?: Record<string, string> };
      if (account !== LOCAL_ACCOUNT && request.headers) request.headers[EMULATOR_ACCOUNT_HEADER] = account;
      return next(args);
    };
}
