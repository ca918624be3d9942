import { spawn } from 'node:child_process';
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { localConsole } from '../../console/local';
import { LocalGateway } from '../../local/gateway/gateway';
import { waitFor } from '../../local/processes/ports';
import type { LocalPlatform } from '../../local/platform';
import { launchBrowser } from '../fixtures/browser';
import { tenantctl } from '../fixtures/processes';
import { ControlPlaneClient } from '../../cli/control-plane';
import { settledDomain, startTestPlatform, tenantInput } from '../fixtures/platform';
import { LOCAL_ROUTING_ENDPOINT } from '../../local/cloudfront/saas-manager';
import { runRelease, uploadVersion } from '../fixtures/releases';
import { getTenant, listTenants } from '../../workflow-tasks/records/registry';
import { eventually } from '../fixtures/executions';

/** Where the test run writes the execution page's screenshots (the README shows one). */
const REPO = join(__dirname, '..', '..');
const SCREENSHOTS = join(REPO, 'docs', 'screenshots');

const ok = 'console-ok';
const rolledBack = 'console-rollback';
const slow = 'console-slow';
const gone = 'console-gone';
const stuck = 'console-stuck';
const busy = 'console-busy';
const faults = [
  { tenantId: rolledBack, step: 'publish-frontend', kind: 'permanent' as const, times: 1 },
  // Never answers: the step runs until its (capped) timeout, then the onboarding is rolled back.
  { tenantId: slow, step: 'deploy-function', kind: 'timeout' as const, times: 1 },
  { tenantId: busy, step: 'deploy-function', kind: 'timeout' as const, times: 1 },
  // Its undo fails too: ROLLBACK_FAILED.
  { tenantId: stuck, step: 'apply-schema', kind: 'permanent' as const, times: 1 },
  { tenantId: stuck, step: 'undo:create-database', kind: 'permanent' as const, times: 1 },
];

let platform: LocalPlatform;
let cleanup: () => Promise<void>;
let gateway: LocalGateway;
let consoleUrl: string;
let browser: Browser;
let page: Page;
const arns: Record<string, string> = {};

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform({ faults, maxTaskTimeoutSeconds: 4 }));
  gateway = new LocalGateway(platform, undefined, localConsole(platform.endpointUrl, platform.workflowArns));
  consoleUrl = `http://localhost:${await gateway.listen(0)}/`;
  for (const tenantId of [ok, rolledBack]) {
    const record = await platform.runExecution(tenantInput(tenantId), { name: `onboard-${tenantId}` });
    arns[tenantId] = record.executionArn;
  }
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
  await mkdir(SCREENSHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await cleanup?.();
});

const executionPage = (arn: string) => `${consoleUrl}executions/${encodeURIComponent(arn)}`;

/** Every state node's status, by state name. */
function statuses(): Promise<Record<string, string>> {
  return page.$$eval(
    '[data-state]',
    (nodes) =>
      Object.fromEntries(
        nodes.map((n) => [n.getAttribute('data-state') ?? '', n.getAttribute('data-status') ?? '']),
      ) as Record<string, string>,
  );
}

const ROLLBACKS = [
  'Rollback: mark tenant rolled back',
  'Rollback: delete secret',
  'Rollback: drop database',
  'Rollback: delete function and API',
  'Rollback: detach domain',
  'Rollback: delete frontend',
];

