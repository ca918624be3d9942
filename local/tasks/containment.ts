import { AsyncLocalStorage } from 'node:async_hooks';

/** The error name of a task invocation whose handler crashed (an uncaught exception), as Lambda reports it. */
export const TASK_CRASHED = 'Runtime.ExitError';
/** The error name of a task invocation whose handler left a promise rejection unhandled. */
export const TASK_REJECTION_UNHANDLED = 'Runtime.UnhandledPromiseRejection';

interface Invocation {
  readonly stateName: string;
  readonly fail: (error: Error) => void;
}

/**
 * Keeps a crashing task handler from taking the platform down. On AWS each task is its own Lambda: an
 * uncaught exception (a stream's `'error'` event nobody listens to, a throw in a callback) or an unhandled
 * rejection ends that one invocation with a `Runtime.*` error, which the state machine retries or
 * compensates. In process, the same crash would end the whole platform (engine, endpoint, gateway, every
 * tenant's API). While installed, a crash is traced to the invocation it happened in (AsyncLocalStorage
 * follows every callback and promise the handler started) and fails that invocation alone.
 *
 * A crash outside any task is left to Node's default: printed and the process exits 1, unless somebody else
 * (a test runner) handles it.
 */
export class TaskContainment {
  private readonly invocations = new AsyncLocalStorage<Invocation>();
  private readonly onException = (error: unknown) => this.contain(error, TASK_CRASHED, 'uncaught exception');
  private readonly onRejection = (reason: unknown) =>
    this.contain(reason, TASK_REJECTION_UNHANDLED, 'unhandled rejection');

  constructor(private readonly log: (line: string) => void = () => undefined) {}

  install(): void {
    process.on('uncaughtException', this.onException);
    process.on('unhandledRejection', this.onRejection);
  }

  uninstall(): void {
    process.off('uncaughtException', this.onException);
    process.off('unhandledRejection', this.onRejection);
  }

  /** Runs one task invocation; it fails with a `Runtime.*` error if its handler crashes. */
  run<T>(stateName: string, invoke: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      this.invocations.run({ stateName, fail }, () => {
        invoke().then(
          (value) => {
            if (settled) return;
            settled = true;
            resolve(value);
          },
          (error: unknown) => fail(error as Error),
        );
      });
    });
  }

  private contain(thrown: unknown, name: string, what: string): void {
    const invocation = this.invocations.getStore();
    const error = thrown instanceof Error ? thrown : new Error(String(thrown));
    if (!invocation) {
      if (
        process.listenerCount(what === 'uncaught exception' ? 'uncaughtException' : 'unhandledRejection') > 1
      )
        return; // somebody else (a test runner) handles what is not ours
      process.stderr.write(`${error.stack ?? error.message}\n`);
      process.exit(1);
    }
    this.log(`task "${invocation.stateName}" crashed (${what}): ${error.name}: ${error.message}`);
    invocation.fail(
      Object.assign(new Error(`Runtime exited with error: ${error.name}: ${error.message}`), { name }),
    );
  }
}
