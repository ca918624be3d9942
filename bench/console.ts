/**
 * `npm run bench:console`: BENCH_CONSOLE_EXECUTIONS onboarding executions (default 1,000; each a bad input
 * that fails at "Validate input", so they are quick to make) on a local platform, then the console in
 * headless Chromium: how long the executions list takes to show its first page (100 rows, as ListExecutions
 * pages), cold (the console's first request: its bundle is built, every tenant read with DescribeExecution)
 * and warm, and how long an execution's page takes to show its coloured graph. Prints a table, then JSON.
 */
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { waitFor } from '../local/processes/ports';
import { launchBrowser } from '../test/fixtures/browser';
import { percentile, round, runBench, startBenchPlatform } from './platform';

const EXECUTIONS = Number(process.env.BENCH_CONSOLE_EXECUTIONS ?? 1000);
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
      executions: EXECUTIONS,
      madeInMs: madeMs,
      executionsListFirstPage: {
        coldMs: coldList,
        warmP50Ms: percentile(warmList, 50),
        warmMaxMs: round(Math.max(...warmList)),
      },
      executionPage: { p50Ms: percentile(executionPage, 50), maxMs: round(Math.max(...executionPage)) },
    };
    process.stdout.write(
      `\nConsole with ${EXECUTIONS} executions (made in ${madeMs} ms)\n` +
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
