import { taskHandler } from '../lib/handler';
import { plan as planStep } from './plan';
import * as tenant from './tenant';
import * as wave from './wave';

/** The release workflow's Lambda entry points: one bundle, one export per task state. */
export const plan = taskHandler('release:plan', planStep);
export const claim = taskHandler('release:claim', tenant.claim);
export const migrateDatabase = taskHandler('release:migrate-database', tenant.migrateDatabase);
export const updateFunctionCode = taskHandler('release:update-function-code', tenant.updateFunctionCode);
export const checkHealth = taskHandler('release:check-health', tenant.checkHealth);
export const moveAlias = taskHandler('release:move-alias', tenant.moveAlias);
export const publishFrontend = taskHandler('release:publish-frontend', tenant.publishFrontend);
export const pruneVersions = taskHandler('release:prune-versions', tenant.pruneVersions);
export const recordTenantUpdated = taskHandler('release:record-tenant-updated', tenant.recordTenantUpdated);
export const keepOldVersion = taskHandler('release:keep-old-version', tenant.keepOldVersion);
export const closeWave = taskHandler('release:close-wave', wave.closeWave);
export const finish = taskHandler('release:finish', wave.finish);
