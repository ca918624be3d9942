import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitFor } from './ports';

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

/** `AWS_ENDPOINT_URL` when set, otherwise `moto_server` started as a child process on a free local port. */
export async function startEmulator(): Promise<LocalEmulator> {
  const external = process.env.AWS_ENDPOINT_URL;
  if (external) return { endpoint: external, owned: false, stop: () => Promise.resolve() };

  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString());
    if (stderr.length > 40) stderr.shift();
  });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error(INSTALL_HINT) : error),
    );
  });
  await spawned;
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitFor('moto_server', async () => (await fetch(`${endpoint}/moto-api/`)).ok, 30_000);
  } catch (error) {
    await stopChild(child);
    throw new Error(`${(error as Error).message}\n${stderr.join('')}`, { cause: error });
  }
  return { endpoint, owned: true, pid: child.pid, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
