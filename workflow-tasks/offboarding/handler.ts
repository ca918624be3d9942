import { taskHandler } from '../lib/handler';
import * as steps from './steps';

/** The offboarding workflow's Lambda entry points: one bundle, one export per task state. */
export const claim = taskHandler('offboarding:claim', steps.claim);
export const suspend = taskHandler('offboarding:suspend', steps.suspend);
export const exportDatabase = taskHandler('offboarding:export', steps.exportDatabase);
export const verify = taskHandler('offboarding:verify', steps.verify);
export const resume = taskHandler('offboarding:resume', steps.resume);
export const removeDomain = taskHandler('offboarding:remove-domain', steps.removeDomain);
export const removeFrontend = taskHandler('offboarding:remove-frontend', steps.removeFrontend);
export const removeFunction = taskHandler('offboarding:remove-function', steps.removeFunction);
export const removeDatabase = taskHandler('offboarding:remove-database', steps.removeDatabase);
export const removeSecret = taskHandler('offboarding:remove-secret', steps.removeSecret);
export const markOffboarded = taskHandler('offboarding:mark-offboarded', steps.markOffboarded);
export const recordFailure = taskHandler('offboarding:record-failure', steps.recordFailure);
