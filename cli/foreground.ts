import { readFile } from 'node:fs/promises';
import { parseFaults, type Fault } from '../local/tasks/faults';

/** Faults from `--faults FILE`, else from the TENANTCTL_FAULTS environment variable, else none. */
export async function loadFaults(file: string | undefined): Promise<Fault[]> {
  const source = file ? `--faults ${file}` : 'TENANTCTL_FAULTS';
  let text: string | undefined;
  try {
    text = file ? await readFile(file, 'utf8') : process.env.TENANTCTL_FAULTS;
  } catch (error) {
    throw new Error(`${source}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: error,
    });
  }
  if (!text) return [];
  let faults: Fault[];
  try {
    faults = parseFaults(text);
  } catch (error) {
    throw new Error(
      `${source}: ${(error as Error).message}. Expected a JSON list of { tenantId, step, kind, times }; see the README's "Fault injection".`,
      { cause: error },
    );
  }
  process.stderr.write(`Injecting ${faults.length} fault(s) into the task handlers.\n`);
  return faults;
}

/** A port given on the command line: a whole number from 0 (any free port) to 65535. */
export function portOption(flag: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new Error(
      `${flag} must be a port number from 0 (any free port) to 65535, got ${JSON.stringify(value)}`,
    );
  return port;
}

/**
 * Ctrl-C / SIGTERM while this process runs the platform: `signal` aborts a start under way, `received`
 * resolves to the signal so a running platform can be stopped. A second signal is not caught (it kills).
 */
export function interruptOnSignals(): {
  signal: AbortSignal;
  received: Promise<NodeJS.Signals>;
  dispose(): void;
} {
  const controller = new AbortController();
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((resolveSignal) => {
    onSignal = (signal) => {
      controller.abort(new Error(`interrupted by ${signal}`));
      resolveSignal(signal);
    };
  });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    received,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Runs a start; undefined when it was interrupted (it has then stopped what it had started). */
export async function startOrInterrupted<T>(
  start: () => Promise<T>,
  signal: AbortSignal,
): Promise<T | undefined> {
  try {
    return await start();
  } catch (error) {
    if (!signal.aborted) throw error;
    process.stderr.write('tenantctl: interrupted while starting; everything it had started is stopped.\n');
    return undefined;
  }
}
