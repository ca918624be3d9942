import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEPLOYED_SHARED_INSTANCE_RDS_ID } from '../common/capacity';
import { PlatformNames } from '../common/names';
import type { PlatformNetwork } from './network';

/** The shared instances' engine: the first one's, and those add-capacity makes (workflow-tasks/capacity). */
const SHARED_ENGINE = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_18_3 });

/**
 * Every shared instance's parameter group, by its name (add-capacity names it, in the platform's account
 * and in each cell's): a move replicates a tenant while it serves.
 */
export function sharedParameterGroup(scope: Construct): rds.ParameterGroup {
  return new rds.ParameterGroup(scope, 'Parameters', {
    engine: SHARED_ENGINE,
    name: PlatformNames.sharedParameterGroup,
    description: 'Shared tenant instances: logical replication for moves',
    // A slot a failed move left behind keeps at most 8 GiB of WAL (then it is invalidated).
    parameters: { 'rds.logical_replication': '1', max_slot_wal_keep_size: '8192' },
  });
}

export interface SharedDatabaseProps {
  readonly network: PlatformNetwork;
  /** e.g. `t4g.micro` (without the `db.` prefix). */
  readonly instanceClass: string;
  readonly multiAz: boolean;
  readonly backupRetentionDays: number;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The shared-tier PostgreSQL instance: the platform database (the registry) and every shared-tier tenant's
 * database. Encrypted, private, backed up, protected from deletion, with logical replication on (a move
 * copies a tenant to another instance while it serves); the master password is generated and
 * rotated by RDS itself in Secrets Manager (the tasks read it again when it is refused), and a subnet group
 * for the dedicated tier's instances beside it.
 */
export class SharedDatabase extends Construct {
  readonly instance: rds.DatabaseInstance;
  readonly masterSecret: ISecret;
  readonly multiAz: boolean;
  /** Subnet group the dedicated tier's instances are created in. */
  readonly dedicatedSubnetGroup: rds.SubnetGroup;

  constructor(scope: Construct, id: string, props: SharedDatabaseProps) {
    super(scope, id);
    this.multiAz = props.multiAz;
    const { vpc, databases } = props.network;
    const subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const parameterGroup = sharedParameterGroup(this);
    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      engine: SHARED_ENGINE,
      parameterGroup,
      instanceType: new ec2.InstanceType(props.instanceClass),
      vpc,
      vpcSubnets: subnets,
      securityGroups: [databases],
      databaseName: PlatformNames.platformDatabase,
      credentials: rds.Credentials.fromUsername('postgres'),
      manageMasterUserPassword: true,
      storageEncrypted: true,
      storageType: rds.StorageType.GP3,
      allocatedStorage: 20,
      maxAllocatedStorage: 200,
      multiAz: props.multiAz,
      backupRetention: Duration.days(props.backupRetentionDays),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      publiclyAccessible: false,
      autoMinorVersionUpgrade: true,
      instanceIdentifier: DEPLOYED_SHARED_INSTANCE_RDS_ID,
      cloudwatchLogsExports: ['postgresql'],
    });
    // The exported log group, created first with its retention (instead of CDK's log-retention function).
    const logGroup = new logs.LogGroup(this, 'PostgresLogs', {
      logGroupName: `/aws/rds/instance/${DEPLOYED_SHARED_INSTANCE_RDS_ID}/postgresql`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.instance.node.addDependency(logGroup);
    if (!this.instance.secret) throw new Error('the shared instance has no managed master secret');
    this.masterSecret = this.instance.secret;
    this.dedicatedSubnetGroup = new rds.SubnetGroup(this, 'DedicatedSubnetGroup', {
      vpc,
      vpcSubnets: subnets,
      description: 'Dedicated-tier tenant instances',
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}
