import {
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  ListTagsForResourceCommand,
  PutMetricAlarmCommand,
} from '@aws-sdk/client-cloudwatch';
import { TaskEnv } from '../../common/names';
import { requiredEnv } from '../../common/env';
import { cellAws } from './aws';
import { ownedBy, tagList, tagsFromList } from './tags';
import type { ValidatedTenant } from './types';

/**
 * The tenant's own alarms, as the seed has them, each to the platform's alarm topic and named for the
 * tenant (`tenant-<id>-...`, the only alarms the task roles may touch):
 * - `api-errors`: its API function's Errors (any in 5 minutes);
 * - `db-cpu`: a dedicated tenant's instance CPUUtilization (average over 80% for 15 minutes).
 */
const ALARMS = {
  'api-errors': (tenant: ValidatedTenant) => ({
    AlarmName: tenant.names.apiErrorsAlarm,
    AlarmDescription: `Tenant ${tenant.tenantId}: its API function reports errors`,
    Namespace: 'AWS/Lambda',
    MetricName: 'Errors',
    Dimensions: [{ Name: 'FunctionName', Value: tenant.names.functionName }],
    Statistic: 'Sum' as const,
    Period: 300,
    EvaluationPeriods: 1,
    Threshold: 1,
  }),
  'db-cpu': (tenant: ValidatedTenant) => ({
    AlarmName: tenant.names.instanceCpuAlarm,
    AlarmDescription: `Tenant ${tenant.tenantId}: its database instance is busy`,
    Namespace: 'AWS/RDS',
    MetricName: 'CPUUtilization',
    Dimensions: [{ Name: 'DBInstanceIdentifier', Value: tenant.names.instanceId }],
    Statistic: 'Average' as const,
    Period: 300,
    EvaluationPeriods: 3,
    Threshold: 80,
  }),
};

/** Creates (or, run again, overwrites with the same settings) one of the tenant's alarms. */
export async function putTenantAlarm(tenant: ValidatedTenant, kind: keyof typeof ALARMS): Promise<void> {
  await cellAws().cloudwatch.send(
    new PutMetricAlarmCommand({
      ...ALARMS[kind](tenant),
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [requiredEnv(TaskEnv.alarmTopicArn)],
      Tags: tagList(tenant.tenantId),
    }),
  );
}

/** Deletes one of the tenant's alarms if it carries the tenant's tag; nothing to delete is success. */
export async function deleteTenantAlarm(tenant: ValidatedTenant, kind: keyof typeof ALARMS): Promise<void> {
  const { cloudwatch } = cellAws();
  const AlarmName = ALARMS[kind](tenant).AlarmName;
  const { MetricAlarms = [] } = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [AlarmName] }));
  const alarmArn = MetricAlarms[0]?.AlarmArn;
  if (!alarmArn) return;
  const { Tags } = await cloudwatch.send(new ListTagsForResourceCommand({ ResourceARN: alarmArn }));
  if (!ownedBy(tagsFromList(Tags), tenant.tenantId)) return;
  await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: [AlarmName] }));
}
