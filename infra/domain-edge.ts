import { Aws, type Duration, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** What the workflows need of the edge (on AWS, DomainEdge's; locally, the stand-in's). */
export interface DomainSettings {
  /** The multi-tenant distributions: a domain gets a distribution tenant of each. */
  readonly tenantDistributions: { readonly site: string; readonly api: string };
  readonly connectionGroupId: string;
  /** What every customer's records point at. */
  readonly routingEndpoint: string;
  /** How long a customer has to add them. */
  readonly validationTimeout: Duration;
}

export interface DomainEdgeProps {
  /** Tenants' frontends under `tenants/<id>/`. */
  readonly siteBucket: s3.IBucket;
  /** Where the distributions' standard logs go. */
  readonly accessLogs: s3.IBucket;
}

/**
 * Customers' own domains on CloudFront SaaS Manager (docs/deploy.md says why): one connection group whose
 * routing endpoint every customer's records point at, and two multi-tenant distributions
 * (`ConnectionMode: tenant-only`) a domain gets one distribution tenant of each (workflow-tasks/domain):
 * the site's, serving `tenants/{{tenantId}}/` of the site bucket on `<domain>` (and redirecting
 * `www.<domain>` to it), and the API's, passing `api.<domain>` to the tenant's HTTP API
 * (`{{apiHost}}`). Each distribution tenant carries its own managed certificate.
 */
export class DomainEdge extends Construct {
  readonly connectionGroup: cloudfront.CfnConnectionGroup;
  readonly siteTenants: cloudfront.CfnDistribution;
  readonly apiTenants: cloudfront.CfnDistribution;

  constructor(scope: Construct, id: string, props: DomainEdgeProps) {
    super(scope, id);
    this.connectionGroup = new cloudfront.CfnConnectionGroup(this, 'ConnectionGroup', {
      name: `${Stack.of(this).stackName}-tenant-domains`,
      enabled: true,
      ipv6Enabled: true,
    });
    const originAccess = new cloudfront.S3OriginAccessControl(this, 'SiteOriginAccess', {
      signing: cloudfront.Signing.SIGV4_ALWAYS,
    });
    const wwwRedirect = new cloudfront.Function(this, 'WwwRedirect', {
      comment: 'www.<domain> answers 301 to <domain>',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(
        [
          'function handler(event) {',
          '  var host = event.request.headers.host.value;',
          "  if (host.indexOf('www.') !== 0) return event.request;",
          '  var query = event.request.querystring;',
          "  var search = Object.keys(query).map(function (k) { return k + '=' + query[k].value; }).join('&');",
          "  var location = 'https://' + host.slice(4) + event.request.uri + (search ? '?' + search : '');",
          "  return { statusCode: 301, statusDescription: 'Moved Permanently', headers: { location: { value: location } } };",
          '}',
        ].join('\n'),
      ),
    });
    const logging = { bucket: props.accessLogs.bucketRegionalDomainName, includeCookies: false };
    const tenantOnly = (parameters: { name: string; comment: string }[]) => ({
      connectionMode: 'tenant-only',
      enabled: true,
      httpVersion: 'http2and3',
      tenantConfig: {
        parameterDefinitions: parameters.map(({ name, comment }) => ({
          name,
          definition: { stringSchema: { required: true, comment } },
        })),
      },
    });
    this.siteTenants = new cloudfront.CfnDistribution(this, 'SiteTenants', {
      distributionConfig: {
        ...tenantOnly([{ name: 'tenantId', comment: 'The tenant whose frontend this is: tenants/<id>/' }]),
        comment: "Tenants' sites on their own domains (a distribution tenant per domain)",
        defaultRootObject: 'index.html',
        logging: { ...logging, prefix: 'cloudfront-site-tenants/' },
        origins: [
          {
            id: 'site',
            domainName: props.siteBucket.bucketRegionalDomainName,
            originPath: '/tenants/{{tenantId}}',
            s3OriginConfig: { originAccessIdentity: '' },
            originAccessControlId: originAccess.originAccessControlId,
          },
        ],
        defaultCacheBehavior: {
          targetOriginId: 'site',
          viewerProtocolPolicy: 'redirect-to-https',
          cachePolicyId: cloudfront.CachePolicy.CACHING_OPTIMIZED.cachePolicyId,
          responseHeadersPolicyId: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS.responseHeadersPolicyId,
          functionAssociations: [{ eventType: 'viewer-request', functionArn: wwwRedirect.functionArn }],
        },
      },
    });
    this.apiTenants = new cloudfront.CfnDistribution(this, 'ApiTenants', {
      distributionConfig: {
        ...tenantOnly([
          { name: 'tenantId', comment: 'The tenant whose API this is' },
          {
            name: 'apiHost',
            comment: "The tenant HTTP API's host: <apiId>.execute-api.<region>.amazonaws.com",
          },
        ]),
        comment: "Tenants' APIs on api.<their domain> (a distribution tenant per domain)",
        logging: { ...logging, prefix: 'cloudfront-api-tenants/' },
        origins: [
          {
            id: 'api',
            domainName: '{{apiHost}}',
            customOriginConfig: { originProtocolPolicy: 'https-only', originSslProtocols: ['TLSv1.2'] },
          },
        ],
        defaultCacheBehavior: {
          targetOriginId: 'api',
          viewerProtocolPolicy: 'https-only',
          allowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
          cachePolicyId: cloudfront.CachePolicy.CACHING_DISABLED.cachePolicyId,
          originRequestPolicyId:
            cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId,
        },
      },
    });
    // The site tenants' distribution reads the tenants' frontends, as the platform's does.
    props.siteBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
        resources: [props.siteBucket.arnForObjects('tenants/*')],
        conditions: {
          StringEquals: {
            'AWS:SourceArn': `arn:${Aws.PARTITION}:cloudfront::${Aws.ACCOUNT_ID}:distribution/${this.siteTenants.ref}`,
          },
        },
      }),
    );
  }

  /** The workflows' settings for this edge. */
  settings(validationTimeout: Duration): DomainSettings {
    return {
      tenantDistributions: { site: this.siteTenants.ref, api: this.apiTenants.ref },
      connectionGroupId: this.connectionGroup.attrId,
      routingEndpoint: this.connectionGroup.attrRoutingEndpoint,
      validationTimeout,
    };
  }
}
