import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  DescribeStateMachineForExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  StartExecutionCommand,
  type ExecutionListItem,
  type ExecutionStatus,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { build } from 'esbuild';
import { fullHistory } from '../cli/follow';
import { inBatches } from '../common/in-batches';
import { tenantIdOfInput } from '../common/tenant-input';
import { LoopbackServer, readBody } from '../local/http';
import { ActionRefused, actionsFor, startAction, TENANT_ACTIONS, type TenantAction } from './actions';
import { Fleet } from './fleet';
import type { TenantSource } from './registry';

const APP_DIR = join(__dirname, 'app');
const PAGE_SIZE = 100;
/** Executions scanned per state machine for a tenant's page (the newest). */
const TENANT_SCAN = 1000;
const MAX_BODY_BYTES = 256 * 1024;

/**
 * The console: its pages (one esbuild bundle of console/app, built on first use) and `/api/*`, answered by
 * asking the Step Functions API with the client it is given, as the aws CLI would: locally the platform's
 * endpoint, with `tenantctl console --aws` the user's account. Read-only but for StartExecution. Requests
 * must name this machine as Host (no DNS rebinding) and the writing one carries `x-console` (a page elsewhere
 * cannot send it without a preflight, which is never answered).
 */
export class ConsoleHandler {
  private bundle?: Promise<string>;
  /** The tenant an execution concerns, by ARN: its input never changes. */
  private readonly tenantOf = new Map<string, string | null>();

  private readonly fleet: Fleet;
  private readonly workflows: Readonly<Record<string, string>>;
  private readonly awsRegion?: string;

  constructor(
    private readonly sfn: SFNClient,
    private readonly tenantSource: TenantSource,
    /** The platform's state machines by workflow name, and CloudWatch for the alarms. */
    platform: {
      workflows: Readonly<Record<string, string>>;
      cloudwatch: CloudWatchClient;
      /** Served against an AWS account (`--aws`): its region, for links to the AWS console's pages. */
      awsRegion?: string;
    },
  ) {
    this.awsRegion = platform.awsRegion;
    this.workflows = platform.workflows;
    this.fleet = new Fleet(sfn, platform.workflows, platform.cloudwatch, (items) => this.withTenants(items));
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
    if (!['localhost', '127.0.0.1'].includes(host)) return json(res, 421, { message: 'Misdirected request' });
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (url.pathname.startsWith('/api/')) return await this.api(req, res, url, String(req.headers.host));
      if (url.pathname === '/assets/console.js')
        return send(res, 200, 'text/javascript; charset=utf-8', await this.script());
      if (url.pathname === '/assets/console.css')
        return send(res, 200, 'text/css; charset=utf-8', await readFile(join(APP_DIR, 'style.css'), 'utf8'));
      if (req.method !== 'GET') return json(res, 405, { message: 'Method Not Allowed' });
      if (!PAGES.test(url.pathname))
        return send(res, 404, 'text/html; charset=utf-8', noSuchPage(url.pathname));
      send(res, 200, 'text/html; charset=utf-8', SHELL);
    } catch (error) {
      const e = error as Error & { $metadata?: { httpStatusCode?: number } };
      // The API refused the request (a bad input, an unknown ARN), or our own parse of its body failed.
      const refused =
        (e.$metadata?.httpStatusCode ?? 500) < 500 || e instanceof SyntaxError || e instanceof URIError;
      const status = refused ? 400 : 502;
      json(res, status, { error: e.name, message: e.message });
    }
  }

  private async api(req: IncomingMessage, res: ServerResponse, url: URL, host: string): Promise<void> {
    const path = url.pathname;
    const q = url.searchParams;
    if (req.method === 'POST' && !fromConsolePage(req))
      return json(res, 403, { message: 'Start executions from the console page' });
    const action = TENANT_ACTION_PATH.exec(path);
    if (req.method === 'POST' && action) {
      const tenantId = decodeURIComponent(action[1] ?? '');
      const tenant =
        'unavailable' in this.tenantSource ? undefined : await this.tenantSource.tenant(tenantId, host);
      if (!tenant) return json(res, 404, { message: `there is no tenant ${tenantId}` });
      try {
        const executionArn = await startAction(this.sfn, this.workflows, tenant, action[2] as TenantAction);
        return json(res, 200, { executionArn });
      } catch (error) {
        if (error instanceof ActionRefused) return json(res, 409, { message: error.message });
        throw error;
      }
    }
    if (req.method === 'POST' && path === '/api/executions') {
      const raw = await readBody(req, MAX_BODY_BYTES);
      if (!raw) return json(res, 413, { message: 'The input is too large' });
      const body = JSON.parse(raw.toString('utf8')) as {
        stateMachineArn?: string;
        input?: string;
        name?: string;
      };
      const started = await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: body.stateMachineArn,
          input: body.input,
          name: body.name,
        }),
      );
      return json(res, 200, { executionArn: started.executionArn });
    }
    if (req.method !== 'GET') return json(res, 405, { message: 'Method Not Allowed' });
    if (path === '/api/state-machines') {
      const listed = await this.sfn.send(new ListStateMachinesCommand({}));
      return json(res, 200, { stateMachines: listed.stateMachines ?? [] });
    }
    if (path === '/api/executions') {
      const listed = await this.sfn.send(
        new ListExecutionsCommand({
          stateMachineArn: q.get('stateMachineArn') ?? undefined,
          statusFilter: (q.get('status') || undefined) as ExecutionStatus | undefined,
          nextToken: q.get('nextToken') || undefined,
          maxResults: PAGE_SIZE,
        }),
      );
      return json(res, 200, {
        executions: await this.withTenants(listed.executions ?? []),
        nextToken: listed.nextToken,
      });
    }
    if (path === '/api/execution') {
      const executionArn = q.get('arn') ?? '';
      const [described, machine, events] = await Promise.all([
        this.sfn.send(new DescribeExecutionCommand({ executionArn })),
        this.sfn.send(new DescribeStateMachineForExecutionCommand({ executionArn })),
        fullHistory(this.sfn, executionArn),
      ]);
      return json(res, 200, {
        execution: { ...described, $metadata: undefined, tenantId: tenantIdOfInput(described.input) },
        definition: JSON.parse(machine.definition ?? '{"States":{}}') as unknown,
        events,
      });
    }
    if (path === '/api/tenants') {
      if ('unavailable' in this.tenantSource)
        return json(res, 200, { unavailable: this.tenantSource.unavailable });
      return json(res, 200, { tenants: await this.tenantSource.tenants(host) });
    }
    if (path === '/api/fleet') return json(res, 200, await this.fleet.view(this.tenantSource, host));
    if (path.startsWith('/api/tenants/')) {
      const tenantId = decodeURIComponent(path.slice('/api/tenants/'.length));
      const tenant =
        'unavailable' in this.tenantSource ? undefined : await this.tenantSource.tenant(tenantId, host);
      return json(res, 200, {
        tenant,
        awsRegion: this.awsRegion,
        actions: tenant ? actionsFor(tenant) : [],
        executions: await this.executionsOf(tenantId, tenant?.releases.map((r) => r.release) ?? []),
      });
    }
    json(res, 404, { message: 'Not Found' });
  }

  /**
   * Every execution (the newest TENANT_SCAN of each of the platform's state machines) whose input names the tenant, and the
   * releases that concerned it (a release's input names no tenant: the ledger says which it planned).
   */
  private async executionsOf(
    tenantId: string,
    releaseArns: string[],
  ): Promise<(ExecutionListItem & { tenantId: string | null })[]> {
    const releases = new Set(releaseArns);
    const found: (ExecutionListItem & { tenantId: string | null })[] = [];
    for (const stateMachineArn of Object.values(this.workflows)) {
      let nextToken: string | undefined;
      let scanned = 0;
      do {
        const page = await this.sfn.send(
          new ListExecutionsCommand({
            stateMachineArn,
            nextToken,
            maxResults: PAGE_SIZE,
          }),
        );
        for (const e of await this.withTenants(page.executions ?? [])) {
          if (e.tenantId === tenantId) found.push(e);
          else if (releases.has(e.executionArn ?? '')) found.push({ ...e, tenantId });
        }
        scanned += page.executions?.length ?? 0;
        nextToken = page.nextToken;
      } while (nextToken && scanned < TENANT_SCAN);
    }
    return found.sort((a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0));
  }

  /** The executions with the tenant each concerns (its input's tenantId), 16 DescribeExecution at a time. */
  private async withTenants(
    executions: ExecutionListItem[],
  ): Promise<(ExecutionListItem & { tenantId: string | null })[]> {
    const unknown = executions.filter((e) => !this.tenantOf.has(e.executionArn ?? ''));
    await inBatches(unknown, 16, async (e) => {
      const described = await this.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
      this.tenantOf.set(e.executionArn ?? '', tenantIdOfInput(described.input));
    });
    return executions.map((e) => ({ ...e, tenantId: this.tenantOf.get(e.executionArn ?? '') ?? null }));
  }

  private script(): Promise<string> {
    this.bundle ??= build({
      entryPoints: [join(APP_DIR, 'main.ts')],
      bundle: true,
      write: false,
      minify: true,
      format: 'iife',
      target: 'es2020',
      logLevel: 'silent',
    }).then((out) => out.outputFiles[0]!.text);
    return this.bundle;
  }
}

