/**
 * The console's home: the fleet at a glance. Tenants by state, tier and version (how many on the current
 * release, how many behind), the executions running now, the failures of the last 24 hours (each with its
 * tenant, the step that failed and the error), the last releases and the alarms in ALARM. Read on every
 * request from the Step Functions API, the registry and CloudWatch; what never changes (an ended
 * execution's tenant and failed step) is remembered.
 */
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  ListExecutionsCommand,
  type ExecutionListItem,
  type ExecutionStatus,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { fullHistory, stateNamer } from '../cli/follow';
import { inBatches } from '../common/in-batches';
import type { ConsoleRelease, ConsoleTenant, TenantSource } from './registry';

/** How far back the home looks for failures, and how many it details (the rest are counted). */
export const FAILURE_WINDOW_MS = 24 * 3600_000;
const FAILURES_DETAILED = 20;
/** Failures counted per state machine and status before the count says "at least". */
const FAILURES_COUNTED = 1000;
const RELEASES_SHOWN = 5;
const FAILED_STATUSES: ExecutionStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];

export interface FleetExecution {
  executionArn: string;
  name: string;
  /** The workflow (onboarding, release, ...) or, for a state machine the platform does not name, its name. */
  workflow: string;
  status: string;
  startDate: string;
  stopDate?: string;
  tenantId: string | null;
}

export interface FleetFailure extends FleetExecution {
  /** The state whose failure ended it (a rolled-back onboarding: the step that failed, not the undo). */
  step: string | null;
  error: string | null;
  cause: string | null;
}

export interface FleetView {
  generatedAt: string;
  tenants:
    | {
        total: number;
        byStatus: Record<string, number>;
        byTier: Record<string, number>;
        /** Each code version the live tenants run, newest release's first. */
        versions: { codeVersion: string; schemaVersion: number | null; tenants: number; current: boolean }[];
        /** The version of the newest release that succeeded (else the one most live tenants run). */
        currentVersion: string | null;
        onCurrent: number;
        behind: number;
      }
    | { unavailable: string };
  running: FleetExecution[];
  failures: { total: number; atLeast: boolean; newest: FleetFailure[] };
  releases: ConsoleRelease[] | { unavailable: string };
  alarms:
    | { name: string; reason: string; since: string | null; tenantId: string | null }[]
    | { unavailable: string };
}

/** Tenants that run a function, and so a code version: live, suspended, or being moved. */
const LIVE = new Set(['ACTIVE', 'SUSPENDED', 'MOVING']);

export class Fleet {
  /** Ended executions' failed step, error and cause, by ARN: an ended execution never changes. */
  private readonly failureOf = new Map<string, Pick<FleetFailure, 'step' | 'error' | 'cause'>>();

  constructor(
    private readonly sfn: SFNClient,
    /** The platform's state machines by workflow name. */
    private readonly workflows: Readonly<Record<string, string>>,
    private readonly cloudwatch: CloudWatchClient,
    /** The tenant each execution concerns (remembered by the console). */
    private readonly withTenants: (
      items: ExecutionListItem[],
    ) => Promise<(ExecutionListItem & { tenantId: string | null })[]>,
  ) {}

  async view(source: TenantSource, host: string): Promise<FleetView> {
    const [tenants, releases, running, failures, alarms] = await Promise.all([
      'unavailable' in source ? undefined : source.tenants(host),
      'unavailable' in source ? undefined : source.releases(),
      this.running(),
      this.failures(Date.now() - FAILURE_WINDOW_MS),
      this.alarms(),
    ]);
    const unavailable = 'unavailable' in source ? { unavailable: source.unavailable } : undefined;
    return {
      generatedAt: new Date().toISOString(),
      tenants: unavailable ?? summarise(tenants ?? [], releases ?? []),
      running,
      failures,
      releases: unavailable ?? (releases ?? []).slice(0, RELEASES_SHOWN),
      alarms,
    };
  }

