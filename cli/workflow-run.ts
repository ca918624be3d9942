import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type DescribeExecutionCommandOutput, type SFNClient } from '@aws-sdk/client-sfn';
import { startAttempt, tenantLabel } from './attempts';
import { followExecution, fullHistory, stateNamer, timeBetween } from './follow';
import { MoveStates } from '../common/move';
import { checkedTenantId, json, out, type CommonOptions } from './options';
import { errorMessage, executionSummary, progressPrinter } from './progress';
import { resolveTarget, resolveWorkflowTarget, type Target } from './target';
import type { StepResults } from '../workflow-tasks/lib/types';
import type { VerifiedExport } from '../workflow-tasks/records/archive';

/** The target of a command given `targetOptions`, its state directory resolved. */
export function target(options: CommonOptions): Promise<Target> {
  return resolveTarget({ ...options, stateDir: resolve(options.stateDir) });
}

/** An onboarding input file, parsed; the error names the file. */
export async function readInput(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * `tenantctl suspend|resume|offboard|move`: one execution of that workflow for one tenant, followed to its end
 * (`quiet`: only the final line, for `offboard --all`).
 */
export async function runWorkflow(
  workflow: 'suspension' | 'offboarding' | 'domain' | 'move',
  input: { tenantId: string; action?: string; domain?: string; toInstance?: string; toCell?: string },
  verb: string,
  options: CommonOptions & { quiet?: boolean },
): Promise<number> {
  checkedTenantId('tenantId', input.tenantId);
  const { sfn, stateMachineArn } = await resolveWorkflowTarget(
    { ...options, stateDir: resolve(options.stateDir) },
    workflow,
  );
  const operation =
    workflow === 'offboarding'
      ? 'offboard'
      : workflow === 'domain'
        ? `domain-${input.action ?? 'attach'}`
        : workflow === 'move'
          ? 'move'
          : (input.action ?? 'suspend');
  const executionArn = await startAttempt(sfn, stateMachineArn, operation, input);
  const ended = await followAndReport(sfn, executionArn, verb, input.tenantId.slice(0, 40), options);
  if (workflow === 'move' && ended.status === 'SUCCEEDED' && !options.json && !options.quiet)
    out(await moveReport(sfn, executionArn));
  return ended.status === 'SUCCEEDED' ? 0 : 1;
}

/** How a move copied the tenant, and how long it was suspended (from "Suspend the tenant" to its resume). */
async function moveReport(sfn: SFNClient, executionArn: string): Promise<string> {
  const history = await fullHistory(sfn, executionArn);
  const output = history.findLast((e) => e.type === 'ExecutionSucceeded')?.executionSucceededEventDetails
    ?.output;
  const { sync, copied } = (output ? JSON.parse(output) : {}) as {
    sync?: { mode?: string; why?: string };
    copied?: { rows?: number };
  };
  const how =
    sync?.mode === 'replication'
      ? 'replicated while it served'
      : `in one snapshot while it was suspended (${sync?.why ?? 'not replicated'})`;
  const suspended = timeBetween(history, MoveStates.suspend, MoveStates.resume);
  return `copied ${copied?.rows ?? 0} rows ${how}; suspended ${suspended === undefined ? '?' : (suspended / 1000).toFixed(1)} s`;
}

/**
 * Follows an execution to its end, printing each state as it goes ("Onboarding shop-a (arn)" first), then
 * its outcome; `--json`: only the summary, `quiet`: only the outcome. Exit code 0 only on success.
 */
async function followAndReport(
  sfn: SFNClient,
  executionArn: string,
  verb: string,
  label: string,
  options: { json?: boolean; quiet?: boolean; silent?: boolean },
): Promise<EndedExecution> {
  const say = (line: string) => {
    if (!options.json && !options.quiet && !options.silent) out(line);
  };
  say(`${verb} ${label} (${executionArn})`);
  const ended = await followExecution(
    sfn,
    executionArn,
    options.json || options.quiet || options.silent ? () => undefined : progressPrinter(say),
  );
  if (!options.silent) report(label, ended, options);
  const status = ended.status ?? 'FAILED';
  if (status === 'SUCCEEDED') return { status };
  const error = ended.error ?? status;
  return {
    status,
    error,
    message: errorMessage(ended.cause),
    failedStep: await failedStepOf(sfn, executionArn, error),
  };
}

/**
 * StartExecution on the target (`onboard-<id>[-N]`, `restore-<id>[-N]` for an input with `restoreFrom`,
 * `import-<id>[-N]` for one with `importFrom`), then live progress from its history (`silent`: none, and
 * no outcome printed). Exit code 0 only on success.
 */
export async function onboardThrough(
  target: Target,
  input: unknown,
  options: { json?: boolean; silent?: boolean; onStarted?: (executionArn: string) => void },
): Promise<{ exitCode: number; executionArn: string; ended: EndedExecution }> {
  const fields = (input ?? {}) as { restoreFrom?: unknown; importFrom?: unknown };
  const operation =
    typeof fields.restoreFrom === 'string' ? 'restore' : fields.importFrom ? 'import' : 'onboard';
  const executionArn = await startAttempt(target.sfn, target.stateMachineArn, operation, input);
  options.onStarted?.(executionArn);
  const verb = operation === 'import' ? 'Importing' : 'Onboarding';
  const ended = await followAndReport(target.sfn, executionArn, verb, tenantLabel(input), options);
  return { exitCode: ended.status === 'SUCCEEDED' ? 0 : 1, executionArn, ended };
}

/** How an execution ended: its status, and when it failed, its error, message and the step that raised it. */
export interface EndedExecution {
  readonly status: string;
  readonly error?: string;
  readonly message?: string;
  readonly failedStep?: string;
}

/** The step whose failure is the execution's error (after a rollback: the step, not an undo). */
async function failedStepOf(
  sfn: SFNClient,
  executionArn: string,
  error: string,
): Promise<string | undefined> {
  const history = await fullHistory(sfn, executionArn);
  const nameOf = stateNamer(history);
  return nameOf(history.find((e) => e.type === 'TaskFailed' && e.taskFailedEventDetails?.error === error));
}

/** Prints how an execution ended (`--json`: its summary). */
function report(label: string, e: DescribeExecutionCommandOutput, options: { json?: boolean }): void {
  const record = {
    status: (e.status ?? 'FAILED') as 'SUCCEEDED',
    executionArn: e.executionArn ?? '',
    startDate: e.startDate ?? new Date(),
    stopDate: e.stopDate,
    output: e.output ? (JSON.parse(e.output) as unknown) : undefined,
    error: e.error,
    cause: e.cause,
  };
  if (options.json) return json(executionSummary(record));
  const seconds = ((e.stopDate ?? new Date()).getTime() - (e.startDate ?? new Date()).getTime()) / 1000;
  if (e.status === 'SUCCEEDED') {
    out(`${label}: SUCCEEDED in ${seconds.toFixed(1)} s`);
    const results = (record.output as { results?: Partial<StepResults> & { export?: unknown } } | undefined)
      ?.results;
    const replaced = results?.schema?.restored?.replaced;
    if (replaced) out(`warning: ${replaced}`);
    const imported = results?.schema?.imported;
    if (imported) {
      const tables = Object.entries(imported.tables).map(([t, { rows }]) => `${t} ${rows}`);
      out(
        `imported from ${imported.from} at schema version ${imported.schemaVersion}, verified: ${tables.join(', ')} rows`,
      );
    }
    for (const record of results?.activation?.cutOver ?? [])
      out(
        `cut over: at the domain's DNS provider, point ${record.name} (${record.type}) at ${record.value}${record.note ? ` (${record.note})` : ''}`,
      );
    // An offboarding: where its verified export is, and until when it is kept.
    const kept = results?.export as Partial<VerifiedExport> | undefined;
    if (kept?.key && kept.retainUntil)
      out(`export: ${kept.key} (kept until ${kept.retainUntil}; tenantctl restore ${label} brings it back)`);
  } else
    out(
      `${label}: ${e.status ?? ''} after ${seconds.toFixed(1)} s: ${e.error ?? ''}: ${errorMessage(e.cause)}`,
    );
}
