import { StartExecutionCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { LocalPlatformNames, PlatformNames } from '../common/names';
import { getJsonObject } from '../common/s3-json';
import { parseReleaseInput, ReleaseStates, type ReleaseInput, type ReleaseSummary } from '../common/release';
import { buildTenantApiArtifact, uploadTenantApiVersion } from '../local/bootstrap/artifacts';
import { followExecution, fullHistory } from './follow';
import { errorMessage, executionSummary } from './progress';
import { cliS3Client, resolveWorkflowTarget, type TargetOptions } from './target';

export interface ReleaseOptions extends TargetOptions {
  readonly version?: string;
  readonly canary?: string;
  readonly concurrency?: string;
  readonly maxFailures?: string;
  readonly waveSize?: string;
  readonly json?: boolean;
}

/** The command-line flag of each release input field, for error messages. */
const FLAGS: Record<string, string> = {
  version: '--version',
  canary: '--canary',
  concurrency: '--concurrency',
  maxFailures: '--max-failures',
  waveSize: '--wave-size',
};

/**
 * `tenantctl release`: locally, packages the working tree's tenant API as `cdk deploy` does (code,
 * migrations, frontend), uploads it under its content key and makes it the current version; with
 * `--version`, or `--aws`, releases a version already in the artifact bucket (on AWS: the one `cdk deploy`
 * made current). Starts the release and prints its waves and each tenant's outcome as they happen.
 * Exit code 0 only when it succeeded and no tenant failed.
 */
export async function release(options: ReleaseOptions, out: (line: string) => void): Promise<number> {
  const fields = {
    canary: intFlag(options.canary),
    concurrency: intFlag(options.concurrency),
    maxFailures: intFlag(options.maxFailures),
    waveSize: intFlag(options.waveSize),
  };
  // Checked before anything is built or uploaded; the version is checked once known.
  check({ ...fields, version: options.version ?? '0000000000000000' });
  const target = await resolveWorkflowTarget(options, 'release');
  const say = options.json ? () => undefined : out;
  let version = options.version;
  if (!version && !options.aws) {
    say('Packaging the tenant API of this working tree…');
    const artifact = await buildTenantApiArtifact();
    const s3 = await cliS3Client(options);
    try {
      // A copy stays in the state directory: the emulator forgets it when the platform restarts.
      await uploadTenantApiVersion(s3, artifact, options.stateDir);
    } finally {
      s3.destroy();
    }
    version = artifact.version;
    say(`Uploaded version ${version} (${artifact.key}); new tenants start on it from now on.`);
  }
  version ??= await currentVersion(options, target.artifactBucket ?? LocalPlatformNames.artifactBucket);
  const input = check({ ...fields, version });

  const started = await target.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: target.stateMachineArn,
      name: `release-${version}-${Date.now()}`,
      input: JSON.stringify(input),
    }),
  );
  const executionArn = started.executionArn ?? '';
  say(`Releasing ${version} (${executionArn})`);
  const ended = await followExecution(
    target.sfn,
    executionArn,
    options.json ? () => undefined : releasePrinter(say),
  );
  // The summary: the output, or for a stopped release the result of "Finish release".
  const summary =
    ended.status === 'SUCCEEDED'
      ? (JSON.parse(ended.output ?? 'null') as ReleaseSummary)
      : finishedSummary(await fullHistory(target.sfn, executionArn));
  const record = {
    status: (ended.status ?? 'FAILED') as 'SUCCEEDED',
    executionArn,
    startDate: ended.startDate ?? new Date(),
    stopDate: ended.stopDate,
    output: summary,
    error: ended.error,
    cause: ended.cause,
  };
  if (options.json) out(JSON.stringify(executionSummary(record), null, 2));
  // Refused before it planned anything (an unknown version): the error is all there is to say.
  else if (!summary)
    out(`Release ${version}: ${ended.status ?? ''}: ${ended.error ?? ''}: ${errorMessage(ended.cause)}`);
  else {
    const counts = `${summary.updated.length} updated, ${summary.unchanged.length} unchanged, ${summary.failed.length} failed, ${summary.notAttempted.length} not attempted`;
    out(`Release ${version}: ${ended.status ?? ''}: ${counts}`);
    if (ended.status !== 'SUCCEEDED') out(`  ${ended.error ?? ''}: ${errorMessage(ended.cause)}`);
    for (const f of summary.failed) out(`  ✗ ${f.tenantId}: ${f.error}`);
    for (const s of summary.skipped) out(`  - ${s.tenantId}: skipped: ${s.reason}`);
    if (summary.failed.length > 0 || summary.notAttempted.length > 0 || summary.notPlanned > 0)
      out(
        '  Fix what failed, then run the same release again: it touches only the tenants not on the version.',
      );
  }
  return ended.status === 'SUCCEEDED' && summary?.failed.length === 0 ? 0 : 1;
}

