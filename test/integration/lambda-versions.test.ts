import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { DeletedVersions } from '../../local/lambda/deleted-versions';
import { startBareEndpoint, type BareEndpoint } from '../fixtures/bare-endpoint';

/** The endpoint in front of moto, as the platform wires it, and the SDK's Lambda client through it. */
let bare: BareEndpoint | undefined;
let lambda: LambdaClient;
let roleArn = '';

beforeAll(async () => {
  bare = await startBareEndpoint('versions', new DeletedVersions());
  const config = {
    endpoint: bare.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  lambda = new LambdaClient(config);
  const iam = new IAMClient(config);
  roleArn = (
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'versions-test',
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
    )
  ).Role!.Arn!;
  iam.destroy();
});

afterAll(async () => {
  lambda?.destroy();
  await bare?.stop();
});

const code = (build: string) => zipSync({ 'index.js': strToU8(`exports.handler = async () => '${build}';`) });

/** A function with versions 1..n (each its own code) and the alias `live` on 1. */
async function functionWithVersions(FunctionName: string, n: number): Promise<void> {
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName,
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: roleArn,
      Code: { ZipFile: code('1') },
    }),
  );
  await lambda.send(new PublishVersionCommand({ FunctionName }));
  await lambda.send(new CreateAliasCommand({ FunctionName, Name: 'live', FunctionVersion: '1' }));
  for (let i = 2; i <= n; i++)
    await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName, ZipFile: code(String(i)), Publish: true }),
    );
}

async function versionsOf(FunctionName: string): Promise<string[]> {
  const { Versions = [] } = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName }));
  return Versions.map((v) => v.Version ?? '');
}

describe('deleting one version of a function, in front of moto', () => {
  it('removes it from the listing and from every call that names it, and never numbers a version again', async () => {
    await functionWithVersions('versions-a', 4);
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'versions-a', Qualifier: '3' }));
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'versions-a:4' }));
    expect(await versionsOf('versions-a')).toEqual(['$LATEST', '1', '2']);

    const gone = { name: 'ResourceNotFoundException' };
    await expect(
      lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'versions-a', Qualifier: '3' })),
    ).rejects.toMatchObject(gone);
    await expect(
      lambda.send(new UpdateAliasCommand({ FunctionName: 'versions-a', Name: 'live', FunctionVersion: '4' })),
    ).rejects.toMatchObject(gone);
    await expect(
      lambda.send(new DeleteFunctionCommand({ FunctionName: 'versions-a', Qualifier: '3' })),
    ).rejects.toMatchObject(gone);
    await expect(
      lambda.send(new DeleteFunctionCommand({ FunctionName: 'versions-a', Qualifier: '9' })),
    ).rejects.toMatchObject(gone);

    // moto alone would publish "3" again here (the count plus one); AWS goes on from the highest.
    const next = await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'versions-a', ZipFile: code('5'), Publish: true }),
    );
    expect(next.Version).toBe('5');
    expect(await versionsOf('versions-a')).toEqual(['$LATEST', '1', '2', '5']);
  });

  it('refuses a version an alias points at, as AWS does', async () => {
    await functionWithVersions('versions-b', 2);
    await expect(
      lambda.send(new DeleteFunctionCommand({ FunctionName: 'versions-b', Qualifier: '1' })),
    ).rejects.toMatchObject({
      name: 'ResourceConflictException',
      message: expect.stringContaining('[live]') as string,
    });
    expect(await versionsOf('versions-b')).toEqual(['$LATEST', '1', '2']);
  });

  it('forgets the deleted versions with the function: a new function of that name has its own', async () => {
    await functionWithVersions('versions-c', 3);
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'versions-c', Qualifier: '2' }));
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'versions-c' }));
    await functionWithVersions('versions-c', 2);
    expect(await versionsOf('versions-c')).toEqual(['$LATEST', '1', '2']);
  });
});
