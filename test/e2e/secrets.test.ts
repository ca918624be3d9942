import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import type { Fault } from '../../local/tasks/faults';
import type { ExecutionRecord, LocalPlatform } from '../../local/platform';
import { aws } from '../../workflow-tasks/lib/aws';
import { logger } from '../../workflow-tasks/lib/logger';
import { listTenants } from '../../workflow-tasks/records/registry';
import { eventSpy } from '../fixtures/event-spy';
import { startTestPlatform, tenantInput } from '../fixtures/platform';

// A live tenant, one whose rollback cannot finish (its secret stays, so its password can be searched for),
// one rolled back cleanly, and a duplicate onboarding: success, failure and error paths all log and emit.
const faults: Fault[] = [
  { tenantId: 'leak-stuck', step: 'deploy-function', kind: 'after-effect', times: 1 },
  { tenantId: 'leak-stuck', step: 'undo:store-secret', kind: 'permanent', times: 1 },
  { tenantId: 'leak-failed', step: 'publish-frontend', kind: 'after-effect', times: 1 },
  { tenantId: 'leak-live', step: 'create-database', kind: 'transient', times: 1 },
];

let platform: LocalPlatform;
let cleanup: () => Promise<void>;
const output: string[] = [];
const restore: (() => void)[] = [];

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform({ faults }));
  // Everything the task Lambdas log, at the most talkative level.
  logger.setLogLevel('DEBUG');
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = (chunk: string | Uint8Array, ...rest: never[]) => {
      // Kept for the search, not echoed: DEBUG logs of a dozen executions would bury the test report.
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      void rest;
      return true;
    };
    restore.push(() => (stream.write = write));
  }
});

afterAll(async () => {
  for (const undo of restore) undo();
  logger.setLogLevel('SILENT');
  await cleanup();
});

describe('generated passwords', () => {
  it('appear in no log line, execution history, output, event, registry row or error message', async () => {
    const spy = await eventSpy();
    const records: ExecutionRecord[] = [];
    for (const tenantId of ['leak-live', 'leak-stuck', 'leak-failed', 'leak-live']) {
      records.push(await platform.runExecution(tenantInput(tenantId, { domain: `${tenantId}.example.com` })));
    }
    expect(records.map((r) => r.error ?? r.status)).toEqual([
      'SUCCEEDED',
      'RollbackFailed',
      'InjectedFault',
      'TenantAlreadyRegistered',
    ]);

    // Every password the platform knows: the tenants' secrets that still exist, and the master user's.
    const { secrets, lambda } = aws();
    const listed = (await secrets.send(new ListSecretsCommand({}))).SecretList ?? [];
    const passwords: string[] = [];
    for (const secret of listed) {
      const value = await secrets.send(new GetSecretValueCommand({ SecretId: secret.ARN }));
      // The database password, and in a tenant's secret also the admin's initial password and the token key.
      const { password, adminPassword, tokenKey } = JSON.parse(value.SecretString ?? '{}') as Record<
        string,
        string | undefined
      >;
      passwords.push(...[password, adminPassword, tokenKey].filter((v): v is string => v !== undefined));
    }
    expect(listed.map((s) => s.Name).sort()).toEqual([
      'platform/shared-db/master',
      'tenants/leak-live/credentials',
      'tenants/leak-stuck/credentials',
    ]);
    expect(passwords).toHaveLength(1 + 2 * 3);

    const fn = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: 'tenant-leak-live-api' }),
    );
    const haystacks: Record<string, string> = {
      logs: output.join(''),
      executions: JSON.stringify(records),
      events: JSON.stringify(await spy.events()),
      registry: JSON.stringify(await listTenants()),
      functionConfiguration: JSON.stringify(fn),
    };
    spy.close();
    // The haystacks are real: the logs hold the steps' lines, the events the platform's events.
    expect(haystacks.logs).toContain('"message":"step succeeded"');
    expect(haystacks.logs).toContain('"message":"step failed"');
    expect(haystacks.events).toContain('TenantRollbackFailed');
    for (const password of passwords) {
      expect(password.length).toBeGreaterThanOrEqual(24);
      const found = Object.entries(haystacks)
        .filter(([, text]) => text.includes(password))
        .map(([where]) => where);
      expect(found).toEqual([]);
    }
  });
});