/** Prints the release as it goes: the plan, each wave, each tenant's outcome, a stop. */
export function releasePrinter(write: (line: string) => void): (event: HistoryEvent) => void {
  return (event) => {
    const exited = event.stateExitedEventDetails;
    const entered = event.stateEnteredEventDetails;
    const output = (): Record<string, unknown> =>
      JSON.parse(exited?.output ?? '{}') as Record<string, unknown>;
    if (event.type === 'MapStateEntered' && entered?.name === ReleaseStates.wave) {
      const state = JSON.parse(entered.input ?? '{}') as {
        wave: number;
        waves: string[][];
        release: ReleaseInput;
      };
      const label = state.wave === 0 && state.release.canary > 0 ? 'canary' : `wave ${state.wave}`;
      write(`${label}: ${state.waves[0]?.length ?? 0} tenant(s)`);
    } else if (event.type === 'TaskStateExited' && exited?.name === ReleaseStates.plan) {
      const { waves = [] } = output() as { waves?: string[][] };
      write(`Planned ${waves.flat().length} tenant(s) in ${waves.length} wave(s)`);
    } else if (event.type === 'TaskStateExited' && exited?.name === ReleaseStates.recordUpdated) {
      const o = output();
      write(
        `  ✓ ${String(o.tenantId)}: updated (Lambda version ${String(o.functionVersion)}, schema ${String(o.schemaVersion)})`,
      );
    } else if (
      (event.type === 'TaskStateExited' && exited?.name === ReleaseStates.keepOld) ||
      (event.type === 'PassStateExited' && exited?.name === ReleaseStates.keepOldFailed)
    ) {
      const o = output();
      write(`  ✗ ${String(o.tenantId)}: kept on its old version: ${String(o.error)}`);
    } else if (event.type === 'PassStateExited' && exited?.name === ReleaseStates.notUpdated) {
      const o = output();
      write(`  · ${String(o.tenantId)}: ${String(o.outcome)} (${String(o.reason)})`);
    } else if (event.type === 'TaskStateExited' && exited?.name === ReleaseStates.closeWave) {
      const { stopReason } = output() as { stopReason?: string };
      if (stopReason) write(`Stopping: ${stopReason}`);
    }
  };
}

function finishedSummary(events: HistoryEvent[]): ReleaseSummary | undefined {
  const finished = events.find(
    (e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === ReleaseStates.finish,
  );
  return finished
    ? (JSON.parse(finished.stateExitedEventDetails?.output ?? '{}') as { summary?: ReleaseSummary }).summary
    : undefined;
}

/** The version `tenant-api/current.json` names (on AWS: what the last `cdk deploy` uploaded). */
async function currentVersion(options: TargetOptions, Bucket: string): Promise<string> {
  const s3 = await cliS3Client(options);
  try {
    const current = await getJsonObject<{ version: string }>(s3, Bucket, PlatformNames.tenantApiCurrentKey);
    if (!current)
      throw new Error(`${Bucket} has no ${PlatformNames.tenantApiCurrentKey}: deploy the platform first`);
    return current.version;
  } finally {
    s3.destroy();
  }
}

function check(raw: Record<string, unknown>): ReleaseInput {
  const given = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  const parsed = parseReleaseInput(given);
  if (parsed.ok) return parsed.value;
  throw new Error(
    parsed.problems
      .map((p) => p.replace(/^(\w+):/, (all, field: string) => `${FLAGS[field] ?? field}:`))
      .join('; '),
  );
}

/** A whole-number flag as given; left as text when it is not one, so the check names the flag. */
function intFlag(value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  return /^-?\d+$/.test(value) ? Number(value) : value;
}
