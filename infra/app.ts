import { App } from 'aws-cdk-lib';
import { PlatformStack } from './platform-stack';

const app = new App();
const context = (key: string): string | undefined => app.node.tryGetContext(key) as string | undefined;

new PlatformStack(app, 'TenantPlatform', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  sharedDbSecretName: context('sharedDbSecretName'),
  sharedDatabase: {
    host: context('sharedDbHost') ?? 'shared-db.platform.internal',
    port: Number(context('sharedDbPort') ?? 5432),
  },
  certificateArn: context('certificateArn'),
});
