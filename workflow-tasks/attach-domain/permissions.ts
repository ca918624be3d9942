import type { Grant, StepPermissions } from '../../common/permissions';

const on = (...paths: string[]) => paths.map((path) => `arn:{partition}:apigateway:{region}::${path}`);
/** GetDomainName and GetApiMappings: whether the domain (and its mapping) is there, and the tenant's. */
const readDomain: Grant = { allow: ['apigateway:GET'], on: on('/domainnames/*') };

/** The tenant API's custom domain and its mapping: made, or removed. */
export const permissions: StepPermissions = {
  run: [
    readDomain,
    // CreateDomainName (tagged: tags are POSTs on /tags/*, as TagResource is) and CreateApiMapping.
    { allow: ['apigateway:POST'], on: on('/domainnames', '/domainnames/*', '/tags/*') },
  ],
  undo: [readDomain, { allow: ['apigateway:DELETE'], on: on('/domainnames/*') }],
};