  private async running(): Promise<FleetExecution[]> {
    const lists = await Promise.all(
      Object.values(this.workflows).map(async (stateMachineArn) => {
        const { executions = [] } = await this.sfn.send(
          new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 100 }),
        );
        return executions;
      }),
    );
    return (await this.withTenants(newestFirst(lists.flat()))).map((e) => this.item(e));
  }

  /**
   * The failed, timed-out and aborted executions started since `since`: counted (up to FAILURES_COUNTED per
   * state machine and status), and the newest FAILURES_DETAILED with their tenant, step and error.
   */
  private async failures(since: number): Promise<FleetView['failures']> {
    let atLeast = false;
    const lists = await Promise.all(
      Object.values(this.workflows).flatMap((stateMachineArn) =>
        FAILED_STATUSES.map(async (statusFilter) => {
          const found: ExecutionListItem[] = [];
          let nextToken: string | undefined;
          do {
            const page = await this.sfn.send(
              new ListExecutionsCommand({ stateMachineArn, statusFilter, nextToken, maxResults: 100 }),
            );
            const recent = (page.executions ?? []).filter((e) => (e.startDate?.getTime() ?? 0) >= since);
            found.push(...recent);
            nextToken = recent.length === page.executions?.length ? page.nextToken : undefined;
          } while (nextToken && found.length < FAILURES_COUNTED);
          if (nextToken) atLeast = true;
          return found;
        }),
      ),
    );
    const all = newestFirst(lists.flat());
    const newest = await this.withTenants(all.slice(0, FAILURES_DETAILED));
    await inBatches(
      newest.filter((e) => !this.failureOf.has(e.executionArn ?? '')),
      8,
      async (e) => {
        const events = await fullHistory(this.sfn, e.executionArn ?? '');
        this.failureOf.set(e.executionArn ?? '', whatFailed(events));
      },
    );
    return {
      total: all.length,
      atLeast,
      newest: newest.map((e) => ({
        ...this.item(e),
        ...(this.failureOf.get(e.executionArn ?? '') ?? { step: null, error: null, cause: null }),
      })),
    };
  }

  private async alarms(): Promise<FleetView['alarms']> {
    try {
      const { MetricAlarms = [], CompositeAlarms = [] } = await this.cloudwatch.send(
        new DescribeAlarmsCommand({ StateValue: 'ALARM', MaxRecords: 100 }),
      );
      return [...MetricAlarms, ...CompositeAlarms].map((a) => ({
        name: a.AlarmName ?? '',
        reason: a.StateReason ?? '',
        since: a.StateUpdatedTimestamp?.toISOString() ?? null,
        tenantId: /^tenant-([a-z0-9-]+?)-(api-errors|db-cpu)$/.exec(a.AlarmName ?? '')?.[1] ?? null,
      }));
    } catch (error) {
      return { unavailable: `CloudWatch is not reachable: ${(error as Error).message}` };
    }
  }

  private item(e: ExecutionListItem & { tenantId: string | null }): FleetExecution {
    const workflow =
      Object.entries(this.workflows).find(([, arn]) => arn === e.stateMachineArn)?.[0] ??
      e.stateMachineArn?.split(':').pop() ??
      '';
    return {
      executionArn: e.executionArn ?? '',
      name: e.name ?? '',
      workflow,
      status: e.status ?? '',
      startDate: e.startDate?.toISOString() ?? '',
      ...(e.stopDate ? { stopDate: e.stopDate.toISOString() } : {}),
      tenantId: e.tenantId,
    };
  }
}

function newestFirst(executions: ExecutionListItem[]): ExecutionListItem[] {
  return executions.sort((a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0));
}

/** The tenants by state, tier and code version, against the current release's version. */
export function summarise(tenants: ConsoleTenant[], releases: ConsoleRelease[]): FleetView['tenants'] {
  const count = (key: (t: ConsoleTenant) => string) => {
    const counted: Record<string, number> = {};
    for (const t of tenants) counted[key(t)] = (counted[key(t)] ?? 0) + 1;
    return counted;
  };
  const live = tenants.filter((t) => LIVE.has(t.status) && t.codeVersion);
  const versions = new Map<string, { schemaVersion: number | null; tenants: number }>();
  for (const t of live) {
    const seen = versions.get(t.codeVersion!) ?? { schemaVersion: t.schemaVersion, tenants: 0 };
    seen.tenants += 1;
    seen.schemaVersion = Math.max(seen.schemaVersion ?? 0, t.schemaVersion ?? 0);
    versions.set(t.codeVersion!, seen);
  }
  const mostRun = [...versions.entries()].sort((a, b) => b[1].tenants - a[1].tenants)[0]?.[0] ?? null;
  const currentVersion = releases.find((r) => r.status === 'SUCCEEDED')?.version ?? mostRun;
  const onCurrent = live.filter((t) => t.codeVersion === currentVersion).length;
  return {
    total: tenants.length,
    byStatus: count((t) => t.status),
    byTier: count((t) => t.tier),
    versions: [...versions.entries()]
      .map(([codeVersion, v]) => ({ codeVersion, ...v, current: codeVersion === currentVersion }))
      .sort((a, b) => Number(b.current) - Number(a.current) || b.tenants - a.tenants),
    currentVersion,
    onCurrent,
    behind: live.length - onCurrent,
  };
}

/**
 * What ended a failed execution: its error and cause, and the state that raised it (the last task failure
 * with the execution's own error: after a rollback, the step that failed, not an undo).
 */
export function whatFailed(events: HistoryEvent[]): Pick<FleetFailure, 'step' | 'error' | 'cause'> {
  const named = stateNamer(events);
  const stateOf = (event: HistoryEvent | undefined) => named(event) ?? null;
  const end = [...events]
    .reverse()
    .find(
      (e) => e.type === 'ExecutionFailed' || e.type === 'ExecutionTimedOut' || e.type === 'ExecutionAborted',
    );
  const ended =
    end?.executionFailedEventDetails ??
    end?.executionTimedOutEventDetails ??
    end?.executionAbortedEventDetails;
  const error = ended?.error ?? (end?.type === 'ExecutionTimedOut' ? 'States.Timeout' : null);
  const taskFailures = events.filter((e) => e.type === 'TaskFailed' || e.type === 'TaskTimedOut');
  const failedTask =
    [...taskFailures]
      .reverse()
      .find((e) => (e.taskFailedEventDetails?.error ?? e.taskTimedOutEventDetails?.error) === error) ??
    taskFailures.at(-1);
  const lastEntered = [...events].reverse().find((e) => e.type?.endsWith('StateEntered'));
  // Stopped from outside: where it was, not an earlier failure that a retry got past.
  if (end?.type === 'ExecutionAborted')
    return { step: stateOf(lastEntered), error, cause: ended?.cause ?? null };
  return {
    step: stateOf(failedTask) ?? stateOf(lastEntered),
    error,
    cause: ended?.cause ?? null,
  };
}
