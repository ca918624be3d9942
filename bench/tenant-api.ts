/**
 * `npm run bench` (second half): the tenant shop API through the local gateway. One tenant, 200 products;
 * GET /products and POST /orders each for BENCH_API_SECONDS (default 5) with BENCH_API_C clients (default 8):
 * requests per second, p50/p99 latency; then the same requests straight into the handler in this process
 * (the difference is the gateway: a GetFunctionConfiguration on the emulator per request, and the worker
 * thread hop). Then the handler's cold start: a fresh Node process loading the
 * tenant API bundle and answering its first authenticated request (secret read, pool connect, query).
 * Prints a table, then JSON.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { unzipSync } from 'fflate';
import { gatewayRequest } from '../cli/describe';
import { tenantResourceNames } from '../common/names';
import { getJsonSecret } from '../common/secrets';
import type { TenantSecret } from '../common/tenant-secret';
import { buildTenantApiArtifact } from '../local/bootstrap/artifacts';
import { apiGatewayEvent } from '../local/gateway/gateway';
import { createTenantApi } from '../tenant-api/app';
import { percentile, round, runBench, startBenchPlatform } from './platform';

const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 5);
const CLIENTS = Number(process.env.BENCH_API_C ?? 8);
const PRODUCTS = 200;
const COLD_STARTS = 5;
const TENANT = 'bench-shop';

interface Call {
  method: string;
  path: string;
  body?: unknown;
}

async function main(): Promise<void> {
  const platform = await startBenchPlatform();
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  try {
    await platform.onboard(TENANT);
    const { secretName } = tenantResourceNames(TENANT);
    const secrets = new SecretsManagerClient({
      endpoint: platform.endpoints.aws,
      region: platform.endpoints.region,
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    });
    const secret = await getJsonSecret<TenantSecret>(secrets, secretName);
    secrets.destroy();
    let token = '';
    const headersOf = (call: Call) => ({
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
    });
    const bodyOf = (call: Call) => (call.body === undefined ? undefined : JSON.stringify(call.body));
    // Through the local gateway, as a client would call the tenant's API.
    const send = (call: Call) =>
      gatewayRequest(platform.endpoints.gateway, `api.${TENANT}.localhost`, call.path, {
        method: call.method,
        headers: headersOf(call),
        body: bodyOf(call),
        agent,
      });
    const login = await send({
      method: 'POST',
      path: '/auth/login',
      body: { email: secret.adminEmail, password: secret.adminPassword },
    });
    token = (JSON.parse(login.body) as { token: string }).token;
    const ids: number[] = [];
    for (let i = 0; i < PRODUCTS; i++) {
      const created = await send({
        method: 'POST',
        path: '/products',
        body: { sku: `SKU-${i}`, name: `Product ${i}`, priceCents: 100 + i, stock: 1_000_000 },
      });
      ids.push((JSON.parse(created.body) as { id: number }).id);
    }
    const listCall = (): Call => ({ method: 'GET', path: '/products?limit=20' });
    const orderCall = (): Call => ({
      method: 'POST',
      path: '/orders',
      body: { lines: [{ productId: ids[Math.floor(Math.random() * ids.length)], quantity: 1 }] },
    });
    const list = await load(() => send(listCall()), 200);
    const order = await load(() => send(orderCall()), 201);
    // The same requests straight into the handler, in this process: what the gateway and the worker add.
    const api = createTenantApi({ tenantId: TENANT, secretArn: secretName });
    const direct = (call: Call) =>
      api
        .handle(
          apiGatewayEvent({
            method: call.method,
            url: call.path,
            headers: headersOf(call),
            body: Buffer.from(bodyOf(call) ?? ''),
            apiId: TENANT,
          }),
        )
        .then((r) => ({ status: r.statusCode ?? 0, body: r.body ?? '' }));
    const listDirect = await load(() => direct(listCall()), 200);
    const orderDirect = await load(() => direct(orderCall()), 201);
    await api.close();
    const coldStart = await coldStarts(platform.endpoints, token);
    const results = {
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      clients: CLIENTS,
      secondsEach: SECONDS,
      'GET /products?limit=20': list,
      'POST /orders (one line)': order,
      inProcess: { 'GET /products?limit=20': listDirect, 'POST /orders (one line)': orderDirect },
      coldStart,
    };
    const row = (label: string, r: Load) =>
      `${label.padEnd(26)} ${String(r.requests).padStart(8)} ${String(r.perSecond).padStart(8)} ${String(r.p50Ms).padStart(8)} ${String(r.p99Ms).padStart(8)}`;
    process.stdout.write(
      [
        `${`tenant API (${CLIENTS} clients)`.padEnd(26)} ${'requests'.padStart(8)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`,
        row('GET /products?limit=20', list),
        row('POST /orders', order),
        row('  handler only: GET', listDirect),
        row('  handler only: POST', orderDirect),
        `cold start (median of ${COLD_STARTS}): module load ${coldStart.moduleLoadMs} ms + first request ${coldStart.firstRequestMs} ms = ${coldStart.totalMs} ms (bundle ${coldStart.bundleKiB} KiB)`,
        '',
      ].join('\n'),
    );
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    agent.destroy();
    await platform.stop();
  }
}

interface Load {
  requests: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** CLIENTS loops sending one request after another for SECONDS; every answer must have `expected` status. */
