/** What both benchmarks share: a local platform in a temporary directory, onboarding, and percentiles. */
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import type { ReleaseSummary } from '../common/release';
import { BRANCHES, DEDICATED_INSTANCE, STEPS } from '../common/steps';
import { fullHistory, stateNamer } from '../cli/follow';
import { waitFor } from '../local/processes/ports';
import type { EndpointTimes } from '../local/endpoint/endpoint';
import type { PlatformOptions } from '../local/platform';
import { startLocalServices, type Endpoints } from '../cli/services';

/** One execution: its duration, its state transitions, and the time its tasks' handlers took (stepsOwnWork). */
export interface Run {
  readonly executionArn: string;
  readonly ms: number;
  readonly transitions: number;
  readonly stepsMs: number;
  /**
   * What the AWS endpoint spent while it ran (summed over its requests, which overlap): forwarding to the
   * emulator, and checking IAM. Only an execution that ran alone has these to itself.
   */
  readonly endpoint: EndpointTimes;
}

export interface BenchPlatform {
  readonly endpoints: Endpoints;
  /** A Step Functions client of the platform's endpoint (destroyed by stop). */
  readonly sfn: SFNClient;
  readonly stateDir: string;
  /** Onboards a tenant through the Step Functions API; its duration (execution dates) and transitions. */
  onboard(tenantId: string, tier?: 'shared' | 'dedicated', extra?: Record<string, unknown>): Promise<Run>;
  /**
   * Releases `version` to every tenant through the release state machine, `concurrency` at once, and waits
   * for its end (it must succeed): its execution, summary and duration.
   */
  release(
    version: string,
    concurrency: number,
  ): Promise<{ executionArn: string; summary: ReleaseSummary; ms: number }>;
  /** Runs one execution of a state machine to its end; it must succeed. */
  run(stateMachineArn: string, input: unknown, label: string): Promise<Run>;
  stop(): Promise<void>;
}

