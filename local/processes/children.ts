/**
 * Child processes and ports of the local platform (PostgreSQL servers, moto_server): recorded in the state
 * directory so that the next start stops what a killed platform left, signalled when this process exits.
 * Not an AWS service: the plumbing the stand-ins share.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from './ports';

/**
 * The servers a platform starts (PostgreSQL, moto_server) are recorded in its state directory. A platform
 * killed with SIGKILL cannot stop them; the next start in the same directory does, before starting its own,
 * and only processes whose command line still names what was recorded (never someone else's).
 */
const FILE = 'children.json';

export interface Child {
  readonly pid: number;
  /** A string the process's command line must contain for it to still be ours. */
  readonly marker: string;
  /** How it shuts down fast: PostgreSQL on SIGINT, others on SIGTERM. */
  readonly signal: NodeJS.Signals;
}

/** Pending writes per state directory: servers started at the same time must not lose each other's entry. */
const writes = new Map<string, Promise<void>>();

export function recordChild(stateDir: string, name: string, child: Child): Promise<void> {
  const write = (writes.get(stateDir) ?? Promise.resolve()).then(async () => {
    const children = await readChildren(stateDir);
    children[name] = child;
    // Written aside, then renamed over: a platform killed mid-write leaves the old record whole, never a
    // truncated one (which would make the next start forget every server, and fail on their lock files).
    const aside = join(stateDir, `${FILE}.writing`);
    await writeFile(aside, JSON.stringify(children), { mode: 0o600 });
    await rename(aside, join(stateDir, FILE));
  });
  writes.set(
    stateDir,
    write.catch(() => undefined),
  );
  return write;
}

/** Called on a clean stop: nothing is left to stop next time. */
export async function forgetChildren(stateDir: string): Promise<void> {
  await rm(join(stateDir, FILE), { force: true });
}

/** Stops what a killed platform left running in this state directory; returns what it stopped. */
export async function stopLeftovers(stateDir: string): Promise<string[]> {
  const stopped: string[] = [];
  for (const [name, child] of Object.entries(await readChildren(stateDir))) {
    if ((await stopLeftover(child)) !== 'not running') stopped.push(name);
  }
  await rm(join(stateDir, FILE), { force: true });
  return stopped;
}

/**
 * Stops one process a killed platform left, if it is still the one recorded: its shutdown signal, then
 * SIGKILL after 15 s. Resolves once it is gone (or a zombie): `killed` when it had to be killed, so that
 * whatever it would have cleaned up on its way out (a PostgreSQL lock file) is still there.
 */
export async function stopLeftover(child: Child): Promise<'not running' | 'stopped' | 'killed'> {
  if (!running(child)) return 'not running';
  process.kill(child.pid, child.signal);
  if (await gone(child, 15_000)) return 'stopped';
  process.kill(child.pid, 'SIGKILL');
  await gone(child, 5_000);
  return 'killed';
}

async function gone(child: Child, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (running(child) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return !running(child);
}

/**
 * Sends every recorded server still running its shutdown signal, at once and without waiting: for a process
 * that is exiting abnormally (an uncaught exception), whose own stop will never run. A clean stop has
 * removed the record, so this then does nothing.
 */
export function signalChildrenSync(stateDir: string): void {
  let children: Record<string, Child>;
  try {
    children = JSON.parse(readFileSync(join(stateDir, FILE), 'utf8')) as Record<string, Child>;
  } catch {
    return;
  }
  for (const child of Object.values(children)) {
    if (!running(child)) continue;
    try {
      process.kill(child.pid, child.signal);
    } catch {
      // it ended meanwhile
    }
  }
}

/** Alive, not a zombie, and still the process that was recorded. */
function running(child: Child): boolean {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    if (/^State:\s+Z/m.test(status)) return false;
    return readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes(child.marker);
  } catch {
    return false;
  }
}

async function readChildren(stateDir: string): Promise<Record<string, Child>> {
  try {
    return JSON.parse(await readFile(join(stateDir, FILE), 'utf8')) as Record<string, Child>;
  } catch {
    return {};
  }
}

/**
 * Stops a child this process spawned: `signal` (its fast shutdown), then SIGKILL after `graceMs`. Resolves
 * at once for a child that never started (spawn failed) or already ended.
 */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill(signal);
  });
}

/**
 * Waits until a child just spawned answers `probe`. Fails as soon as the child cannot be spawned or exits
 * (with the error `failure` makes of it), the deadline passes, or `signal` aborts; the child is then stopped
 * with `stop` before the error is thrown, so a failed start leaves no process.
 */
export async function awaitReady(
  child: ChildProcess,
  options: {
    readonly what: string;
    readonly probe: () => Promise<boolean>;
    readonly timeoutMs: number;
    readonly failure: (exit: {
      error?: NodeJS.ErrnoException;
      code?: number | null;
      signal?: string | null;
    }) => Error;
    readonly stop: () => Promise<void>;
    readonly signal?: AbortSignal;
  },
): Promise<void> {
  const ended = new AbortController();
  child.once('error', (error) => ended.abort(options.failure({ error })));
  child.once('exit', (code, signal) => ended.abort(options.failure({ code, signal })));
  const onAbort = () => void options.stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const signals = options.signal ? [ended.signal, options.signal] : [ended.signal];
  try {
    await waitFor(options.what, options.probe, options.timeoutMs, AbortSignal.any(signals));
  } catch (error) {
    await options.stop();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
