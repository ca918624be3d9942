/** What both benchmarks share: a local platform in a temporary directory, onboarding, and percentiles. */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { fullHistory } from '../cli/follow';
import { waitFor } from '../local/processes/ports';
import type { PlatformOptions } from '../local/platform';
import { startLocalServices, type Endpoints } from '../cli/services';

export interface BenchPlatform {
  readonly endpoints: Endpoints;
  /** A Step Functions client of the platform's endpoint (destroyed by stop). */
  readonly sfn: SFNClient;
  readonly stateDir: string;
  /** Onboards a tenant through the Step Functions API; its duration (execution dates) and transitions. */
  onboard(
    tenantId: string,
    tier?: 'shared' | 'dedicated',
    extra?: Record<string, unknown>,
  ): Promise<{ ms: number; transitions: number }>;
  /** Runs one execution of a state machine to its end; it must succeed. */
  run(stateMachineArn: string, input: unknown, label: string): Promise<{ ms: number; transitions: number }>;
  stop(): Promise<void>;
}

export async function startBenchPlatform(
  options: Pick<PlatformOptions, 'maxConcurrentOnboardings'> = {},
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
    if (status !== 'SUCCEEDED') throw new Error(`${label}: ${status}: ${why}`);
    const transitions = (await fullHistory(sfn, executionArn!)).filter((e) =>
      e.type?.endsWith('StateEntered'),
    ).length;
    return { ms, transitions };
  };
  return {
    endpoints,
    stateDir,
    sfn,
    run,
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
