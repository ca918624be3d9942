import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AssetHashType, BundlingOutput, DockerImage, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53targets from 'aws-cdk-lib/aws-route53-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { PlatformNames } from '../common/names';
import { tenantApiArtifact, tenantApiBuildOptions } from '../tenant-api/bundle';

const REPO_ROOT = path.join(__dirname, '..');

export interface PlatformWebProps {
  readonly logRetention: logs.RetentionDays;
  /** Days the access logs of the buckets and the distribution are kept. */
  readonly accessLogDays: number;
  /**
   * The distribution's own domain (`platform.example.com` and `*.platform.example.com`), with its
   * certificate: every tenant's site answers at once on `<tenantId>.<domain>`. With the domain's hosted
   * zone, the stack makes the wildcard record that points those names here.
   */
  readonly siteDomain?: {
    readonly domainName: string;
    readonly certificateArn: string;
    readonly hostedZoneId?: string;
  };
}

/**
 * The buckets and the distribution: the artifact bucket (the tenant API package and the frontend bundle,
 * deployed into it by this stack), the site bucket (tenants' frontends under `tenants/<id>/`, private,
 * served only through CloudFront with origin access control) and one bucket for the access logs of both and
 * of the distribution.
 */
export class PlatformWeb extends Construct {
  readonly artifactBucket: s3.Bucket;
  readonly siteBucket: s3.Bucket;
  /** Access logs of the buckets and the distribution (and of the archive bucket). */
  readonly accessLogs: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** Whether the distribution has its own domain and certificate (else the cloudfront.net ones). */
  readonly hasCustomDomain: boolean;

  constructor(scope: Construct, id: string, props: PlatformWebProps) {
    super(scope, id);
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // CloudFront standard logging writes with ACLs.
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(props.accessLogDays) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.accessLogs = accessLogs;
    // Versioned: an overwritten or deleted object (a release's frontend, a tenant's files) can be brought
    // back; the versions it replaced go after 30 days.
    const privateBucket = (name: string) =>
      new s3.Bucket(this, name, {
        encryption: s3.BucketEncryption.S3_MANAGED,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        versioned: true,
        lifecycleRules: [
          {
            noncurrentVersionExpiration: Duration.days(30),
            abortIncompleteMultipartUploadAfter: Duration.days(7),
          },
        ],
        serverAccessLogsBucket: accessLogs,
        serverAccessLogsPrefix: `s3/${name}/`,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    this.artifactBucket = privateBucket('ArtifactBucket');
    this.siteBucket = privateBucket('SiteBucket');

    const { siteDomain } = props;
    this.hasCustomDomain = Boolean(siteDomain);
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Tenant frontends (site bucket, tenants/<id>/)',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.siteBucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
        ...(siteDomain
          ? {
              functionAssociations: [
                {
                  eventType: cloudfront.FunctionEventType.VIEWER_REQUEST,
                  function: platformAddresses(this, siteDomain.domainName),
                },
              ],
            }
          : {}),
      },
      enableLogging: true,
      logBucket: accessLogs,
      logFilePrefix: 'cloudfront/',
      ...(siteDomain
        ? {
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            domainNames: [siteDomain.domainName, `*.${siteDomain.domainName}`],
            certificate: acm.Certificate.fromCertificateArn(
              this,
              'SiteCertificate',
              siteDomain.certificateArn,
            ),
          }
        : {}),
    });

    if (siteDomain?.hostedZoneId) {
      const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'PlatformZone', {
        hostedZoneId: siteDomain.hostedZoneId,
        zoneName: siteDomain.domainName,
      });
      const target = route53.RecordTarget.fromAlias(new route53targets.CloudFrontTarget(this.distribution));
      new route53.ARecord(this, 'TenantAddresses', { zone, recordName: '*', target });
      new route53.AaaaRecord(this, 'TenantAddressesV6', { zone, recordName: '*', target });
    }

    const deploymentLogs = new logs.LogGroup(this, 'ArtifactDeploymentLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Older versions stay (prune: false): tenants may run them, and a release may go back to one.
    new s3deploy.BucketDeployment(this, 'TenantApiArtifact', {
      sources: [tenantApiPackage()],
      destinationBucket: this.artifactBucket,
      destinationKeyPrefix: PlatformNames.tenantApiArtifactPrefix,
      prune: false,
      logGroup: deploymentLogs,
      memoryLimit: 256,
    });
  }
}

/**
 * `<tenantId>.<domain>/<path>` is the tenant's site: the request becomes `/tenants/<tenantId>/<path>`
 * (`index.html` for a directory); other hosts keep their path (`/tenants/<id>/` on the bare domain).
 */
function platformAddresses(scope: Construct, domain: string): cloudfront.Function {
  return new cloudfront.Function(scope, 'PlatformAddresses', {
    comment: '<tenantId>.<platform domain> serves tenants/<tenantId>/',
    runtime: cloudfront.FunctionRuntime.JS_2_0,
    code: cloudfront.FunctionCode.fromInline(
      [
        'function handler(event) {',
        '  var request = event.request;',
        '  var host = request.headers.host.value.toLowerCase();',
        `  var suffix = ${JSON.stringify(`.${domain}`)};`,
        '  var id = host.slice(0, -suffix.length);',
        '  if (host.slice(-suffix.length) !== suffix || !/^[a-z][a-z0-9-]{1,30}[a-z0-9]$/.test(id)) return request;',
        "  var uri = request.uri.slice(-1) === '/' ? request.uri + 'index.html' : request.uri;",
        "  request.uri = '/tenants/' + id + uri;",
        '  return request;',
        '}',
      ].join('\n'),
    ),
  });
}

/**
 * The tenant API as a version (`<version>.zip` with `index.js` and the tenant migrations, see
 * tenant-api/bundle.ts) and `current.json` naming it, built at synth time by the installed esbuild (no
 * Docker), with fixed timestamps so the same code always has the same asset hash.
 */
function tenantApiPackage(): s3deploy.ISource {
  return s3deploy.Source.asset(path.join(REPO_ROOT, 'tenant-api'), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Kept as a directory holding the zip: a lone archive would be taken as the asset itself, and
      // BucketDeployment would unpack it into index.js instead of deploying the version's zip.
      outputType: BundlingOutput.NOT_ARCHIVED,
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22'), // never used: local wins
      local: {
        tryBundle(outputDir: string): boolean {
          const work = mkdtempSync(path.join(tmpdir(), 'tenant-api-'));
          try {
            const outfile = path.join(work, 'index.js');
            buildSync({ ...tenantApiBuildOptions('aws'), outfile });
            const { version, key, zip } = tenantApiArtifact(readFileSync(outfile));
            writeFileSync(path.join(outputDir, path.posix.basename(key)), zip);
            const current = path.posix.basename(PlatformNames.tenantApiCurrentKey);
            writeFileSync(path.join(outputDir, current), JSON.stringify({ version, key }));
            return true;
          } finally {
            rmSync(work, { recursive: true, force: true });
          }
        },
      },
    },
  });
}