/** `tenantctl console`: the console on its own port of 127.0.0.1. */
export class ConsoleServer extends LoopbackServer {
  constructor(private readonly console: ConsoleHandler) {
    super();
  }

  protected handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.console.handle(req, res);
  }
}

/**
 * The pages console/app/main.ts routes: the home (the fleet), the tenants, one tenant, the state machines,
 * one state machine, an execution.
 */
const PAGES = /^\/(?:|tenants|state-machines|(?:tenants|state-machines|executions)\/[^/]+)$/;
const TENANT_ACTION_PATH = new RegExp(`^/api/tenants/([^/]+)/actions/(${TENANT_ACTIONS.join('|')})$`);

/**
 * A request that writes must come from the console's own page: it carries `x-console` and a JSON body,
 * which a page on another site cannot send without a preflight (never answered).
 */
function fromConsolePage(req: IncomingMessage): boolean {
  return (
    req.headers['x-console'] === '1' && String(req.headers['content-type']).startsWith('application/json')
  );
}

/** An unknown path: said so, with the way home (the path shown escaped). */
function noSuchPage(path: string): string {
  const shown = path.slice(0, 200).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>No such page</title><link rel="stylesheet" href="/assets/console.css"></head>
<body><main><h1>No such page</h1><p>The console has no page <code>${shown}</code>.</p><p><a href="/">The console's home</a></p></main></body>
</html>
`;
}

const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tenant platform console</title>
<link rel="stylesheet" href="/assets/console.css">
</head>
<body>
<div id="app"><p>Loading…</p></div>
<script src="/assets/console.js"></script>
</body>
</html>
`;

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-security-policy': "default-src 'self'; style-src 'self'; img-src 'self' data:",
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', JSON.stringify(body));
}
