import type { Grant, StepPermissions } from '../../common/permissions';

const domains: Grant = {
  allow: ['apigateway:GET', 'apigateway:POST', 'apigateway:DELETE'],
  on: ['/domainnames', '/domainnames/*', '/tags/*'].map(
    (path) => `arn:{partition}:apigateway:{region}::${path}`,
  ),
};

/** The tenant API's custom domain and its mapping: made, or removed. */
export const permissions: StepPermissions = { run: [domains], undo: [domains] };
