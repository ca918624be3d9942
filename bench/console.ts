/**
 * `npm run bench:console`: BENCH_CONSOLE_TENANTS live tenants (default 1,000, onboarded 8 at a time) and
 * BENCH_CONSOLE_EXECUTIONS onboarding executions besides (default 10,000; each a bad input that fails at
 * "Validate input", so they are quick to make and all count as failures of the last 24 hours) on a local
 * platform, then the console in headless Chromium: how long its home (the fleet) takes to show its numbers,
 * cold and warm, how long the search takes to answer, how long the executions list takes to show its first
 * page (100 rows, as ListExecutions pages), cold (its bundle built, every tenant read with
 * DescribeExecution) and warm, and how long an execution's page takes to show its coloured graph. Prints a
 * table, then JSON.
 */
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { waitFor } from '../local/processes/ports';
import { launchBrowser } from '../test/fixtures/browser';
import { percentile, round, runBench, startBenchPlatform } from './platform';

const TENANTS = Number(process.env.BENCH_CONSOLE_TENANTS ?? 1000);
const EXECUTIONS = Number(process.env.BENCH_CONSOLE_EXECUTIONS ?? 10_000);
/** Onboardings at once while the tenants are made. */
const C = 8;
const RUNS = 5;

async function main(): Promise<void> {
  const platform = await startBenchPlatform();
  const browser = await launchBrowser().catch(async (error: unknown) => {
    await platform.stop();
    throw error;
  });
  const { endpoints } = platform;
  const { sfn } = platform;
  try {
    const filling = Date.now();
    let made = 0;
    await Promise.all(
      Array.from({ length: C }, async () => {
        while (made < TENANTS) await platform.onboard(`bench-fleet-${made++}`);
      }),
    );
    const tenantsMadeMs = Date.now() - filling;
    const started = Date.now();
    let last = '';
    for (let i = 0; i < EXECUTIONS; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, EXECUTIONS - i) }, (_, j) =>
          sfn.send(
            new StartExecutionCommand({
              stateMachineArn: endpoints.stateMachineArn,
              input: JSON.stringify({ tenantId: `Bad ${i + j}` }),
            }),
          ),
        ),
      );
      last = batch.at(-1)?.executionArn ?? last;
    }
    const listUrl = `${endpoints.console}state-machines/${encodeURIComponent(endpoints.stateMachineArn)}`;
    const page = await browser.newPage();
    // Every execution has ended before the pages are measured.
    await waitFor(
      `${EXECUTIONS} executions to end`,
      async () => {
        const res = await fetch(
          `${endpoints.console}api/executions?stateMachineArn=${encodeURIComponent(endpoints.stateMachineArn)}&status=RUNNING`,
        );
        return ((await res.json()) as { executions: unknown[] }).executions.length === 0;
      },
      300_000,
    );
    const madeMs = Date.now() - started;

    const timeList = async () => {
      const t = Date.now();
      await page.goto(listUrl);
      await page.waitForFunction(() => document.querySelectorAll('[data-execution-arn]').length === 100);
      return Date.now() - t;
    };
    // The home: from navigation to its numbers shown; then the search's answer for one tenant.
    const timeHome = async () => {
      const t = Date.now();
      await page.goto(endpoints.console);
      await page.waitForSelector('[data-section="tenants"] [data-group="live"]');
      return Date.now() - t;
    };
    const coldHome = await timeHome();
    const warmHome: number[] = [];
    for (let i = 0; i < RUNS; i++) warmHome.push(await timeHome());
    const liveShown = Number(await page.locator('[data-group="live"] strong').innerText());
    if (liveShown < TENANTS) throw new Error(`the home shows ${liveShown} live tenants, not ${TENANTS}`);
    const searches: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const query = `bench-fleet-${(i * 197) % TENANTS}`;
      const t = Date.now();
      await page.fill('#tenant-search', query);
      await page.waitForSelector(`#search-results[data-query="${query}"] [data-tenant="${query}"]`);
      searches.push(Date.now() - t);
    }
    const coldList = await timeList();
    const warmList: number[] = [];
    for (let i = 0; i < RUNS; i++) warmList.push(await timeList());
    const executionPage: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = Date.now();
      await page.goto(`${endpoints.console}executions/${encodeURIComponent(last)}`);
      await page.waitForSelector('[data-state="Invalid input"][data-status="failed"]');
      executionPage.push(Date.now() - t);
    }
    const results = {
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      tenants: TENANTS,
      tenantsMadeInMs: tenantsMadeMs,
      executions: EXECUTIONS,
      madeInMs: madeMs,
      home: {
        coldMs: coldHome,
        warmP50Ms: percentile(warmHome, 50),
        warmMaxMs: round(Math.max(...warmHome)),
      },
      search: { p50Ms: percentile(searches, 50), maxMs: round(Math.max(...searches)) },
      executionsListFirstPage: {
        coldMs: coldList,
        warmP50Ms: percentile(warmList, 50),
        warmMaxMs: round(Math.max(...warmList)),
      },
      executionPage: { p50Ms: percentile(executionPage, 50), maxMs: round(Math.max(...executionPage)) },
    };
    process.stdout.write(
      `\nConsole with ${TENANTS} live tenants (made in ${tenantsMadeMs} ms) and ${EXECUTIONS} failed executions besides (made in ${madeMs} ms)\n` +
        `home (the fleet), numbers shown    cold ${coldHome} ms   warm p50 ${results.home.warmP50Ms} ms (max ${results.home.warmMaxMs})\n` +
        `search, one tenant found           p50 ${results.search.p50Ms} ms (max ${results.search.maxMs})\n` +
        `executions list, first 100 rows   cold ${coldList} ms   warm p50 ${results.executionsListFirstPage.warmP50Ms} ms (max ${results.executionsListFirstPage.warmMaxMs})\n` +
        `execution page, coloured graph     p50 ${results.executionPage.p50Ms} ms (max ${results.executionPage.maxMs})\n\n`,
    );
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await browser.close();
    await platform.stop();
  }
}

runBench('bench:console', main);