describe('the console', () => {
  it("shows a successful onboarding's path succeeded and the branches it skipped not started", async () => {
    await page.goto(executionPage(arns[ok]!));
    await page.waitForSelector('[data-state="Tenant is live"][data-status="succeeded"]');
    const seen = await statuses();
    for (const state of [
      'Validate input',
      'Register tenant',
      'Store secret',
      'Build database and web',
      'Create database',
      'Dedicated instance?',
      'Apply schema',
      'Deploy function',
      'Has a domain?',
      'No domain to attach',
      'Publish frontend',
      'Collect branch results',
      'Both branches built?',
      'Invalidate cache',
      'Activate tenant',
      'Tenant is live',
    ])
      expect([state, seen[state]]).toEqual([state, 'succeeded']);
    for (const state of [
      'Attach domain',
      'Wait for instance',
      'Check instance',
      'Database branch failed',
      'Web branch failed',
      'Take the branch error',
      'Onboarding failed',
      ...ROLLBACKS,
    ])
      expect([state, seen[state]]).toEqual([state, 'not-started']);
    // The Choice's path taken is drawn as taken.
    expect(await page.locator('path.edge.taken').count()).toBeGreaterThanOrEqual(12);
    expect(await page.locator('[data-event-type="ExecutionSucceeded"]').count()).toBe(1);
    expect(await page.locator('[data-event-type="TaskSucceeded"]').count()).toBe(9);
    await page.screenshot({ path: join(SCREENSHOTS, 'execution-succeeded.png'), fullPage: true });
  });

  it('shows a rolled-back onboarding: the failed step was caught into its branch\'s end; the undos succeeded, "Tenant is live" not started', async () => {
    await page.goto(executionPage(arns[rolledBack]!));
    await page.waitForSelector('[data-state="Onboarding failed"][data-status="failed"]');
    const seen = await statuses();
    expect(seen['Publish frontend']).toBe('caught');
    expect(seen['Web branch failed']).toBe('succeeded');
    expect(seen['Database branch failed']).toBe('not-started');
    // Both branches ended, then the failure was taken into the undos.
    expect(seen['Build database and web']).toBe('succeeded');
    expect(seen['Take the branch error']).toBe('succeeded');
    for (const state of ROLLBACKS) expect([state, seen[state]]).toEqual([state, 'succeeded']);
    expect(seen['Tenant is live']).toBe('not-started');
    expect(seen['Invalidate cache']).toBe('not-started');
    await expect(page.locator('.summary').innerText()).resolves.toContain('InjectedFault');
    await page.screenshot({ path: join(SCREENSHOTS, 'execution-rolled-back.png'), fullPage: true });
  });

  it("shows a state's input, output and error when it is chosen with the keyboard", async () => {
    await page.goto(executionPage(arns[rolledBack]!));
    const node = page.locator('[data-state="Publish frontend"]');
    await node.focus();
    await page.keyboard.press('Enter');
    const panel = page.locator('.state-detail');
    await expect(panel.locator('h2').innerText()).resolves.toBe('Publish frontend');
    await expect(panel.innerText()).resolves.toMatch(/Status: caught error[\s\S]*InjectedFault[\s\S]*Input/);
    // Every control is labelled.
    const unlabelled = await page.$$eval('input, select, textarea, button', (els) =>
      els.filter(
        (e) =>
          !(e as HTMLInputElement).labels?.length && !e.getAttribute('aria-label') && !e.textContent?.trim(),
      ),
    );
    expect(unlabelled).toHaveLength(0);
  });

  it('follows a running execution: its states change colour without a reload', async () => {
    const started = await platform.startExecution(tenantInput(slow), { name: `onboard-${slow}` });
    await page.goto(executionPage(started.executionArn));
    await page.waitForSelector('[data-state="Deploy function"][data-status="running"]');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    // It times out; its branch ends at its failure, and the undos run once the Parallel state has ended.
    await page.waitForSelector('[data-state="Deploy function"][data-status="caught"]', { timeout: 30_000 });
    await page.waitForSelector('[data-state="Web branch failed"][data-status="succeeded"]', {
      timeout: 30_000,
    });
    await page.waitForSelector('[data-state="Onboarding failed"][data-status="failed"]', { timeout: 30_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    await started.done;
  }, 60_000);

  it('lists executions newest first with their tenant, and filters them by status', async () => {
    await page.goto(`${consoleUrl}state-machines/${encodeURIComponent(platform.stateMachineArn)}`);
    const rows = page.locator('[data-execution-arn]');
    await rows.first().waitFor();
    const listed = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-execution-arn')));
    expect(listed).toEqual(expect.arrayContaining([arns[ok], arns[rolledBack]]));
    await expect(page.locator(`[data-execution-arn="${arns[ok]!}"]`).innerText()).resolves.toContain(ok);
    await page.selectOption('#status-filter', 'FAILED');
    await page.waitForURL(/status=FAILED/);
    await rows.first().waitFor();
    const failed = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-execution-arn')));
    expect(failed).toContain(arns[rolledBack]);
    expect(failed).not.toContain(arns[ok]);
  });

  it('starts an execution from the page; the state machine reports a bad input on the execution page', async () => {
    await page.goto(`${consoleUrl}state-machines/${encodeURIComponent(platform.stateMachineArn)}`);
    await page.click('summary');
    await page.fill('#start-input', '{ not json');
    await page.click('button[type="submit"]');
    await expect(page.locator('form [role="alert"]').innerText()).resolves.toMatch(/not JSON/);
    await page.fill('#start-input', JSON.stringify({ tenantId: 'Bad Id', companyName: 'x' }));
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/executions\//);
    await page.waitForSelector('[data-state="Invalid input"][data-status="failed"]');
    await page.waitForSelector('[data-execution-status="FAILED"]');
    await expect(page.locator('.summary').innerText()).resolves.toMatch(/InvalidInput[\s\S]*tenantId/);
  });

  it("summarises a release's Map iterations on its wave state, one row per tenant with its status", async () => {
    const version = await uploadVersion({ build: 'console' });
    const { record } = await runRelease(platform, { version, canary: 1 });
    expect(record.status).toBe('SUCCEEDED');
    await page.goto(executionPage(record.executionArn));
    const wave = page.locator('[data-state="Release wave"]');
    await page.waitForSelector('[data-state="Release done"][data-status="succeeded"]');
    expect(await wave.getAttribute('data-status')).toBe('succeeded');
    await wave.click();
    const rows = page.locator('.state-detail [data-iteration]');
    await rows.first().waitFor();
    // One wave (the canary) with the one ACTIVE tenant.
    expect(
      await rows.evaluateAll((els) =>
        els.map((e) => [e.getAttribute('data-iteration'), e.getAttribute('data-status')]),
      ),
    ).toEqual([['1:0', 'succeeded']]);
    await expect(rows.first().innerText()).resolves.toContain(ok);
    // The states inside the Map are not top-level nodes: they are summarised by the iterations.
    expect(await page.locator('[data-state="Migrate database"]').count()).toBe(0);
  }, 60_000);

  it('says so for a page it does not have, with a 404 and the way home', async () => {
    for (const path of ['nope', 'tenants/a/b', 'executions/', '<script>x</script>']) {
      const response = await fetch(`${consoleUrl}${path}`);
      expect([path, response.status]).toEqual([path, 404]);
      const page = await response.text();
      expect(page).toContain('No such page');
      expect(page).toContain('<a href="/">');
      expect(page).not.toContain('<script>');
    }
    for (const path of ['', 'tenants', 'tenants/shop-a', 'executions/arn%3Aaws', 'state-machines/arn%3Aaws'])
      expect([path, (await fetch(`${consoleUrl}${path}`)).status]).toEqual([path, 200]);
  });

  it('lists the tenants with their status, links and the executions that concerned each', async () => {
    await page.goto(`${consoleUrl}tenants`);
    const row = page.locator(`[data-tenant="${ok}"]`);
    await row.waitFor();
    await expect(row.innerText()).resolves.toMatch(/ACTIVE[\s\S]*shared/);
    expect(await row.locator('a', { hasText: 'site' }).getAttribute('href')).toMatch(
      new RegExp(`^http://${ok}\\.localhost:\\d+/$`),
    );
    await row.locator('a', { hasText: ok }).click();
    await page.waitForSelector(`[data-execution-arn="${arns[ok]!}"]`);
  });

  it('opens on the fleet: tenants by state, failures with their tenant, step and error, releases, alarms, live; a search finds a tenant', async () => {
    // One tenant offboarded, so that the fleet has live, rolled-back and offboarded tenants.
    const departed = { companyName: 'Departed Traders Ltd', domain: 'departed-traders.example' };
    expect(
      (await platform.runExecution(tenantInput(gone, departed), { name: `onboard-${gone}` })).status,
    ).toBe('SUCCEEDED');
    expect(
      (
        await platform.runExecution(
          { tenantId: gone },
          { stateMachineArn: platform.stateMachines.offboarding.arn },
        )
      ).status,
    ).toBe('SUCCEEDED');
    // One whose undo fails too: ROLLBACK_FAILED.
    const stuckRun = await platform.runExecution(tenantInput(stuck), { name: `onboard-${stuck}` });
    expect([stuckRun.status, stuckRun.error]).toEqual(['FAILED', 'RollbackFailed']);

    await page.goto(consoleUrl);
    await page.waitForSelector('[data-section="tenants"] [data-group="live"]');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));
    const count = (group: string) => page.locator(`[data-group="${group}"] strong`).innerText();

    // Live: an onboarding started now shows as running and in progress, then as rolled back, no reload.
    const busyRun = await platform.startExecution(tenantInput(busy), { name: `onboard-${busy}` });
    await page.waitForSelector(`[data-running-arn="${busyRun.executionArn}"]`, { timeout: 15_000 });
    await expect(page.locator(`[data-running-arn="${busyRun.executionArn}"]`).innerText()).resolves.toMatch(
      new RegExp(`onboarding[\\s\\S]*${busy}`),
    );
    await expect(count('provisioning')).resolves.toBe('1');
    expect((await busyRun.done).status).toBe('FAILED');
    await page.waitForSelector(`[data-running-arn="${busyRun.executionArn}"]`, {
      state: 'detached',
      timeout: 15_000,
    });

    // The counts are the registry's, state by state.
    const registry = await listTenants();
    const byStatus = (...statuses: string[]) =>
      String(registry.filter((t) => statuses.includes(t.status)).length);
    const expected = {
      total: String(registry.length),
      live: byStatus('ACTIVE'),
      suspended: byStatus('SUSPENDED'),
      provisioning: byStatus('PROVISIONING', 'OFFBOARDING'),
      failed: byStatus('ROLLBACK_FAILED', 'OFFBOARDING_FAILED'),
      'rolled-back': byStatus('ROLLED_BACK'),
      offboarded: byStatus('OFFBOARDED'),
    };
    expect(expected).toMatchObject({ failed: '1', offboarded: '1', provisioning: '0', 'rolled-back': '3' });
    const shown = async (): Promise<Record<string, string>> =>
      Object.fromEntries(
        await Promise.all(Object.keys(expected).map(async (g) => [g, await count(g)] as const)),
      );
    await eventually('the counts to be the registry', async () =>
      JSON.stringify(await shown()) === JSON.stringify(expected) ? true : undefined,
    );
    // The release of the test above made the ok tenant's version the current release.
    await expect(page.locator('[data-current="true"]').innerText()).resolves.toContain('current release');

    // A failure: its tenant, the step that failed (not an undo) and the error, linked to its graph; and
    // an undo that failed, named as the step.
    const failure = page.locator(`[data-failure-arn="${arns[rolledBack]!}"]`);
    await expect(failure.innerText()).resolves.toMatch(
      new RegExp(`${rolledBack}[\\s\\S]*Publish frontend[\\s\\S]*InjectedFault`),
    );
    await expect(page.locator(`[data-failure-arn="${stuckRun.executionArn}"]`).innerText()).resolves.toMatch(
      new RegExp(`${stuck}[\\s\\S]*Rollback: drop database[\\s\\S]*RollbackFailed`),
    );
    const releaseRow = page.locator('[data-section="releases"] [data-release-arn]').first();
    await expect(releaseRow.innerText()).resolves.toContain('SUCCEEDED');
    await expect(page.locator('[data-section="alarms"]').innerText()).resolves.toContain(
      'No alarm is in ALARM',
    );

    // Live: an alarm going off shows up without a reload.
    const cloudwatch = new CloudWatchClient({
      endpoint: platform.endpointUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const alarm = `tenant-${ok}-api-errors`;
    try {
      await cloudwatch.send(
        new SetAlarmStateCommand({
          AlarmName: alarm,
          StateValue: 'ALARM',
          StateReason: 'errors above 5 in 5 min',
        }),
      );
      await page.waitForSelector(`[data-alarm="${alarm}"]`, { timeout: 15_000 });
      await expect(page.locator(`[data-alarm="${alarm}"]`).innerText()).resolves.toMatch(
        new RegExp(`${ok}[\\s\\S]*errors above 5 in 5 min`),
      );
      expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
      await page.screenshot({ path: join(SCREENSHOTS, 'console-home.png'), fullPage: true });
    } finally {
      await cloudwatch.send(
        new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'OK', StateReason: 'test' }),
      );
      cloudwatch.destroy();
    }

    // The search: by id, by company, by domain; nothing for a stranger.
    const searched = async (query: string) => {
      await page.fill('#tenant-search', query);
      return eventually(`the search for ${query}`, async () => {
        const answered = await page.locator('#search-results').getAttribute('data-query');
        if (answered !== query.toLowerCase()) return undefined;
        return page
          .locator('#search-results li')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-tenant') ?? e.textContent));
      });
    };
    expect(await searched('console-r')).toEqual([rolledBack]);
    expect(await searched('DEPARTED trad')).toEqual([gone]);
    expect(await searched('departed-traders.exa')).toEqual([gone]);
    expect(await searched('nobody-like-this')).toEqual(['No tenant matches.']);

    await failure.locator('a', { hasText: 'graph' }).click();
    await page.waitForSelector('[data-state="Publish frontend"][data-status="caught"]');
  }, 60_000);

  it("shows a tenant's own domain: its status and the records the customer adds", async () => {
    const tenantId = 'console-domain';
    const domain = 'console-domain.example';
    expect((await platform.runExecution(tenantInput(tenantId, { domain }))).status).toBe('SUCCEEDED');
    expect(await settledDomain(tenantId, domain)).toMatchObject({ status: 'PENDING_VALIDATION' });
    await page.goto(`${consoleUrl}tenants/${tenantId}`);
    const section = page.locator(`[data-domain="${domain}"]`);
    await section.waitFor();
    await expect(section.locator('.badge').innerText()).resolves.toBe('PENDING_VALIDATION');
    for (const name of [domain, `www.${domain}`, `api.${domain}`])
      await expect(section.locator(`[data-record="${name}"]`).innerText()).resolves.toContain(
        LOCAL_ROUTING_ENDPOINT,
      );
    // What the last check saw, per name: nothing routes it yet.
    await expect(section.locator(`[data-record="api.${domain}"]`).innerText()).resolves.toMatch(
      /no hosted zone|not/i,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'console-domain.png'), fullPage: true });
  }, 60_000);

  it("shows a tenant's page with its resources, versions and timeline; a suspend and a resume are done through it", async () => {
    await page.goto(`${consoleUrl}tenants/${ok}`);
    await page.waitForSelector('[data-action]');
    await expect(page.locator('[data-resources]').innerText()).resolves.toMatch(
      new RegExp(`tenant-${ok}-api[\\s\\S]*${ok.replace(/-/g, '_')}`),
    );
    // The release that updated it is in its ledger and on its timeline.
    const release = await page.locator('[data-tenant-release]').first().getAttribute('data-tenant-release');
    expect(release).toMatch(/:execution:/);
    await page.waitForSelector(`[data-execution-arn="${release!}"]`);
    await page.waitForSelector(`[data-execution-arn="${arns[ok]!}"]`);
    const offered = () =>
      page.locator('[data-action]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
    expect(await offered()).toEqual(['suspend', 'offboard']);
    await page.screenshot({ path: join(SCREENSHOTS, 'console-tenant.png'), fullPage: true });

    // Cancelled: nothing starts.
    await page.click('[data-action="suspend"]');
    await expect(page.locator('#confirm-action').innerText()).resolves.toContain('answer 503');
    await page.click('[data-cancel]');
    expect(await page.locator('#confirm-action').isVisible()).toBe(false);
    expect((await getTenant(ok))?.status).toBe('ACTIVE');

    for (const [action, status, offeredThen] of [
      ['suspend', 'SUSPENDED', ['resume', 'offboard']],
      ['resume', 'ACTIVE', ['suspend', 'offboard']],
    ] as const) {
      await page.click(`[data-action="${action}"]`);
      await page.click(`[data-confirm="${action}"]`);
      await page.waitForURL(/\/executions\//);
      await page.waitForSelector('[data-execution-status="SUCCEEDED"]', { timeout: 30_000 });
      expect(decodeURIComponent(page.url())).toContain(`:${action}-${ok}`);
      expect((await getTenant(ok))?.status).toBe(status);
      await page.goto(`${consoleUrl}tenants/${ok}`);
      await page.waitForSelector('[data-action]');
      expect(await offered()).toEqual(offeredThen);
    }
    // An action its state does not allow is refused, and only from the console's page.
    const post = (headers: Record<string, string>) =>
      fetch(`${consoleUrl}api/tenants/${ok}/actions/resume`, { method: 'POST', headers, body: '{}' });
    const refused = await post({ 'content-type': 'application/json', 'x-console': '1' });
    expect([refused.status, ((await refused.json()) as { message: string }).message]).toEqual([
      409,
      `${ok} is ACTIVE: resume is not possible now`,
    ]);
    expect((await post({ 'content-type': 'text/plain' })).status).toBe(403);
    expect((await post({ 'content-type': 'application/json' })).status).toBe(403);
    expect((await getTenant(ok))?.status).toBe('ACTIVE');
    // A rolled-back onboarding retried from its page: the same input again, and this time it is live.
    await page.goto(`${consoleUrl}tenants/${busy}`);
    await page.waitForSelector('[data-action]');
    expect(await offered()).toEqual(['retry']);
    await page.click('[data-action="retry"]');
    await page.click('[data-confirm="retry"]');
    await page.waitForURL(/\/executions\//);
    await page.waitForSelector('[data-execution-status="SUCCEEDED"]', { timeout: 30_000 });
    expect(decodeURIComponent(page.url())).toContain(`:onboard-${busy}-2`);
    expect(await getTenant(busy)).toMatchObject({ status: 'ACTIVE', companyName: `Company ${busy}` });
    // A rolled-back tenant offers a retry of its onboarding.
    await page.goto(`${consoleUrl}tenants/${rolledBack}`);
    await page.waitForSelector('[data-action]');
    expect(await offered()).toEqual(['retry']);
  }, 90_000);
});

describe('the control-plane API', () => {
  it('answers tenantctl tenants --aws with the registry, and refuses unsigned requests', async () => {
    const env = {
      AWS_ENDPOINT_URL: platform.endpointUrl,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'a-user',
      AWS_SECRET_ACCESS_KEY: 'their-secret',
    };
    const listed = await tenantctl(['tenants', '--aws', '--json'], { env });
    expect([listed.code, listed.stderr]).toEqual([0, '']);
    const tenants = JSON.parse(listed.stdout) as { tenantId: string; status: string }[];
    expect(tenants.find((t) => t.tenantId === ok)).toMatchObject({ status: 'ACTIVE', tier: 'shared' });
    expect(tenants.find((t) => t.tenantId === rolledBack)).toMatchObject({ status: 'ROLLED_BACK' });

    const unsigned = await fetch(`${platform.endpointUrl}/control-plane/tenants`);
    expect(unsigned.status).toBe(403);

    Object.assign(process.env, env);
    const client = new ControlPlaneClient(`${platform.endpointUrl}/control-plane`, 'us-east-1');
    await expect(client.get(`/tenants/${ok}`)).resolves.toMatchObject({
      tenantId: ok,
      status: 'ACTIVE',
      resources: expect.objectContaining({ functionArn: expect.any(String) as string }) as object,
    });
    await expect(client.get('/tenants/nobody-here')).rejects.toThrow(/404: there is no tenant nobody-here/);
    await expect(client.get('/tenants/Not%20an%20id')).rejects.toThrow(/400: tenantId: not a tenant id/);
  }, 60_000);
});

describe('tenantctl console --aws', () => {
  it('serves the console on 127.0.0.1 against an AWS endpoint with the Step Functions API alone', async () => {
    const child = spawn(
      process.execPath,
      [join(REPO, 'bin', 'tenantctl.js'), 'console', '--aws', '--port', '0'],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: platform.endpointUrl,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'a-user',
          AWS_SECRET_ACCESS_KEY: 'their-secret',
        },
      },
    );
    try {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      let url = '';
      await waitFor(
        'the console URL',
        () => {
          url = /http:\/\/localhost:\d+\//.exec(output)?.[0] ?? '';
          return Promise.resolve(url !== '' || child.exitCode !== null);
        },
        30_000,
      );
      expect([url, output]).toEqual([
        expect.stringMatching(/^http:\/\/localhost:\d+\/$/),
        expect.stringContaining('Console (AWS, us-east-1)'),
      ]);
      await page.goto(`${url}executions/${encodeURIComponent(arns[rolledBack]!)}`);
      await page.waitForSelector('[data-state="Publish frontend"][data-status="caught"]');
      // The tenants come from the control-plane API (signed requests), not from the database.
      await page.goto(`${url}tenants`);
      await expect(page.locator(`[data-tenant="${ok}"]`).innerText()).resolves.toMatch(/ACTIVE/);
      // A tenant's page links its resources to their pages in the AWS console, and offers its actions.
      await page.goto(`${url}tenants/${ok}`);
      await page.waitForSelector('[data-action="suspend"]');
      expect(
        await page.locator('[data-resources] a', { hasText: `tenant-${ok}-api` }).getAttribute('href'),
      ).toBe(
        `https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/tenant-${ok}-api`,
      );
      // The fleet comes from the same APIs: the registry through the control plane, the releases too.
      await page.goto(url);
      await page.waitForSelector('[data-section="releases"] [data-release-arn]');
      // A page on another site cannot start executions through it.
      const forged = await fetch(`${url}api/executions`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ stateMachineArn: platform.stateMachineArn, input: '{}' }),
      });
      expect(forged.status).toBe(403);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    }
    expect(child.exitCode).toBe(0);
  }, 60_000);
});
