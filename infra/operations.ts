import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { EventTypes } from '../common/names';

export interface PlatformOperationsProps {
  readonly stateMachine: sfn.StateMachine;
  /** The release state machine: a release that stopped (canary, failure budget) or failed is alarmed. */
  readonly releaseStateMachine: sfn.StateMachine;
  /** The cleanup after stopped, timed-out and crashed executions: one that fails leaves a tenant half-made. */
  readonly cleanupStateMachine: sfn.StateMachine;
  readonly eventBus: events.IEventBus;
  /** Where TenantSignedUp events go when the state machine cannot be started. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Every task Lambda, by state name, for the dashboard. */
  readonly taskFunctions: ReadonlyMap<string, lambda.IFunction>;
  /** Subscribed to the alarm topic when given. */
  readonly alarmEmail?: string;
}

/**
 * What an operator watches: an alarm topic (encrypted; e-mail when configured), alarms on failed and timed
 * out onboardings, releases and cleanups, on TenantRollbackFailed events (which also go to the topic as they are) and on the
 * dead-letter queue of the TenantSignedUp rule, and a dashboard of executions, step durations and errors.
 */
export class PlatformOperations extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PlatformOperationsProps) {
    super(scope, id);
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the platform alarm topic',
      enableKeyRotation: true,
    });
    // CloudWatch alarms and EventBridge publish to the encrypted topic: they need the key.
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      key.grant(new iam.ServicePrincipal(service), 'kms:Decrypt', 'kms:GenerateDataKey*');
    }
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Tenant platform alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail)
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const rollbackFailed = new events.Rule(this, 'RollbackFailedRule', {
      eventBus: props.eventBus,
      description:
        'TenantRollbackFailed / TenantOffboardingFailed: a tenant was left half-made or half-removed and needs an operator',
      eventPattern: { detailType: [EventTypes.TenantRollbackFailed, EventTypes.TenantOffboardingFailed] },
      targets: [new targets.SnsTopic(this.alarmTopic)],
    });

    const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string) => {
      const created = new cloudwatch.Alarm(this, id, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(new actions.SnsAction(this.alarmTopic));
      this.alarms.push(created);
      return created;
    };
    const { stateMachine } = props;
    alarm(
      'ExecutionsFailed',
      stateMachine.metricFailed(fiveMinutes),
      'An onboarding failed (and was rolled back)',
    );
    alarm(
      'ExecutionsTimedOut',
      stateMachine.metricTimedOut(fiveMinutes),
      'An onboarding hit the state machine timeout',
    );
    alarm(
      'ReleasesFailed',
      props.releaseStateMachine.metricFailed(fiveMinutes),
      'A release stopped (its canary failed, or more tenants failed than its budget) or failed: see tenantctl releases',
    );
    alarm(
      'ReleasesTimedOut',
      props.releaseStateMachine.metricTimedOut(fiveMinutes),
      'A release hit its 12-hour timeout: the tenants it was updating stay locked until the lock expires',
    );
    alarm(
      'CleanupsFailed',
      new cloudwatch.MathExpression({
        expression: 'failed + timedOut',
        usingMetrics: {
          failed: props.cleanupStateMachine.metricFailed(fiveMinutes),
          timedOut: props.cleanupStateMachine.metricTimedOut(fiveMinutes),
        },
        period: Duration.minutes(5),
      }),
      'A cleanup after a stopped, timed-out or crashed execution failed: its tenant may hold what that execution made (see the cleanup execution, then run it again)',
    );
    alarm(
      'RollbackFailed',
      new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'TriggeredRules',
        dimensionsMap: { RuleName: rollbackFailed.ruleName },
        ...fiveMinutes,
      }),
      'A rollback or an offboarding failed: a tenant is ROLLBACK_FAILED or OFFBOARDING_FAILED (see the event)',
    );
    alarm(
      'SignupDeadLetters',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      'TenantSignedUp events could not start an onboarding: they wait in the dead-letter queue',
    );

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: 'tenant-onboarding' });
    const tasks = [...props.taskFunctions.entries()];
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Onboardings',
        width: 12,
        left: [
          stateMachine.metricStarted(fiveMinutes),
          stateMachine.metricSucceeded(fiveMinutes),
          stateMachine.metricFailed(fiveMinutes),
          stateMachine.metricTimedOut(fiveMinutes),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Onboarding duration (p50, p95)',
        width: 12,
        left: [
          stateMachine.metricTime({ statistic: 'p50', period: Duration.minutes(5) }),
          stateMachine.metricTime({ statistic: 'p95', period: Duration.minutes(5) }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Step duration p95 (ms)',
        width: 12,
        left: tasks.map(([name, fn]) =>
          fn.metricDuration({ statistic: 'p95', label: name, period: Duration.minutes(5) }),
        ),
      }),
      new cloudwatch.GraphWidget({
        title: 'Step errors',
        width: 12,
        left: tasks.map(([name, fn]) => fn.metricErrors({ label: name, ...fiveMinutes })),
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: this.alarms }),
    );
  }
}