export async function startBenchPlatform(
  options: Pick<PlatformOptions, 'maxConcurrentOnboardings' | 'quotas'> = {},
): Promise<BenchPlatform> {
  const stateDir = await mkdtemp(join(tmpdir(), 'tenantctl-bench-'));
  await chmod(stateDir, 0o755);
  const services = await startLocalServices({ ...options, stateDir, port: 0, gatewayPort: 0 });
  const { endpoints } = services;
  const sfn = new SFNClient({
    endpoint: endpoints.stepFunctions,
    region: endpoints.region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const run: BenchPlatform['run'] = async (stateMachineArn, input, label) => {
    const before = services.platform.endpointTimes;
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
    );
    let status = 'RUNNING';
    let why = '';
    let ms = 0;
    await waitFor(
      label,
      async () => {
        const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        status = d.status ?? 'RUNNING';
        why = `${d.error ?? ''} ${d.cause ?? ''}`.slice(0, 500);
        ms = (d.stopDate?.getTime() ?? 0) - (d.startDate?.getTime() ?? 0);
        return status !== 'RUNNING';
      },
      300_000,
    );
    const after = services.platform.endpointTimes;
    const endpoint = {
      emulatorCalls: after.emulatorCalls - before.emulatorCalls,
      emulatorMs: round(after.emulatorMs - before.emulatorMs),
      iamMs: round(after.iamMs - before.iamMs),
    };
    if (status !== 'SUCCEEDED') throw new Error(`${label}: ${status}: ${why}`);
    const history = await fullHistory(sfn, executionArn!);
    const transitions = history.filter((e) => e.type?.endsWith('StateEntered')).length;
    return { executionArn: executionArn!, ms, transitions, stepsMs: stepsOwnWork(history), endpoint };
  };
  return {
    endpoints,
    stateDir,
    sfn,
    run,
    async release(version, concurrency) {
      const { executionArn = '' } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: endpoints.releaseStateMachineArn,
          input: JSON.stringify({ version, concurrency }),
        }),
      );
      let described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      await waitFor(
        'the release',
        async () => {
          described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
          return described.status !== 'RUNNING';
        },
        30 * 60_000,
      );
      const summary = JSON.parse(described.output ?? 'null') as ReleaseSummary | null;
      if (described.status !== 'SUCCEEDED' || !summary)
        throw new Error(`the release ended ${described.status ?? ''}: ${described.cause ?? ''}`);
      const ms = (described.stopDate?.getTime() ?? 0) - (described.startDate?.getTime() ?? 0);
      return { executionArn, summary, ms };
    },
    async onboard(tenantId, tier = 'shared', extra = {}) {
      const input = {
        tenantId,
        companyName: `Bench ${tenantId}`,
        adminEmail: `admin@${tenantId}.example`,
        tier,
        ...extra,
      };
      return run(endpoints.stateMachineArn, input, tenantId);
    },
    async stop() {
      sfn.destroy();
      await services.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** Each state's handler time: TaskStarted to TaskSucceeded or TaskFailed, summed over its attempts. */
export function handlerTimes(history: readonly HistoryEvent[]): Map<string, number> {
  const byId = new Map(history.map((e) => [e.id, e]));
  const stateOf = stateNamer(history);
  const work = new Map<string, number>();
  for (const end of history) {
    if (end.type !== 'TaskSucceeded' && end.type !== 'TaskFailed') continue;
    const started = byId.get(end.previousEventId ?? -1);
    const name = stateOf(end);
    if (started?.type !== 'TaskStarted' || !name) continue;
    const took = (end.timestamp?.getTime() ?? 0) - (started.timestamp?.getTime() ?? 0);
    work.set(name, (work.get(name) ?? 0) + took);
  }
  return work;
}

/**
 * The time an onboarding's handlers took on its critical path: each task from TaskStarted to its end
 * (what the Lambda itself ran), the steps before and after the branches one after another, and of the
 * two branches the longer. What the execution took beyond it is the platform's overhead (engine, history,
 * transitions, the Parallel state's bookkeeping).
 */
function stepsOwnWork(history: readonly HistoryEvent[]): number {
  const work = handlerTimes(history);
  const inBranch = (branch: string) =>
    STEPS.filter((s) => s.branch === branch).reduce((sum, s) => sum + (work.get(s.stateName) ?? 0), 0) +
    (branch === 'database' ? (work.get(DEDICATED_INSTANCE.check.stateName) ?? 0) : 0);
  return (
    STEPS.filter((s) => !s.branch).reduce((sum, s) => sum + (work.get(s.stateName) ?? 0), 0) +
    Math.max(...BRANCHES.order.map(inBranch))
  );
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return round(sorted[Math.max(0, index)] ?? 0);
}

export function round(n: number): number {
  return Math.round(n * 10) / 10;
}

export function runBench(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`${name} failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}

/** CPU time (ms) this process and each kind of process it started have used so far. */
export interface CpuTimes {
  /** This process: the engine, the endpoint, the task handlers, the IAM check (all its threads). */
  readonly platform: number;
  /** The AWS emulator (moto_server). */
  readonly emulator: number;
  /** Every PostgreSQL process: the servers and their backends. */
  readonly postgres: number;
}

/**
 * CPU time so far of this process and of the processes it started, and theirs (from /proc: Linux only,
 * zeros elsewhere), by kind. Exited processes (a psql, a finished backend) are not counted.
 */
export function cpuTimes(): CpuTimes {
  const own = process.cpuUsage();
  const times = { platform: (own.user + own.system) / 1000, emulator: 0, postgres: 0 };
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return times;
  }
  const parent = new Map<number, number>();
  const stats = new Map<number, { name: string; ms: number }>();
  const tick = 1000 / 100; // USER_HZ: 100 ticks a second on Linux
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      parent.set(Number(pid), Number(fields[1]));
      stats.set(Number(pid), {
        name: cmdline.includes('moto_server') ? 'emulator' : stat.includes('(postgres)') ? 'postgres' : '',
        ms: (Number(fields[11]) + Number(fields[12])) * tick,
      });
    } catch {
      // gone meanwhile
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p))
      if (p === process.pid) return true;
    return false;
  };
  for (const [pid, { name, ms }] of stats)
    if ((name === 'emulator' || name === 'postgres') && descends(pid)) times[name] += ms;
  return times;
}
