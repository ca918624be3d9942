import { taskHandler } from '../lib/handler';
import * as steps from './steps';

/** The domain workflow's Lambda entry points: one bundle, one export per task state. */
export const claim = taskHandler('domain:claim', steps.claim);
export const requestCertificates = taskHandler('domain:request-certificates', steps.requestCertificates);
export const check = taskHandler('domain:check', steps.check);
export const activate = taskHandler('domain:activate', steps.activate);
export const removeReplaced = taskHandler('domain:remove-replaced', steps.removeReplaced);
export const giveUp = taskHandler('domain:give-up', steps.giveUp);
export const rollback = taskHandler('undo:domain:release', steps.rollback);
export const detach = taskHandler('domain:detach', steps.detach);
