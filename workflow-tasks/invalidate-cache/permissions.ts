import { PlatformArns, USES_REGISTRY, type StepPermissions } from '../../common/permissions';

/** An invalidation of the platform's distribution (the tenant's paths), and the registry. */
export const permissions: StepPermissions = {
  run: [USES_REGISTRY, { allow: ['cloudfront:CreateInvalidation'], on: [PlatformArns.distribution] }],
};
