import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  InvalidExecutionInput,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  type DescribeExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import { gatewayRequest } from '../../cli/describe';
import { fullHistory } from '../../cli/follow';
import { waitFor } from '../../local/processes/ports';
import { INJECTED_FAULT } from '../../local/tasks/faults';
import { startLocalServices, type LocalServices } from '../../cli/services';
import { handler as startSignup } from '../../workflow-tasks/signup/handler';
import { getTenant, listTenants } from '../../workflow-tasks/records/registry';
import { tenantInput, uniqueTenantId } from '../fixtures/platform';
import { makeStateDir } from '../fixtures/state-dir';
import { tenantApiRequest } from '../fixtures/tenant-api';

let stateDir: string;
let services: LocalServices;
let sfn: SFNClient;
let events: EventBridgeClient;
let stateMachineArn: string;

const credentials = { accessKeyId: 'any', secretAccessKey: 'any' };
/** Its onboarding fails at "Invalidate cache". */
const FAILS_LATE = 'fails-late';

beforeAll(async () => {
  stateDir = await makeStateDir('api');
  // "Deploy function" never answers for this tenant, so its execution is surely running when stopped.
  const faults = [
    { tenantId: 'stop-me', step: 'deploy-function', kind: 'timeout' as const, times: 1 },
    { tenantId: FAILS_LATE, step: 'invalidate-cache', kind: 'permanent' as const, times: 1 },
  ];
  // The stopped execution's hung task keeps the interpreter's task timer until it fires: keep that short,
  // so Jest is not held open after the run (20 s is ample for every step here).
  services = await startLocalServices({
    stateDir,
    port: 0,
    gatewayPort: 0,
    faults,
    maxTaskTimeoutSeconds: 20,
  });
  const { endpoints } = services;
  sfn = new SFNClient({ endpoint: endpoints.stepFunctions, region: endpoints.region, credentials });
  events = new EventBridgeClient({ endpoint: endpoints.events, region: endpoints.region, credentials });
  stateMachineArn = endpoints.stateMachineArn;
});

afterAll(async () => {
  sfn.destroy();
  events.destroy();
  await services.stop();
  await rm(stateDir, { recursive: true, force: true });
});

async function finished(executionArn: string): Promise<DescribeExecutionCommandOutput> {
  let described: DescribeExecutionCommandOutput | undefined;
  await waitFor(
    `${executionArn} to finish`,
    async () => {
      described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return described.status !== 'RUNNING';
    },
    60_000,
  );
  return described!;
}

async function start(input: unknown, name?: string): Promise<string> {
  const out = await sfn.send(
    new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
  );
  return out.executionArn!;
}

