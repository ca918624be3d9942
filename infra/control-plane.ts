import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { READS_ACCOUNT_QUOTAS } from '../common/permissions';
import { StepGrants } from './step-permissions';
import { taskFunction, type TaskLambdaSettings } from './task-lambdas';

export interface ControlPlaneApiProps extends TaskLambdaSettings {
  /** The registry's database (master user). */
  readonly masterSecret: ISecret;
}

/**
 * The registry, read-only, for people and tools outside the VPC: an HTTP API whose every route needs a
 * SigV4-signed request from a principal allowed `execute-api:Invoke` on it (IAM authorization), in front of
 * one Lambda in the VPC (workflow-tasks/control-plane/handler.ts). `tenantctl tenants --aws`, `tenantctl
 * cells --aws` and the console (`tenantctl console --aws`) read it.
 */
export class ControlPlaneApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly handler: lambda.IFunction;
  /** The API's base URL (the stack output ControlPlaneUrl). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ControlPlaneApiProps) {
    super(scope, id);
    this.handler = taskFunction(this, 'control-plane', props, {
      folder: 'control-plane',
      handler: 'handler',
      timeoutSeconds: 15,
      usesDatabase: true,
    });
    props.masterSecret.grantRead(this.handler);
    // GET /cells shows the limits placement goes by, the AWS quotas among them as applied to the account.
    new StepGrants(this, props).grantAll(READS_ACCOUNT_QUOTAS, this.handler);
    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'Tenant platform control plane: the registry, read-only, IAM-authorized',
      defaultAuthorizer: new HttpIamAuthorizer(),
      createDefaultStage: false,
    });
    const integration = new HttpLambdaIntegration('Registry', this.handler);
    for (const path of ['/tenants', '/tenants/{tenantId}', '/releases', '/cells'])
      this.api.addRoutes({ path, methods: [apigwv2.HttpMethod.GET], integration });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    const stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.api,
      autoDeploy: true,
      // The default format: request id, caller, route, status.
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogs) },
    });
    this.url = stage.url;
  }
}
