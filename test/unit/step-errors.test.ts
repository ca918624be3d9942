import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { CreateRoleCommand, GetRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import * as deployFunction from '../../workflow-tasks/deploy-function/handler';
import * as storeSecret from '../../workflow-tasks/store-secret/handler';
import { taskEvent, validatedTenant } from '../fixtures/events';

// Error paths the emulator cannot produce: throttling, an IAM role Lambda cannot assume yet.
const secrets = mockClient(SecretsManagerClient);
const iam = mockClient(IAMClient);
const lambda = mockClient(LambdaClient);
const logs = mockClient(CloudWatchLogsClient);

const tenant = validatedTenant('mocked-shop');
const executionArn = 'arn:aws:states:us-east-1:123456789012:execution:tenant-onboarding:x';
/** "Register tenant"'s result: the shared instance the tenant was placed on. */
const registration = {
  tenantId: tenant.tenantId,
  status: 'PROVISIONING' as const,
  executionArn,
  cell: 'cell-1',
  tenantApiVersion: 'v1',
  sharedInstance: {
    id: 'shared-1',
    host: '127.0.0.1',
    port: 5432,
    masterSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:platform/shared-db/master',
  },
};

beforeAll(() => {
  Object.assign(process.env, {
    SHARED_DB_HOST: 'db.internal',
    SHARED_DB_PORT: '5432',
    ARTIFACT_BUCKET: 'artifacts',
  });
});

beforeEach(() => {
  secrets.reset();
  iam.reset();
  lambda.reset();
  logs.reset();
});

const notFound = (name: string) => Object.assign(new Error('not found'), { name });

describe('store secret', () => {
  it('reports SDK throttling as the transient error "Throttled"', async () => {
    secrets.on(DescribeSecretCommand).rejects(notFound('ResourceNotFoundException'));
    secrets.on(CreateSecretCommand).rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    await expect(storeSecret.run(taskEvent(executionArn, { tenant, registration }))).rejects.toMatchObject({
      name: 'Throttled',
    });
  });

  it("refuses a secret with the tenant's name that carries another tenant's tag, and its undo leaves it alone", async () => {
    // Secrets Manager refuses to create over it; the step then finds whose it is.
    secrets
      .on(CreateSecretCommand)
      .rejects(Object.assign(new Error('already exists'), { name: 'ResourceExistsException' }));
    secrets.on(DescribeSecretCommand).resolves({
      ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:tenants/mocked-shop/database-abc',
      Tags: [{ Key: 'tenant', Value: 'someone-else' }],
    });
    await expect(storeSecret.run(taskEvent(executionArn, { tenant, registration }))).rejects.toMatchObject({
      name: 'ResourceConflict',
    });
    await storeSecret.undo(taskEvent(executionArn, { tenant }));
    // Nothing but the refused creation was sent: the other tenant's secret is neither written nor deleted.
    expect(secrets.calls().map((call) => call.args[0].constructor.name)).toEqual([
      'CreateSecretCommand',
      'DescribeSecretCommand',
      'DescribeSecretCommand',
    ]);
  });
});

describe('deploy function', () => {
  it('reports a role Lambda cannot assume yet as the transient error "ResourceNotReady"', async () => {
    iam.on(GetRoleCommand).rejects(notFound('NoSuchEntityException'));
    iam.on(CreateRoleCommand).resolves({
      Role: {
        RoleName: tenant.names.functionRoleName,
        Arn: 'arn:aws:iam::1:role/tenant-mocked-shop-api-role',
        Path: '/',
        RoleId: 'r',
        CreateDate: new Date(),
      },
    });
    iam.on(PutRolePolicyCommand).resolves({});
    logs.on(CreateLogGroupCommand).resolves({});
    logs.on(PutRetentionPolicyCommand).resolves({});
    lambda.on(GetFunctionCommand).rejects(notFound('ResourceNotFoundException'));
    lambda.on(CreateFunctionCommand).rejects(
      Object.assign(new Error('The role defined for the function cannot be assumed by Lambda.'), {
        name: 'InvalidParameterValueException',
      }),
    );
    const event = taskEvent(executionArn, {
      tenant,
      secret: { secretArn: 'arn:secret', secretName: 'tenants/mocked-shop/credentials' },
      // The version "Register tenant" picked: the function is created from it.
      registration: {
        tenantId: 'mocked-shop',
        status: 'PROVISIONING',
        executionArn,
        cell: 'cell-1',
        tenantApiVersion: '0123456789abcdef',
      },
    });
    await expect(deployFunction.run(event)).rejects.toMatchObject({ name: 'ResourceNotReady' });
    expect(lambda.commandCalls(CreateFunctionCommand)[0]?.args[0].input.Code).toEqual({
      S3Bucket: 'artifacts',
      S3Key: 'tenant-api/0123456789abcdef.zip',
    });
  });
});