describe('the Step Functions API', () => {
  it('onboards a tenant started with StartExecution and describes it as AWS does', async () => {
    const tenantId = uniqueTenantId('api');
    const executionArn = await start(tenantInput(tenantId), `onboard-${tenantId}`);
    expect(executionArn).toBe(
      `${stateMachineArn.replace(':stateMachine:', ':execution:')}:onboard-${tenantId}`,
    );
    const described = await finished(executionArn);
    expect(described).toMatchObject({ status: 'SUCCEEDED', name: `onboard-${tenantId}`, stateMachineArn });
    expect(described.startDate).toBeInstanceOf(Date);
    expect(JSON.parse(described.output!)).toMatchObject({
      results: { activation: { tenantId, status: 'ACTIVE' } },
    });
  });

  it('returns the history with ids, previous ids and the AWS event types, page by page', async () => {
    const executionArn = await start(tenantInput(uniqueTenantId('history')));
    await finished(executionArn);
    const history = await fullHistory(sfn, executionArn);
    expect(history.map((e) => e.id)).toEqual(history.map((_, i) => i + 1));
    // Each event points back at an earlier one: a task's events along its own visit, as the branches of
    // "Build database and web" interleave theirs.
    const byId = new Map(history.map((e) => [e.id, e]));
    for (const e of history) expect(e.previousEventId).toBeLessThan(e.id!);
    const previousType = (type: string) =>
      history.filter((e) => e.type === type).map((e) => byId.get(e.previousEventId)?.type);
    expect(new Set(previousType('TaskStarted'))).toEqual(new Set(['TaskScheduled']));
    expect(new Set(previousType('TaskSucceeded'))).toEqual(new Set(['TaskStarted']));
    expect(new Set(previousType('TaskScheduled'))).toEqual(new Set(['TaskStateEntered']));
    expect(history[0]).toMatchObject({ type: 'ExecutionStarted' });
    expect(history.at(-1)).toMatchObject({ type: 'ExecutionSucceeded' });
    expect(history.slice(1, 6).map((e) => e.type)).toEqual([
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
    ]);
    expect(history[1]?.stateEnteredEventDetails?.name).toBe('Validate input');
    expect(history[0]?.timestamp).toBeInstanceOf(Date);

    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 5 }));
    expect(page.events).toHaveLength(5);
    expect(page.nextToken).toEqual(expect.any(String));
    const reversed = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1, reverseOrder: true }),
    );
    expect(reversed.events?.[0]?.type).toBe('ExecutionSucceeded');
  });

  it('records a failed onboarding with TaskFailed, the rollback and ExecutionFailed', async () => {
    // "Invalidate cache" fails for this tenant (an injected fault), after the steps before it to undo.
    const executionArn = await start(tenantInput(FAILS_LATE, { domain: `${FAILS_LATE}.example.org` }));
    const described = await finished(executionArn);
    expect(described).toMatchObject({ status: 'FAILED', error: INJECTED_FAULT });
    const history = await fullHistory(sfn, executionArn);
    expect(history.find((e) => e.type === 'TaskFailed')?.taskFailedEventDetails).toMatchObject({
      error: INJECTED_FAULT,
    });
    expect(
      history.filter((e) => e.type === 'TaskStateEntered').map((e) => e.stateEnteredEventDetails?.name),
    ).toContain('Rollback: delete secret');
    expect(history.at(-1)).toMatchObject({
      type: 'ExecutionFailed',
      executionFailedEventDetails: { error: INJECTED_FAULT },
    });

    const failed = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'FAILED' }));
    expect(failed.executions?.map((e) => e.executionArn)).toContain(executionArn);
    expect(failed.executions?.every((e) => e.status === 'FAILED')).toBe(true);
  });

  it('answers with the typed AWS errors the SDK raises', async () => {
    const tenantId = uniqueTenantId('dupe');
    const name = `onboard-${tenantId}`;
    await finished(await start(tenantInput(tenantId), name));
    await expect(start(tenantInput(tenantId), name)).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    await expect(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:nope`,
        }),
      ),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: `${stateMachineArn}-other`, input: '{}' })),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn, input: '{not json' })),
    ).rejects.toBeInstanceOf(InvalidExecutionInput);
    // Over 256 KiB: refused by the API; over 1 MiB: refused by the endpoint before it is parsed.
    const big = JSON.stringify({ ...tenantInput(uniqueTenantId('big')), pad: 'x'.repeat(300 * 1024) });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn, input: big }))).rejects.toBeInstanceOf(
      InvalidExecutionInput,
    );
    const huge = JSON.stringify({ pad: 'x'.repeat(1100 * 1024) });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn, input: huge }))).rejects.toMatchObject(
      {
        name: 'ValidationException',
        $metadata: { httpStatusCode: 413 },
      },
    );
  });

  it('stops a running execution with StopExecution, recording the error and cause given', async () => {
    const executionArn = await start(tenantInput('stop-me'));
    await waitFor(
      'the execution to reach "Deploy function"',
      async () =>
        (await fullHistory(sfn, executionArn)).some(
          (e) => e.stateEnteredEventDetails?.name === 'Deploy function',
        ),
      30_000,
    );
    const stopped = await sfn.send(
      new StopExecutionCommand({ executionArn, error: 'Operator', cause: 'wrong customer' }),
    );
    expect(stopped.stopDate).toBeInstanceOf(Date);
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn }))).toMatchObject({
      status: 'ABORTED',
      error: 'Operator',
      cause: 'wrong customer',
    });
    expect((await fullHistory(sfn, executionArn)).at(-1)?.type).toBe('ExecutionAborted');
    const aborted = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'ABORTED' }));
    expect(aborted.executions?.map((e) => e.executionArn)).toEqual([executionArn]);
  });

  it('lists and describes the state machine with its ASL', async () => {
    const listed = await sfn.send(new ListStateMachinesCommand({}));
    expect(listed.stateMachines).toEqual([
      expect.objectContaining({ stateMachineArn, name: 'tenant-onboarding', type: 'STANDARD' }),
      expect.objectContaining({
        stateMachineArn: stateMachineArn.replace('tenant-onboarding', 'tenant-release'),
        name: 'tenant-release',
        type: 'STANDARD',
      }),
      expect.objectContaining({ name: 'tenant-suspension', type: 'STANDARD' }),
      expect.objectContaining({ name: 'tenant-offboarding', type: 'STANDARD' }),
      expect.objectContaining({ name: 'tenant-cleanup', type: 'STANDARD' }),
      expect.objectContaining({ name: 'tenant-domain', type: 'STANDARD' }),
      expect.objectContaining({ name: 'tenant-capacity', type: 'STANDARD' }),
      expect.objectContaining({ name: 'tenant-move', type: 'STANDARD' }),
    ]);
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
    const definition = JSON.parse(described.definition!) as {
      StartAt: string;
      States: Record<string, unknown>;
    };
    expect(definition.StartAt).toBe('Validate input');
    expect(Object.keys(definition.States)).toContain('Rollback: drop database');
  });

  it('works from the aws CLI with --endpoint-url', async () => {
    const tenantId = uniqueTenantId('awscli');
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        'aws',
        [
          'stepfunctions',
          'start-execution',
          '--endpoint-url',
          services.endpoints.stepFunctions,
          '--region',
          services.endpoints.region,
          '--state-machine-arn',
          stateMachineArn,
          '--input',
          JSON.stringify(tenantInput(tenantId)),
          '--output',
          'json',
        ],
        {
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: 'any',
            AWS_SECRET_ACCESS_KEY: 'any',
            AWS_ENDPOINT_URL: '',
          },
        },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
      ),
    );
    const { executionArn } = JSON.parse(stdout) as { executionArn: string };
    expect(await finished(executionArn)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await getTenant(tenantId)).toMatchObject({ status: 'ACTIVE', executionArn });
  });
});

describe('EventBridge PutEvents', () => {
  const signedUp = (detail: unknown) => ({
    Source: 'shop.signup',
    DetailType: 'TenantSignedUp',
    EventBusName: 'tenant-platform',
    Detail: JSON.stringify(detail),
  });

  async function executionsFor(tenantId: string) {
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000 }));
    const all = await Promise.all(
      (listed.executions ?? []).map((e) =>
        sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn })),
      ),
    );
    return all.filter((e) => (JSON.parse(e.input ?? '{}') as { tenantId?: string }).tenantId === tenantId);
  }

  it('onboards the tenant of a TenantSignedUp event, and a duplicate event creates no second one', async () => {
    const tenantId = uniqueTenantId('signup');
    const first = await events.send(new PutEventsCommand({ Entries: [signedUp(tenantInput(tenantId))] }));
    expect(first.FailedEntryCount).toBe(0);
    await waitFor(
      `${tenantId} to be ACTIVE`,
      async () => (await getTenant(tenantId))?.status === 'ACTIVE',
      60_000,
    );
    const owner = (await getTenant(tenantId))?.executionArn;

    const second = await events.send(new PutEventsCommand({ Entries: [signedUp(tenantInput(tenantId))] }));
    expect(second.FailedEntryCount).toBe(0);
    await waitFor(
      `the duplicate onboarding of ${tenantId} to end`,
      async () => {
        const runs = await executionsFor(tenantId);
        return runs.length === 2 && runs.every((r) => r.status !== 'RUNNING');
      },
      60_000,
    );
    const runs = await executionsFor(tenantId);
    expect(runs.map((r) => [r.status, r.error]).sort()).toEqual([
      ['FAILED', 'TenantAlreadyRegistered'],
      ['SUCCEEDED', undefined],
    ]);
    expect((await listTenants()).filter((t) => t.id === tenantId)).toHaveLength(1);
    expect(await getTenant(tenantId)).toMatchObject({ status: 'ACTIVE', executionArn: owner });
  });

  it('starts one onboarding for an event EventBridge delivers twice (the same event id), named for it', async () => {
    const tenantId = uniqueTenantId('redelivered');
    const event = { id: randomUUID(), 'detail-type': 'TenantSignedUp', detail: tenantInput(tenantId) };
    // The rule's target, as Lambda runs it: twice for one event, while it runs and after it ended.
    const first = await startSignup(event);
    expect(first.executionName).toMatch(new RegExp(`^onboard-${tenantId}-[0-9a-f]{12}$`));
    expect(await startSignup(event)).toEqual(first);
    await waitFor(
      `${tenantId} to be ACTIVE`,
      async () => (await getTenant(tenantId))?.status === 'ACTIVE',
      60_000,
    );
    expect(await startSignup(event)).toEqual(first);
    // The tenant is ACTIVE at "Activate tenant"; its execution ends a step later ("Attach domain").
    await waitFor(
      `the onboarding of ${tenantId} to end`,
      async () => (await executionsFor(tenantId)).every((r) => r.status !== 'RUNNING'),
      60_000,
    );
    const runs = await executionsFor(tenantId);
    expect(runs.map((r) => [r.name, r.status])).toEqual([[first.executionName, 'SUCCEEDED']]);
  });

  it('offboards the tenant of a TenantOffboardingRequested event', async () => {
    const tenantId = uniqueTenantId('leaving');
    const onboarded = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(tenantInput(tenantId)) }),
    );
    await waitFor(
      `${tenantId} to be ACTIVE`,
      async () =>
        (await sfn.send(new DescribeExecutionCommand({ executionArn: onboarded.executionArn }))).status !==
        'RUNNING',
      60_000,
    );
    expect((await getTenant(tenantId))?.status).toBe('ACTIVE');
    const sent = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'shop.billing',
            DetailType: 'TenantOffboardingRequested',
            EventBusName: 'tenant-platform',
            Detail: JSON.stringify({ tenantId }),
          },
        ],
      }),
    );
    expect(sent.FailedEntryCount).toBe(0);
    await waitFor(
      `${tenantId} to be OFFBOARDED`,
      async () => (await getTenant(tenantId))?.status === 'OFFBOARDED',
      60_000,
    );
    // The registry says OFFBOARDED from the last task on; the execution ends just after it.
    const offboardingsOf = async () =>
      (
        await sfn.send(
          new ListExecutionsCommand({
            stateMachineArn: stateMachineArn.replace('tenant-onboarding', 'tenant-offboarding'),
          }),
        )
      ).executions ?? [];
    await waitFor(
      `the offboarding of ${tenantId} to end`,
      async () => (await offboardingsOf()).every((e) => e.status !== 'RUNNING'),
      60_000,
    );
    expect((await offboardingsOf()).map((e) => e.status)).toContain('SUCCEEDED');
  });

  it('accepts other events without starting anything, and reports malformed ones in FailedEntries', async () => {
    const before = (await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000 })))
      .executions?.length;
    const out = await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'shop', DetailType: 'OrderPlaced', EventBusName: 'tenant-platform', Detail: '{}' },
          { ...signedUp(tenantInput(uniqueTenantId('other-bus'))), EventBusName: 'default' },
          {
            Source: 'shop',
            DetailType: 'TenantSignedUp',
            EventBusName: 'tenant-platform',
            Detail: 'not json',
          },
          { Source: 'shop', DetailType: 'TenantSignedUp', EventBusName: 'tenant-platform', Detail: '[1, 2]' },
          { DetailType: 'TenantSignedUp', EventBusName: 'tenant-platform', Detail: '{}' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(3);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'ok',
      'MalformedDetail',
      'MalformedDetail',
      'InvalidArgument',
    ]);
    expect(out.Entries?.[4]?.ErrorMessage).toContain('Source');
    const after = (await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000 })))
      .executions?.length;
    expect(after).toBe(before);
  });
});

describe('the tenant gateway', () => {
  it("serves each tenant's API by Host, from that tenant's own function and database", async () => {
    const [a, b] = [uniqueTenantId('gw-a'), uniqueTenantId('gw-b')];
    const domain = `${b}.example.com`;
    await Promise.all([
      finished(await start(tenantInput(a))),
      finished(await start(tenantInput(b, { domain }))),
    ]);
    const gateway = services.endpoints.gateway;

    const healthA = await tenantApiRequest(gateway, `api.${a}.localhost`, '/health');
    expect([healthA.status, JSON.parse(healthA.body)]).toEqual([
      200,
      { tenantId: a, database: 'ok', schemaVersion: 3, suspended: false },
    ]);
    const healthB = await tenantApiRequest(gateway, `api.${b}.localhost`, '/health');
    expect(JSON.parse(healthB.body)).toMatchObject({ tenantId: b });
    // Its own domain is served once the customer's records are in place (domains.test.ts), not before.
    expect((await gatewayRequest(gateway, `api.${domain}`, '/health')).status).toBe(404);
    expect(
      (await gatewayRequest(gateway, `api.${uniqueTenantId('nobody')}.localhost`, '/health')).status,
    ).toBe(404);
  });

  it("answers CORS as the tenant's HTTP API is configured, so its frontend may call it from another origin", async () => {
    const tenantId = uniqueTenantId('cors');
    await finished(await start(tenantInput(tenantId)));
    const gateway = services.endpoints.gateway;
    const origin = `http://${tenantId}.localhost:${new URL(gateway).port}`;
    const preflight = await gatewayRequest(gateway, `api.${tenantId}.localhost`, '/health', {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-allow-headers': 'authorization,content-type',
    });
    const health = await tenantApiRequest(gateway, `api.${tenantId}.localhost`, '/health', {
      headers: { origin },
    });
    expect([health.status, health.headers['access-control-allow-origin']]).toEqual([200, '*']);
  });

  it("serves the frontend at <tenant>.localhost, whose config.json names that tenant's API", async () => {
    const tenantId = uniqueTenantId('site');
    const described = await finished(await start(tenantInput(tenantId)));
    const apiEndpoint = (JSON.parse(described.output!) as { results: { function: { apiEndpoint: string } } })
      .results.function.apiEndpoint;
    const gateway = services.endpoints.gateway;
    const config = await gatewayRequest(gateway, `${tenantId}.localhost`, '/config.json');
    expect(JSON.parse(config.body)).toEqual({
      tenantId,
      companyName: `Company ${tenantId}`,
      apiUrl: apiEndpoint,
    });
    const page = await gatewayRequest(gateway, `${tenantId}.localhost`, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="app.js"></script>');
    expect((await gatewayRequest(gateway, `${tenantId}.localhost`, '/../../etc/passwd')).status).not.toBe(
      200,
    );
  });
});
