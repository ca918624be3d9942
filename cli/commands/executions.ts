import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  type ExecutionListItem,
  type ExecutionStatus,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { type Command, Option } from 'commander';
import { resolve } from 'node:path';
import { inBatches } from '../../common/in-batches';
import { tenantIdOfInput } from '../../common/tenant-input';
import { checkedTenantId, json, out, targetOptions, type CommonOptions } from '../options';
import { colourFor, duration, statusTone, table } from '../table';
import { relativeTime } from '../../common/relative-time';
import { readRegistry } from '../registry';
import { controlPlaneOf, resolveAllWorkflows, WORKFLOWS, type Workflow } from '../target';
import { queryTenantReleases } from '../../workflow-tasks/records/release-ledger';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];
const DEFAULT_LIMIT = 50;

/** An execution as `tenantctl executions` lists it: the workflow it belongs to and the tenant it concerns. */
interface Listed extends ExecutionListItem {
  readonly workflow: Workflow;
  /** Its input's tenantId; a release concerns the fleet and has none (null). */
  readonly tenantId: string | null;
}

/** `tenantctl executions [--workflow W] [--tenant T] [--status S] [--limit N]`: every workflow's, newest first. */
export function executionsCommand(program: Command): void {
  targetOptions(
    program
      .command('executions')
      .description(
        'Executions of every workflow (onboarding, release, suspension, offboarding, cleanup, domain, capacity, move), newest first, with the tenant each concerns',
      )
      .addOption(new Option('--workflow <name>', 'only this workflow').choices(Object.keys(WORKFLOWS)))
      .option('--tenant <tenantId>', 'only those whose input names this tenant')
      .addOption(new Option('--status <status>', 'only executions with this status').choices(STATUSES))
      .option('--limit <n>', `at most this many (default ${DEFAULT_LIMIT})`),
  ).action(
    async (
      options: CommonOptions & {
        workflow?: Workflow;
        tenant?: string;
        status?: ExecutionStatus;
        limit?: string;
      },
    ) => {
      if (options.tenant !== undefined) checkedTenantId('--tenant', options.tenant);
      const limit = options.limit === undefined ? DEFAULT_LIMIT : Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new Error('--limit: a whole number from 1 to 1000');
      const { sfn, stateMachines } = await resolveAllWorkflows(options);
      try {
        const known = Object.keys(stateMachines) as Workflow[];
        const workflows = options.workflow ? known.filter((w) => w === options.workflow) : known;
        const about = options.tenant
          ? { tenantId: options.tenant, releases: await releasesConcerning(options, options.tenant) }
          : undefined;
        const listed = await listExecutions(sfn, workflows, stateMachines, options.status, about, limit);
        if (options.json) return json(listed);
        const now = new Date();
        for (const line of table(
          listed,
          [
            { header: 'STATUS', cell: (e) => e.status ?? '', tone: (e) => statusTone(e.status) },
            { header: 'WORKFLOW', cell: (e) => e.workflow },
            { header: 'TENANT', cell: (e) => e.tenantId ?? '-' },
            { header: 'STARTED', cell: (e) => relativeTime(e.startDate, now) },
            {
              header: 'TOOK',
              cell: (e) =>
                e.startDate
                  ? `${duration((e.stopDate ?? now).getTime() - e.startDate.getTime())}${e.stopDate ? '' : ' so far'}`
                  : '-',
            },
            { header: 'NAME', cell: (e) => e.name ?? '' },
            { header: 'ARN', cell: (e) => e.executionArn ?? '' },
          ],
          colourFor(),
        ))
          out(line);
      } finally {
        sfn.destroy();
      }
    },
  );
}

/** The execution ARNs of the releases that concerned a tenant: the release ledger (on AWS, through the control plane). */
async function releasesConcerning(options: CommonOptions, tenantId: string): Promise<Set<string>> {
  const stateDir = resolve(options.stateDir);
  if (options.aws)
    return new Set(await (await controlPlaneOf({ ...options, stateDir })).releasesOf(tenantId));
  const releases = await readRegistry({ stateDir }, (client) => queryTenantReleases(client, tenantId));
  return new Set(releases.map((r) => r.release));
}

/**
 * The newest `limit` executions of `workflows` (each state machine's newest `limit`, merged), with the
 * tenant each concerns read from its input (DescribeExecution, 16 at a time); with `about`, only those
 * whose input names the tenant and the releases that concerned it (the scan then lists each state
 * machine's newest 1,000 and reads the inputs only of those that may concern it).
 */
async function listExecutions(
  sfn: SFNClient,
  workflows: Workflow[],
  stateMachines: Partial<Record<Workflow, string>>,
  status: ExecutionStatus | undefined,
  about: { tenantId: string; releases: Set<string> } | undefined,
  limit: number,
): Promise<Listed[]> {
  const tenant = about?.tenantId;
  const perMachine = tenant ? 1000 : limit;
  const lists = await Promise.all(
    workflows.map(async (workflow) => {
      const { executions = [] } = await sfn.send(
        new ListExecutionsCommand({
          stateMachineArn: stateMachines[workflow],
          statusFilter: status,
          maxResults: perMachine,
        }),
      );
      return executions.map((e) => ({ ...e, workflow }));
    }),
  );
  const newest = lists
    .flat()
    .sort((a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0))
    .slice(0, tenant ? undefined : limit);
  if (!about)
    return inBatches(newest, 16, async (e): Promise<Listed> => ({ ...e, tenantId: await tenantOf(sfn, e) }));
  // About one tenant: its releases are known from the ledger, and an execution named as the platform names
  // them (`<operation>-<tenantId>[-...]`) for another tenant is not read, so the scan reads few inputs.
  const candidates = newest.filter(
    (e) =>
      about.releases.has(e.executionArn ?? '') ||
      (e.name ?? '').includes(about.tenantId) ||
      !PLATFORM_NAMED.test(e.name ?? ''),
  );
  const concerning = await inBatches(candidates, 16, async (e): Promise<Listed | undefined> => {
    if (about.releases.has(e.executionArn ?? '')) return { ...e, tenantId: about.tenantId };
    const tenantId = await tenantOf(sfn, e);
    return tenantId === about.tenantId ? { ...e, tenantId } : undefined;
  });
  return concerning.filter((e): e is Listed => e !== undefined).slice(0, limit);
}

/** The names tenantctl, the console and the signup rule give: the operation, then the tenant id. */
const PLATFORM_NAMED = /^(onboard|restore|suspend|resume|offboard)-[a-z]/;

/** The tenant an execution concerns: its input's tenantId (null for a release, which concerns the fleet). */
async function tenantOf(sfn: SFNClient, e: ExecutionListItem): Promise<string | null> {
  const { input } = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
  return tenantIdOfInput(input);
}
