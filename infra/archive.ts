import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface TenantArchiveProps {
  /** Days every export is kept: nobody can delete it before (Object Lock), lifecycle removes it after. */
  readonly retentionDays: number;
  /** Where the bucket's access logs go. */
  readonly accessLogs: s3.IBucket;
  /**
   * Object Lock mode. `governance`: a principal granted s3:BypassGovernanceRetention (no platform role is)
   * can still delete a locked version, e.g. to honour an erasure request. `compliance`: nobody can, not
   * even the account root, until the retention ends. @default 'governance'
   */
  readonly lockMode?: ArchiveLockMode;
}

export type ArchiveLockMode = 'governance' | 'compliance';

/**
 * The archive bucket: one object per tenant export (`exports/<tenantId>/...`, workflow-tasks/
 * records/tenant-export.ts), encrypted, private, versioned, with Object Lock for the retention period, so no
 * version of an export can be deleted before it ends, even by the platform's own roles (a put-object adds a
 * version; the verified one stays, and a restore reads it: workflow-tasks/records/archive.ts). The lifecycle
 * rule expires the exports when the retention ends. Retained when the stack is destroyed.
 */
export class TenantArchive extends Construct {
  readonly bucket: s3.Bucket;
  readonly retentionDays: number;

  constructor(scope: Construct, id: string, props: TenantArchiveProps) {
    super(scope, id);
    if (props.lockMode !== undefined && !['governance', 'compliance'].includes(props.lockMode))
      throw new Error(
        `TenantArchive: lockMode must be "governance" or "compliance", got ${JSON.stringify(props.lockMode)}`,
      );
    if (!Number.isInteger(props.retentionDays) || props.retentionDays < 1)
      throw new Error(
        `TenantArchive: retentionDays must be a whole number of days, got ${props.retentionDays}`,
      );
    this.retentionDays = props.retentionDays;
    const retention = Duration.days(props.retentionDays);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        props.lockMode === 'compliance'
          ? s3.ObjectLockRetention.compliance(retention)
          : s3.ObjectLockRetention.governance(retention),
      lifecycleRules: [
        {
          id: 'exports-expire-after-retention',
          prefix: 'exports/',
          expiration: retention,
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          // The dumps tenantctl import uploaded (imports/<tenantId>/<time>.sql): the record of what was
          // imported, customer data with password hashes, kept as long as an export and no longer.
          id: 'imports-expire-after-retention',
          prefix: 'imports/',
          expiration: retention,
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 's3/ArchiveBucket/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
