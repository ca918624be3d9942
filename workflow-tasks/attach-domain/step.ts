import {
  CreateApiMappingCommand,
  CreateDomainNameCommand,
  DeleteApiMappingCommand,
  DeleteDomainNameCommand,
  GetApiMappingsCommand,
  GetDomainNameCommand,
  type GetDomainNameCommandOutput,
} from '@aws-sdk/client-apigatewayv2';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { TaskEnv, tenantApiDomain } from '../../common/names';
import { aws, ignoreNotFound, isAlreadyExists, isNotFound } from '../lib/aws';
import { requiredEnv } from '../../common/env';
import { resultOf, tenantOf } from '../lib/handler';
import { ownedBy, tenantTags } from '../lib/tags';
import type { StepResults, TaskEvent } from '../lib/types';

/**
 * `api.<domain>` as an API Gateway custom domain mapped to the tenant's HTTP API. A domain that exists
 * under another tenant's tag is refused, never taken over.
 */
export async function run(event: TaskEvent): Promise<StepResults['domain']> {
  const tenant = tenantOf(event);
  if (!tenant.domain) return { skipped: true };
  const { apiId } = resultOf(event, 'function');
  const DomainName = tenantApiDomain(tenant.domain);
  const { apigw } = aws();

  let domain = await getDomain(DomainName);
  if (domain && !ownedBy(domain.Tags, tenant.tenantId)) {
    throw new OnboardingError(
      PermanentErrors.ResourceConflict,
      `domain ${DomainName} belongs to another tenant`,
    );
  }
  if (!domain) {
    try {
      await apigw.send(
        new CreateDomainNameCommand({
          DomainName,
          DomainNameConfigurations: [
            {
              CertificateArn: requiredEnv(TaskEnv.certificateArn),
              EndpointType: 'REGIONAL',
              SecurityPolicy: 'TLS_1_2',
            },
          ],
          Tags: tenantTags(tenant.tenantId),
        }),
      );
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    domain = await getDomain(DomainName);
  }

  const mappings = await apigw.send(new GetApiMappingsCommand({ DomainName }));
  const apiMappingId =
    mappings.Items?.find((m) => m.ApiId === apiId)?.ApiMappingId ??
    (await apigw.send(new CreateApiMappingCommand({ DomainName, ApiId: apiId, Stage: '$default' })))
      .ApiMappingId;
  return {
    skipped: false,
    domainName: DomainName,
    apiMappingId: apiMappingId ?? '',
    targetDomainName: domain?.DomainNameConfigurations?.[0]?.ApiGatewayDomainName ?? '',
  };
}

/** Removes the mappings and the custom domain, if the domain carries this tenant's tag. */
export async function undo(event: TaskEvent): Promise<void> {
  const tenant = tenantOf(event);
  if (!tenant.domain) return;
  const DomainName = tenantApiDomain(tenant.domain);
  const domain = await getDomain(DomainName);
  if (!domain || !ownedBy(domain.Tags, tenant.tenantId)) return;
  const { apigw } = aws();
  const mappings = await apigw.send(new GetApiMappingsCommand({ DomainName }));
  for (const mapping of mappings.Items ?? []) {
    if (mapping.ApiMappingId) {
      await ignoreNotFound(
        apigw.send(new DeleteApiMappingCommand({ DomainName, ApiMappingId: mapping.ApiMappingId })),
      );
    }
  }
  await ignoreNotFound(apigw.send(new DeleteDomainNameCommand({ DomainName })));
}

async function getDomain(DomainName: string): Promise<GetDomainNameCommandOutput | undefined> {
  try {
    return await aws().apigw.send(new GetDomainNameCommand({ DomainName }));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
