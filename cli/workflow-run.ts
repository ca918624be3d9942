import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type DescribeExecutionCommandOutput, type SFNClient } from '@aws-sdk/client-sfn';
import { startAttempt, tenantLabel } from './attempts';
import { followExecution } from './follow';
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
 * `tenantctl suspend|resume|offboard`: one execution of that workflow for one tenant, followed to its end
 * (`quiet`: only the final line, for `offboard --all`).
 */
export async function runWorkflow(
  workflow: 'suspension' | 'offboarding',
  input: { tenantId: string; action?: string },
  verb: string,
  options: CommonOptions & { quiet?: boolean },
): Promise<number> {
  checkedTenantId('tenantId', input.tenantId);
  const { sfn, stateMachineArn } = await resolveWorkflowTarget(
    { ...options, stateDir: resolve(options.stateDir) },
    workflow,
  );
  const operation = workflow === 'offboarding' ? 'offboard' : (input.action ?? 'suspend');
  const executionArn = await startAttempt(sfn, stateMachineArn, operation, input);
  return followAndReport(sfn, executionArn, verb, input.tenantId.slice(0, 40), options);
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
  options: { json?: boolean; quiet?: boolean },
): Promise<number> {
  const say = (line: string) => {
    if (!options.json && !options.quiet) out(line);
  };
  say(`${verb} ${label} (${executionArn})`);
  const ended = await followExecution(
    sfn,
    executionArn,
    options.json || options.quiet ? () => undefined : progressPrinter(say),
  );
  report(label, ended, options);
  return ended.status === 'SUCCEEDED' ? 0 : 1;
}

/**
 * StartExecution on the target (`onboard-<id>[-N]`, or `restore-<id>[-N]` for an input with `restoreFrom`),
 * then live progress from its history. Exit code 0 only on success.
 */
export async function onboardThrough(
  target: Target,
  input: unknown,
  options: { json?: boolean },
): Promise<{ exitCode: number; executionArn: string }> {
  const restoring = typeof (input as { restoreFrom?: unknown } | null)?.restoreFrom === 'string';
  const executionArn = await startAttempt(
    target.sfn,
    target.stateMachineArn,
    restoring ? 'restore' : 'onboard',
    input,
  );
  const exitCode = await followAndReport(target.sfn, executionArn, 'Onboarding', tenantLabel(input), options);
  return { exitCode, executionArn };
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
    // An offboarding: where its verified export is, and until when it is kept.
    const kept = results?.export as Partial<VerifiedExport> | undefined;
    if (kept?.key && kept.retainUntil)
      out(`export: ${kept.key} (kept until ${kept.retainUntil}; tenantctl restore ${label} brings it back)`);
  } else
    out(
      `${label}: ${e.status ?? ''} after ${seconds.toFixed(1)} s: ${e.error ?? ''}: ${errorMessage(e.cause)}`,
    );
}
