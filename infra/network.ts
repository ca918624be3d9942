import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface PlatformNetworkProps {
  /** NAT gateways for the Lambdas' calls to AWS APIs that have no VPC endpoint (CloudFront, IAM, ...). */
  readonly natGateways: number;
  readonly logRetention: logs.RetentionDays;
  /** The VPC's address range. @default CDK's (10.0.0.0/16) */
  readonly cidr?: string;
}

/**
 * The VPC: isolated subnets for the databases, private subnets with egress for the Lambdas that talk to
 * them (the task Lambdas that use the database, and every tenant's API function). Egress is deliberate:
 * - Secrets Manager through an interface endpoint: every task and every tenant function cold start reads a
 *   secret, so that traffic never leaves the VPC;
 * - S3 through the (free) gateway endpoint;
 * - the rest (CloudFront invalidations, EventBridge, RDS and Lambda control planes) through NAT: CloudFront
 *   and IAM have no interface endpoints, and one NAT gateway costs less than five more endpoints in two AZs.
 * Tasks that need no database (store secret, deploy function, attach domain, publish frontend) run outside
 * the VPC altogether.
 */
export class PlatformNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  /** Carried by everything that may connect to a database: the task Lambdas in the VPC, tenant functions. */
  readonly databaseClients: ec2.SecurityGroup;
  /** On the shared instance and the dedicated ones: PostgreSQL from `databaseClients` only. */
  readonly databases: ec2.SecurityGroup;
  /** Secrets Manager inside the VPC (HTTPS from the VPC's CIDR). */
  readonly secretsEndpoint: ec2.InterfaceVpcEndpoint;

  constructor(scope: Construct, id: string, props: PlatformNetworkProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      ...(props.cidr ? { ipAddresses: ec2.IpAddresses.cidr(props.cidr) } : {}),
      natGateways: props.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'lambdas', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'databases', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogs', {
          retention: props.logRetention,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    this.secretsEndpoint = this.vpc.addInterfaceEndpoint('SecretsManager', {
      service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    });

    this.databaseClients = new ec2.SecurityGroup(this, 'DatabaseClients', {
      vpc: this.vpc,
      description: 'Lambdas that connect to tenant and platform databases',
      allowAllOutbound: true,
    });
    this.databases = new ec2.SecurityGroup(this, 'Databases', {
      vpc: this.vpc,
      description: 'PostgreSQL instances: reachable from the database clients and each other only',
      allowAllOutbound: false,
    });
    this.databases.addIngressRule(
      this.databaseClients,
      ec2.Port.tcp(5432),
      'PostgreSQL from the platform Lambdas',
    );
    // A move's target instance subscribes to its source (logical replication): instance to instance.
    this.databases.addIngressRule(
      this.databases,
      ec2.Port.tcp(5432),
      'PostgreSQL replication from another instance (a move)',
    );
    this.databases.addEgressRule(
      this.databases,
      ec2.Port.tcp(5432),
      'PostgreSQL replication to another instance (a move)',
    );
  }

  /** Where the Lambdas that need the database run. */
  get lambdaSubnets(): ec2.SubnetSelection {
    return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  }
}
