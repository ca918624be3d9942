import { createHash } from 'node:crypto';
import { GetIntegrationsCommand } from '@aws-sdk/client-apigatewayv2';
import {
  GetAliasCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
} from '@aws-sdk/client-lambda';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { gatewayRequest } from '../../cli/describe';
import { LocalPlatformNames, PlatformNames, tenantResourceNames } from '../../common/names';
import { LocalFunctions } from '../../local/lambda/functions';
import { waitFor } from '../../local/processes/ports';
import type { LocalPlatform } from '../../local/platform';
import { LocalGateway } from '../../local/gateway/gateway';
import { findApi } from '../../workflow-tasks/deploy-function/step';
import { aws } from '../../workflow-tasks/lib/aws';
import { getTenant } from '../../workflow-tasks/records/registry';
import { startTestPlatform, tenantInput, uniqueTenantId } from '../fixtures/platform';

let platform: LocalPlatform;
let cleanup: () => Promise<void>;
let gateway: LocalGateway;
let gatewayUrl: string;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform());
  gateway = new LocalGateway(platform);
  gatewayUrl = `http://127.0.0.1:${await gateway.listen(0)}`;
});

afterAll(async () => {
  await gateway?.close();
  await cleanup?.();
});

/** A deployment package whose handler answers every request with `{ code }`. */
function packageAnswering(code: string): Uint8Array {
  const source = `exports.handler = async () => ({ statusCode: 200, body: JSON.stringify({ code: ${JSON.stringify(code)} }) });`;
  return zipSync({ 'index.js': strToU8(source) }, { mtime: new Date('2026-01-01') });
}

async function onboarded(prefix: string): Promise<string> {
  const tenantId = uniqueTenantId(prefix);
  const record = await platform.runExecution(tenantInput(tenantId));
  expect(record.status).toBe('SUCCEEDED');
  return tenantId;
}

describe('a tenant function', () => {
  it('is published as version 1 with the alias live, and its HTTP API invokes the alias', async () => {
    const tenantId = await onboarded('versioned');
    const { functionName } = tenantResourceNames(tenantId);
    const alias = await aws().lambda.send(
      new GetAliasCommand({ FunctionName: functionName, Name: PlatformNames.liveAlias }),
    );
    expect(alias.FunctionVersion).toBe('1');
    const api = await findApi(tenantId);
    const { Items = [] } = await aws().apigw.send(new GetIntegrationsCommand({ ApiId: api!.ApiId }));
    expect(Items.map((i) => i.IntegrationUri)).toEqual([alias.AliasArn]);

    // The version ledger: the live version's package (by content) and the schema it was migrated to.
    const read = async (Key: string) =>
      (await aws().s3.send(new GetObjectCommand({ Bucket: LocalPlatformNames.artifactBucket, Key }))).Body!;
    const current = JSON.parse(await (await read(PlatformNames.tenantApiCurrentKey)).transformToString()) as {
      version: string;
      key: string;
    };
    const zip = await (await read(current.key)).transformToByteArray();
    // The version is the artifact's content: its package, the tenant migrations it expects, its frontend.
    expect(createHash('sha256').update(zip).digest('hex').slice(0, 16)).toBe(current.version);
    expect(Object.keys(unzipSync(zip))).toEqual([
      'index.js',
      'migrations/tenant/0001_shop.sql',
      'migrations/tenant/0002_auth.sql',
      'migrations/tenant/0003_login_lockout.sql',
      'frontend/app.js',
      'frontend/index.html',
      'frontend/style.css',
    ]);
    expect(await getTenant(tenantId)).toMatchObject({ codeVersion: current.version, schemaVersion: 3 });
  });

  it('runs the code its version was given: live keeps serving until the alias moves', async () => {
    const tenantId = await onboarded('own-code');
    const FunctionName = tenantResourceNames(tenantId).functionName;
    const host = `api.${tenantId}.localhost`;
    const S3Key = 'tenant-api/next-test.zip';
    await aws().s3.send(
      new PutObjectCommand({
        Bucket: LocalPlatformNames.artifactBucket,
        Key: S3Key,
        Body: packageAnswering('next'),
      }),
    );
    await aws().lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName, S3Bucket: LocalPlatformNames.artifactBucket, S3Key }),
    );

    // $LATEST has the new code; the alias `live` (what the gateway invokes) still runs version 1's.
    expect(await platform.functions.invoke(FunctionName, {})).toMatchObject({ body: '{"code":"next"}' });
    const before = await gatewayRequest(gatewayUrl, host, '/health');
    expect(JSON.parse(before.body)).toMatchObject({ tenantId, database: 'ok' });

    const { Version } = await aws().lambda.send(new PublishVersionCommand({ FunctionName }));
    await aws().lambda.send(
      new UpdateAliasCommand({ FunctionName, Name: PlatformNames.liveAlias, FunctionVersion: Version }),
    );
    // The gateway trusts a configuration for at most a second.
    let after = before;
    await waitFor(
      'the gateway to serve the new version',
      async () => (after = await gatewayRequest(gatewayUrl, host, '/health')).body !== before.body,
      10_000,
    );
    expect(JSON.parse(after.body)).toEqual({ code: 'next' });
  });
});

describe('warm functions', () => {
  it('are bounded: the least recently used idle one is stopped to make room', async () => {
    const tenants = [await onboarded('warm-a'), await onboarded('warm-b'), await onboarded('warm-c')];
    const functions = new LocalFunctions(platform.stateDir, platform.endpointUrl, 2);
    try {
      const names = tenants.map((t) => tenantResourceNames(t).functionName);
      const health = { version: '2.0', rawPath: '/health', requestContext: { http: { method: 'GET' } } };
      for (const name of names) await functions.invoke(name, health, PlatformNames.liveAlias);
      expect(functions.warm()).toEqual([`${names[1]}@1`, `${names[2]}@1`]);
      // Used again, the first comes back (a cold start) and the now least recently used one goes.
      await functions.invoke(names[0]!, health, PlatformNames.liveAlias);
      expect(functions.warm()).toEqual([`${names[2]}@1`, `${names[0]}@1`]);
    } finally {
      await functions.stop();
    }
  });
});