async function load(send: () => Promise<{ status: number; body: string }>, expected: number): Promise<Load> {
  for (let i = 0; i < 20; i++) await send(); // warm the worker and the pool
  const latencies: number[] = [];
  const started = performance.now();
  const end = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const answer = await send();
        latencies.push(performance.now() - t);
        if (answer.status !== expected) throw new Error(`${answer.status}: ${answer.body.slice(0, 300)}`);
      }
    }),
  );
  const wall = performance.now() - started;
  return {
    requests: latencies.length,
    perSecond: round((latencies.length / wall) * 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/**
 * Cold starts of the handler as the local platform runs it (the whole bundle, SDK included): each in a new
 * Node process, timing `require` of the bundle and the first `GET /products` with a valid token.
 */
async function coldStarts(
  endpoints: { aws: string; region: string },
  token: string,
): Promise<{ moduleLoadMs: number; firstRequestMs: number; totalMs: number; bundleKiB: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'tenant-api-cold-'));
  try {
    const bundle = unzipSync((await buildTenantApiArtifact()).zip)['index.js'];
    if (!bundle) throw new Error('no index.js in the tenant API package');
    await writeFile(join(dir, 'index.js'), bundle);
    const script = `
      const t0 = performance.now();
      const { handler } = require(${JSON.stringify(join(dir, 'index.js'))});
      const t1 = performance.now();
      handler({
        version: '2.0', rawPath: '/products', rawQueryString: 'limit=20',
        queryStringParameters: { limit: '20' },
        headers: { authorization: 'Bearer ' + process.env.BENCH_TOKEN },
        requestContext: { http: { method: 'GET', path: '/products' }, requestId: 'cold' },
        isBase64Encoded: false,
      }).then((r) => {
        if (r.statusCode !== 200) throw new Error('status ' + r.statusCode + ': ' + r.body);
        process.stdout.write(JSON.stringify({ load: t1 - t0, first: performance.now() - t1 }));
        process.exit(0);
      });`;
    const runs: { load: number; first: number }[] = [];
    for (let i = 0; i < COLD_STARTS; i++) {
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
        env: {
          PATH: process.env.PATH,
          TENANT_ID: TENANT,
          TENANT_SECRET_ARN: tenantResourceNames(TENANT).secretName,
          AWS_ENDPOINT_URL: endpoints.aws,
          AWS_REGION: endpoints.region,
          AWS_ACCESS_KEY_ID: 'bench',
          AWS_SECRET_ACCESS_KEY: 'bench',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          POWERTOOLS_LOG_LEVEL: 'SILENT',
          BENCH_TOKEN: token,
        },
      });
      runs.push(JSON.parse(stdout) as { load: number; first: number });
    }
    const moduleLoadMs = percentile(
      runs.map((r) => r.load),
      50,
    );
    const firstRequestMs = percentile(
      runs.map((r) => r.first),
      50,
    );
    return {
      moduleLoadMs,
      firstRequestMs,
      totalMs: round(moduleLoadMs + firstRequestMs),
      bundleKiB: round(bundle.byteLength / 1024),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

runBench('bench:api', main);
