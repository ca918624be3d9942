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
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { unzipSync } from 'fflate';
import { tenantResourceNames } from '../common/names';
import type { TenantSecret } from '../common/tenant-secret';
import { buildTenantApiZip } from '../local/artifacts';
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
    const gateway = new URL(platform.endpoints.gateway);
    const secret = await readSecret(platform.endpoints.aws, platform.endpoints.region);
    const send = (call: Call, token?: string) => http(agent, gateway, `api.${TENANT}.localhost`, call, token);
    const login = await send({
      method: 'POST',
      path: '/auth/login',
      body: { email: secret.adminEmail, password: secret.adminPassword },
    });
    const { token } = JSON.parse(login.body) as { token: string };
    const ids: number[] = [];
    for (let i = 0; i < PRODUCTS; i++) {
      const created = await send(
        {
          method: 'POST',
          path: '/products',
          body: { sku: `SKU-${i}`, name: `Product ${i}`, priceCents: 100 + i, stock: 1_000_000 },
        },
        token,
      );
      ids.push((JSON.parse(created.body) as { id: number }).id);
    }
    const list = await load(() => send({ method: 'GET', path: '/products?limit=20' }, token), 200);
    const order = await load(() => {
      const lines = [{ productId: randomProduct(ids), quantity: 1 }];
      return send({ method: 'POST', path: '/orders', body: { lines } }, token);
    }, 201);
    // The same requests straight into the handler, in this process: what the gateway and the worker add.
    const api = createTenantApi({ tenantId: TENANT, secretArn: tenantResourceNames(TENANT).secretName });
    const direct = (method: string, path: string, body?: unknown) =>
      api
        .handle(apiEvent(method, path, body, token))
        .then((r) => ({ status: r.statusCode ?? 0, body: r.body ?? '' }));
    const listDirect = await load(() => direct('GET', '/products?limit=20'), 200);
    const orderDirect = await load(
      () => direct('POST', '/orders', { lines: [{ productId: randomProduct(ids), quantity: 1 }] }),
      201,
    );
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
    const bundle = unzipSync(await buildTenantApiZip())['index.js'];
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

function randomProduct(ids: number[]): number {
  return ids[Math.floor(Math.random() * ids.length)] ?? 0;
}

/** A minimal API Gateway v2 event, as the gateway builds it. */
function apiEvent(method: string, path: string, body: unknown, token: string): APIGatewayProxyEventV2 {
  const url = new URL(path, 'http://api');
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    queryStringParameters: Object.fromEntries(url.searchParams),
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requestContext: { http: { method, path: url.pathname }, requestId: 'bench' },
    isBase64Encoded: false,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  } as unknown as APIGatewayProxyEventV2; // the rest of requestContext is not read by the handler
}

async function readSecret(endpoint: string, region: string): Promise<TenantSecret> {
  const secrets = new SecretsManagerClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  try {
    const value = await secrets.send(
      new GetSecretValueCommand({ SecretId: tenantResourceNames(TENANT).secretName }),
    );
    return JSON.parse(value.SecretString ?? '{}') as TenantSecret;
  } finally {
    secrets.destroy();
  }
}

function http(
  agent: Agent,
  gateway: URL,
  host: string,
  call: Call,
  token?: string,
): Promise<{ status: number; body: string }> {
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: gateway.hostname,
        port: gateway.port,
        method: call.method,
        path: call.path,
        headers: {
          host,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

runBench('bench:api', main);
