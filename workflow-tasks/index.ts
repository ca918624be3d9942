import type { TaskHandler } from './lib/handler';
import type { StepId } from '../common/steps';
import * as activateTenant from './activate-tenant/handler';
import * as applySchema from './apply-schema/handler';
import * as attachDomain from './attach-domain/handler';
import * as checkInstance from './check-instance/handler';
import * as createDatabase from './create-database/handler';
import * as deployFunction from './deploy-function/handler';
import * as inspectSource from './inspect-source/handler';
import * as invalidateCache from './invalidate-cache/handler';
import * as publishFrontend from './publish-frontend/handler';
import * as recordRollbackFailure from './record-rollback-failure/handler';
import * as registerTenant from './register-tenant/handler';
import * as storeSecret from './store-secret/handler';
import * as validateInput from './validate-input/handler';

export interface StepHandlers {
  readonly run: TaskHandler<unknown>;
  readonly undo?: TaskHandler<unknown>;
}

/**
 * Every Lambda entry point, by step id: the same exports the CDK construct bundles (`handler.run`,
 * `handler.undo`), gathered for the local runtime, which calls them in-process.
 */
export const STEP_HANDLERS: Readonly<
  Record<StepId | 'check-instance' | 'record-rollback-failure' | 'inspect-source', StepHandlers>
> = {
  'validate-input': validateInput,
  'register-tenant': registerTenant,
  'store-secret': storeSecret,
  'create-database': createDatabase,
  'apply-schema': applySchema,
  'deploy-function': deployFunction,
  'attach-domain': attachDomain,
  'publish-frontend': publishFrontend,
  'invalidate-cache': invalidateCache,
  'activate-tenant': activateTenant,
  'check-instance': checkInstance,
  'record-rollback-failure': recordRollbackFailure,
  'inspect-source': inspectSource,
};
